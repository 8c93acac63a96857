"""Greedy CTC decoding: repeats merged, blanks dropped, lengths respected, confidence."""

import math

import pytest
import torch

from hwr.decoders.greedy import greedy_decode


def one_hot_log_probs(paths: list[list[int]], classes: int, p: float = 0.9) -> torch.Tensor:
    frames = max(len(path) for path in paths)
    probs = torch.full((frames, len(paths), classes), (1 - p) / (classes - 1))
    for b, path in enumerate(paths):
        for t, k in enumerate(path):
            probs[t, b, k] = p
    return probs.log()


def test_repeats_merge_unless_separated_by_blank():
    log_probs = one_hot_log_probs([[1, 1, 0, 1, 2, 2, 0, 0], [3, 0, 3, 3, 0, 0, 0, 0]], classes=4)
    decoded = greedy_decode(log_probs, torch.tensor([8, 3]))
    assert decoded[0].labels == [1, 1, 2]
    assert decoded[1].labels == [3, 3]  # frames after its length are ignored


def test_confidence_is_the_geometric_mean_of_best_path_probabilities():
    log_probs = one_hot_log_probs([[1, 2]], classes=3, p=0.8)
    log_probs[1, 0] = torch.tensor([0.1, 0.3, 0.6]).log()
    (decoded,) = greedy_decode(log_probs, torch.tensor([2]))
    assert decoded.confidence == pytest.approx(math.sqrt(0.8 * 0.6))
    assert greedy_decode(log_probs, torch.tensor([0]))[0].labels == []
