"""Width batching and zero-padded collation."""

from __future__ import annotations

import numpy as np
import torch

from hwr.data.batching import collate, width_batches


def test_batches_group_similar_widths_and_cover_every_line_once():
    widths = [50, 10, 40, 20, 30, 60, 15]
    batches = width_batches(widths, 3)
    assert batches == [[1, 6, 3], [4, 2, 0], [5]]
    shuffled = width_batches(widths, 3, np.random.default_rng(0))
    assert sorted(i for b in shuffled for i in b) == list(range(len(widths)))
    assert sorted(map(sorted, shuffled)) == sorted(map(sorted, batches))


def test_collate_pads_with_zeros_and_keeps_sizes():
    a, b = np.full((4, 6), 255, np.uint8), np.full((4, 3), 51, np.uint8)
    images, sizes = collate([a, b])
    assert images.shape == (2, 4, 6) and images.dtype == torch.float32
    assert sizes.tolist() == [[4, 6], [4, 3]]
    assert torch.all(images[0] == 1.0) and torch.allclose(images[1, :, :3], torch.full((4, 3), 0.2))
    assert torch.all(images[1, :, 3:] == 0)
