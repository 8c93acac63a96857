"""Transcribing line images with a trained model: batched by width, greedy CTC decoding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hwr.data.batching import collate, width_batches
from hwr.data.images import ImageError, normalize_line, read_gray
from hwr.decoders.greedy import greedy_decode
from hwr.model_file import Model


@dataclass(frozen=True)
class Transcription:
    text: str
    confidence: float
    """Geometric mean of the best path's frame probabilities (see :mod:`hwr.decoders.greedy`)."""


def transcribe_normalized(model: Model, images: Sequence[np.ndarray], batch_size: int = 16) -> list[Transcription]:
    """Transcriptions of already normalised images (:func:`hwr.data.images.normalize_line`), in order."""
    results: list[Transcription | None] = [None] * len(images)
    model.network.eval()
    with torch.no_grad():
        for batch in width_batches([im.shape[1] for im in images], batch_size):
            tensor, sizes = collate([images[i] for i in batch])
            log_probs, lengths = model.network(tensor, sizes)
            for i, decoded in zip(batch, greedy_decode(log_probs, lengths)):
                results[i] = Transcription(model.alphabet.decode(decoded.labels), decoded.confidence)
    return results  # type: ignore[return-value]


def transcribe_files(
    model: Model, paths: Sequence[Path], batch_size: int = 16
) -> tuple[dict[Path, Transcription], list[str]]:
    """Transcriptions of the readable images among ``paths``, and one message per unreadable one."""
    images, readable, problems = [], [], []
    for path in paths:
        try:
            images.append(normalize_line(read_gray(path), model.preprocessing))
            readable.append(path)
        except ImageError as exc:
            problems.append(str(exc))
    return dict(zip(readable, transcribe_normalized(model, images, batch_size))), problems
