"""Lines made ready for the network: read, normalised, labelled; unusable ones reported and skipped.

Training and the language-model tuner both start from a :class:`~hwr.data.readers.LineSet`
and need the same images the recognizer would see, so this is done once, here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hwr.data.images import Preprocessing, normalize_line
from hwr.data.readers import LineImages, LineSet
from hwr.errors import TrainingError, failure

if TYPE_CHECKING:
    from hwr.model_file import Model

MAX_SKIPPED_FRACTION = 0.5
"""Training stops when more than this share of its lines is unusable."""


@dataclass
class Prepared:
    """Lines ready for the network: normalised images, texts and labels."""

    ids: list[str]
    texts: list[str]
    images: list[np.ndarray]
    labels: list[list[int]]


def ctc_frames_needed(labels: list[int]) -> int:
    """CTC needs a frame per label plus a blank between each pair of equal neighbours."""
    return len(labels) + sum(a == b for a, b in itertools.pairwise(labels))


def prepare(
    lines: LineSet,
    model: Model,
    name: str,
    log: Callable[[str], None],
    for_training: bool,
    preprocessing: Preprocessing | None = None,
) -> Prepared:
    """Read and normalise every line (by ``preprocessing``, default the model's); unreadable images
    and (for training) unusable labels are skipped."""
    preprocessing = preprocessing or model.preprocessing
    prepared = Prepared([], [], [], [])
    problems = list(lines.problems)
    too_long = []
    read = LineImages()
    for line in lines.lines:
        try:
            image = normalize_line(read(line), preprocessing)
        except Exception as exc:  # one line, whatever went wrong with it, never stops the others
            error = failure(str(line.image), exc)
            problems.append(f"{error}, skipped" if line.polygon is None else f"{error}: line {line.id} skipped")
            continue
        labels: list[int] = []
        if for_training:
            try:
                labels = model.alphabet.encode(line.text)
            except ValueError as exc:
                problems.append(f"{line.image}: {exc}, skipped")
                continue
            frames = model.network.config.output_length(image.shape[1])
            if frames < ctc_frames_needed(labels):
                too_long.append(f"{line.id} ({len(labels)} chars, {frames} frames)")
                continue
        prepared.ids.append(line.id)
        prepared.texts.append(line.text)
        prepared.images.append(image)
        prepared.labels.append(labels)
    for problem in problems:
        log(f"warning: {problem}")
    if too_long:
        log(
            f"warning: {name}: skipped {len(too_long)} lines whose text is too long for their image's "
            f"CTC frames: {', '.join(too_long[:10])}{' ...' if len(too_long) > 10 else ''}"
        )
    total = len(lines.lines) + len(lines.problems)
    skipped = total - len(prepared.ids)
    if skipped:
        log(f"{name}: using {len(prepared.ids)} of {total} lines ({skipped} skipped)")
    if for_training and too_long and skipped > MAX_SKIPPED_FRACTION * total:
        raise TrainingError(
            f"{name}: {skipped} of {total} lines skipped, {len(too_long)} of them too long for their images: "
            "use a larger --height (--scale, if set) or narrower blocks so lines keep enough CTC frames"
        )
    if for_training and skipped > MAX_SKIPPED_FRACTION * total:
        raise TrainingError(f"{name}: {skipped} of {total} lines unusable (see the warnings above)")
    if not prepared.ids:
        raise TrainingError(f"{name}: no usable lines")
    return prepared
