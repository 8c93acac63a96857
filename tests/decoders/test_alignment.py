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


def best_path_score(log_probs: np.ndarray, labels: list[int]) -> float:
    """The Viterbi score of the best CTC path that spells ``labels``, in plain Python loops: the
    reference for cases too long to enumerate."""
    states = [0]
    for label in labels:
        states += [label, 0]
    score = [-np.inf] * len(states)
    score[0], score[1] = log_probs[0, states[0]], log_probs[0, states[1]]
    for t in range(1, len(log_probs)):
        previous = score
        score = []
        for s, label in enumerate(states):
            best = previous[s]
            if s >= 1:
                best = max(best, previous[s - 1])
            if s >= 2 and label != 0 and label != states[s - 2]:
                best = max(best, previous[s - 2])
            score.append(best + log_probs[t, label])
    return max(score[-1], score[-2])


@pytest.mark.parametrize(("seed", "labels", "frames"), [(0, 300, 2000), (1, 150, 400), (2, 64, 130), (3, 200, 420)])
def test_long_readings_are_placed_on_their_best_path(seed, labels, frames):
    """Past 127 CTC states (64 characters) the back-pointers once overflowed int8."""
    rng = np.random.default_rng(seed)
    text = rng.integers(1, 6, labels).tolist()  # few classes: many repeated letters, which need a blank between
    log_probs = random_log_probs(seed, frames=frames, classes=6)
    spans = align(log_probs, text)
    assert [s.label for s in spans] == text
    path = np.zeros(frames, np.int64)
    for before, span in zip((None, *spans[:-1]), spans):
        assert span.first <= span.last
        if before is not None:
            assert span.first > before.last + (span.label == before.label)  # a repeat needs a blank between
        path[span.first : span.last + 1] = span.label
    assert log_probs[np.arange(frames), path].sum() == pytest.approx(best_path_score(log_probs, text), abs=1e-9)
