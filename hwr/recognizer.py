"""Transcribing line images with a trained model: batched by width, then CTC decoding per line.

A model with a language model is decoded by beam search with it, others greedily; a
:class:`~hwr.ensemble.RescoringEnsemble` by its groups' proposals, rescored (see
:mod:`hwr.decoders.rescoring`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hwr.data.batching import collate, width_batches
from hwr.data.images import normalize_line, read_gray, to_gray
from hwr.data.readers import Line, LineImages
from hwr.decoders.beam import BeamSettings, beam_decode
from hwr.decoders.greedy import greedy_decode
from hwr.decoders.rescoring import rescoring_decode
from hwr.devices import device_of
from hwr.ensemble import RescoringEnsemble
from hwr.errors import ImageError
from hwr.model_file import Model


@dataclass(frozen=True)
class Transcription:
    text: str
    confidence: float
    """Per-frame geometric mean of the decoded text's probability (see :mod:`hwr.decoders`)."""


@torch.no_grad()
def line_log_probs(
    model: Model, images: Sequence[np.ndarray], batch_size: int = 16
) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, CTC log-probabilities (frames, classes))`` of each normalised image, a batch
    at a time (in width order), so a caller that decodes as they come holds one batch.
    A rescoring ensemble's are ``(groups, frames, classes)``."""
    model.network.eval()
    device = device_of(model.network)
    for batch in width_batches([im.shape[1] for im in images], batch_size):
        tensor, sizes = collate([images[i] for i in batch])
        log_probs, lengths = model.network(tensor.to(device), sizes.to(device))
        log_probs = log_probs.cpu()
        for b, (i, length) in enumerate(zip(batch, lengths.tolist())):
            yield i, log_probs[..., :length, b, :].numpy()


def decode(model: Model, log_probs: np.ndarray, settings: BeamSettings | None = None) -> Transcription:
    """One line's text from its log-probabilities ``(frames, classes)``, or ``(groups, frames, classes)``;
    ``settings`` replace the language model's own search settings (``hwr lm`` tries several)."""
    lm = model.language_model
    search = (lm.ngram, settings or lm.settings, lm.lexicon) if lm is not None else ()
    if isinstance(model.network, RescoringEnsemble):
        decoded = rescoring_decode(log_probs, model.network.weights, *search)
    elif search:
        decoded = beam_decode(log_probs, *search)
    else:
        decoded = greedy_decode(torch.from_numpy(log_probs).unsqueeze(1), torch.tensor([len(log_probs)]))[0]
    return Transcription(model.alphabet.decode(decoded.labels), decoded.confidence)


def transcribe_normalized(model: Model, images: Sequence[np.ndarray], batch_size: int = 16) -> list[Transcription]:
    """Transcriptions of already normalised images (:func:`hwr.data.images.normalize_line`), in order."""
    results: list[Transcription | None] = [None] * len(images)
    for i, log_probs in line_log_probs(model, images, batch_size):
        results[i] = decode(model, log_probs)
    return results  # type: ignore[return-value]


LINES_PER_CHUNK = 8
"""Batches read, normalised and transcribed together: the width batching has lines to sort
within, and memory holds only this many batches of images however many files there are."""


def stream_files(
    model: Model, paths: Sequence[Path | Line], batch_size: int = 16
) -> Iterator[tuple[Path | Line, Transcription | ImageError]]:
    """Each line file (or line of a page) with its transcription, or the error that made it
    unreadable, in the order of ``paths``, a chunk of batches at a time: results come as they are made."""
    chunk = batch_size * LINES_PER_CHUNK
    read = LineImages()
    for start in range(0, len(paths), chunk):
        part = paths[start : start + chunk]
        outcomes: list[Transcription | ImageError | None] = [None] * len(part)
        images, readable = [], []
        for k, path in enumerate(part):
            try:
                images.append(normalize_line(read(path), model.preprocessing))
                readable.append(k)
            except ImageError as exc:
                outcomes[k] = exc
        for k, transcription in zip(readable, transcribe_normalized(model, images, batch_size)):
            outcomes[k] = transcription
        yield from zip(part, outcomes)  # type: ignore[misc]


def transcribe_files(
    model: Model, paths: Sequence[Path | Line], batch_size: int = 16, progress: Callable[[int], None] | None = None
) -> tuple[dict[Path | Line, Transcription], list[str]]:
    """Transcriptions of the readable images among ``paths`` (line files, or lines of pages), and one
    message per unreadable one; ``progress(1)`` is called as each image is done."""
    results: dict[Path | Line, Transcription] = {}
    problems: list[str] = []
    for path, outcome in stream_files(model, paths, batch_size):
        if isinstance(outcome, ImageError):
            problems.append(str(outcome))
        else:
            results[path] = outcome
        if progress is not None:
            progress(1)
    return results, problems


def transcribe(model: Model, items: Sequence[str | Path | np.ndarray], batch_size: int = 16) -> list[Transcription]:
    """Transcriptions of line images given as files or as arrays (gray, or colour in OpenCV's BGR
    order), in order; an unreadable file raises :class:`~hwr.errors.ImageError`."""
    images = [
        normalize_line(to_gray(item) if isinstance(item, np.ndarray) else read_gray(item), model.preprocessing)
        for item in items
    ]
    return transcribe_normalized(model, images, batch_size)
