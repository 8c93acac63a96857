"""Greedy (best path) CTC decoding with a per-line confidence."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hwr.data.alphabet import BLANK


@dataclass(frozen=True)
class Decoded:
    labels: list[int]
    """Class indices after merging repeats and dropping blanks."""
    confidence: float
    """Geometric mean of the best path's frame probabilities, in [0, 1]."""


def greedy_decode(log_probs: Tensor, lengths: Tensor) -> list[Decoded]:
    """Best path of each line: argmax per frame, repeats merged, blanks dropped.

    Args: ``log_probs`` ``(T, B, K)``; ``lengths`` ``(B,)`` valid frames per line.
    """
    best_log_prob, best = log_probs.detach().max(dim=-1)
    results = []
    for b, length in enumerate(lengths.tolist()):
        path = best[:length, b]
        keep = torch.ones_like(path, dtype=torch.bool)
        keep[1:] = path[1:] != path[:-1]
        labels = [int(k) for k in path[keep & (path != BLANK)]]
        confidence = float(best_log_prob[:length, b].mean().exp()) if length else 0.0
        results.append(Decoded(labels, confidence))
    return results
