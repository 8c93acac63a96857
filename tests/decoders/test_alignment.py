"""Character alignment: the best CTC path that spells the text, against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwr.decoders.alignment import align
from tests.decoders.test_beam import collapse, random_log_probs


@pytest.mark.parametrize("seed", range(12))
def test_the_spans_follow_the_best_path_that_spells_the_labels(seed):
    log_probs = random_log_probs(seed, frames=6, classes=3)
    labels = [[1], [1, 2], [2, 2], [1, 2, 1]][seed % 4]
    paths = [p for p in itertools.product(range(3), repeat=6) if list(collapse(p)) == labels]
    best = max(paths, key=lambda p: sum(log_probs[t, k] for t, k in enumerate(p)))
    spans = align(log_probs, labels)
    assert [s.label for s in spans] == labels
    # Each character's frames on the brute-force best path: its first and last.
    k, runs = -1, []
    for t, (label, previous) in enumerate(zip(best, (None, *best[:-1]))):
        if label != 0 and (label != previous):
            k += 1
            runs.append([t, t])
        elif label != 0:
            runs[k][1] = t
    assert [[s.first, s.last] for s in spans] == runs
    for span in spans:
        assert span.confidence == pytest.approx(np.exp(log_probs[span.first : span.last + 1, span.label].max()))


def test_no_path_no_spans():
    assert align(random_log_probs(0, frames=2, classes=3), [1, 1]) == []  # 1 1 needs a blank between: 3 frames
    assert align(random_log_probs(0, frames=3, classes=3), []) == []
