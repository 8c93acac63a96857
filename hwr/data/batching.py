"""Batches of lines of similar width, padded with zeros into one tensor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor


def width_batches(widths: Sequence[int], batch_size: int, rng: np.random.Generator | None = None) -> list[list[int]]:
    """Indices grouped into batches of similar width (little padding to compute).

    With ``rng``, ties are broken at random and the batch order is shuffled, so
    each epoch sees different batches; without, the order is by width.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    widths = np.asarray(widths)
    tiebreak = rng.random(len(widths)) if rng is not None else np.arange(len(widths))
    order = np.lexsort((tiebreak, widths))
    batches = [order[k : k + batch_size].tolist() for k in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def collate(images: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """uint8 ink-high images -> float ``(B, H, W)`` in [0, 1], zero-padded, and sizes ``(B, 2)``."""
    height = max(im.shape[0] for im in images)
    width = max(im.shape[1] for im in images)
    batch = np.zeros((len(images), height, width), dtype=np.float32)
    for b, im in enumerate(images):
        batch[b, : im.shape[0], : im.shape[1]] = im
    sizes = torch.tensor([im.shape for im in images], dtype=torch.int64)
    return torch.from_numpy(batch).mul_(1.0 / 255.0), sizes
