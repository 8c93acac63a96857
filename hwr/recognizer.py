"""Transcribing line images with a trained model: batched by width, then CTC decoding per line.

A model with a language model is decoded by beam search with it, others greedily; a
:class:`~hwr.ensemble.RescoringEnsemble` by its groups' proposals, rescored (see
:mod:`hwr.decoders.rescoring`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hwr.data.batching import collate, width_batches
from hwr.data.images import ImageError, normalize_line, read_gray
from hwr.decoders.beam import beam_decode
from hwr.decoders.greedy import greedy_decode
from hwr.decoders.rescoring import rescoring_decode
from hwr.ensemble import RescoringEnsemble
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
    for batch in width_batches([im.shape[1] for im in images], batch_size):
        tensor, sizes = collate([images[i] for i in batch])
        log_probs, lengths = model.network(tensor, sizes)
        for b, (i, length) in enumerate(zip(batch, lengths.tolist())):
            yield i, log_probs[..., :length, b, :].numpy()


def decode(model: Model, log_probs: np.ndarray) -> Transcription:
    """One line's text from its log-probabilities ``(frames, classes)``, or ``(groups, frames, classes)``."""
    lm = model.language_model
    search = (lm.ngram, lm.settings, lm.lexicon) if lm is not None else ()
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
