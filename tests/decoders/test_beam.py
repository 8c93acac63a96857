"""CTC prefix beam search against brute force over every alignment, with and without a language model."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hwr.decoders.beam import BeamSettings, beam_decode
from hwr.decoders.lexicon import Lexicon
from hwr.decoders.ngram import END, CharNgram

WIDE = {"beam_width": 100_000, "prune": 0.0}  # nothing pruned: the search is exhaustive


def collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(k for k, _ in itertools.groupby(path) if k != 0)


def labelling_log_probs(log_probs: np.ndarray) -> dict[tuple[int, ...], float]:
    """log P(labelling) summed over every alignment (the CTC definition)."""
    totals: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=len(log_probs)):
        score = sum(log_probs[t, k] for t, k in enumerate(path))
        label = collapse(path)
        totals[label] = np.logaddexp(totals.get(label, -math.inf), score)
    return totals


def lm_log_prob(lm: CharNgram, labels: tuple[int, ...]) -> float:
    return sum(lm.log_probs(labels[:i])[k] for i, k in enumerate(labels)) + lm.log_probs(labels)[END]


def random_log_probs(seed: int, frames: int = 5, classes: int = 4) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(0, 1.5, (frames, classes))
    return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(5))
def test_without_a_language_model_it_finds_the_most_probable_labelling(seed):
    log_probs = random_log_probs(seed)
    totals = labelling_log_probs(log_probs)
    lm = CharNgram([[1]], order=1, num_symbols=4)
    decoded = beam_decode(log_probs, lm, BeamSettings(lm_weight=0.0, **WIDE))
    best = max(totals, key=totals.get)
    assert tuple(decoded.labels) == best
    assert decoded.confidence == pytest.approx(math.exp(totals[best] / len(log_probs)))


@pytest.mark.parametrize("seed", range(5))
def test_with_a_language_model_it_maximises_the_combined_score(seed):
    log_probs = random_log_probs(seed)
    totals = labelling_log_probs(log_probs)
    lm = CharNgram([[1, 2, 3], [3, 3, 1], [2, 1]], order=3, num_symbols=4)
    settings = BeamSettings(lm_weight=0.7, insertion_bonus=0.4, **WIDE)

    def score(label):
        return totals[label] + 0.7 * lm_log_prob(lm, label) + 0.4 * len(label)

    decoded = beam_decode(log_probs, lm, settings)
    assert score(tuple(decoded.labels)) == pytest.approx(max(score(label) for label in totals))


def known_words(lexicon: Lexicon, labels: tuple[int, ...]) -> int:
    words = " ".join(map(str, labels)).split(str(lexicon.separator))
    return sum(tuple(int(c) for c in word.split()) in lexicon.words for word in words)


@pytest.mark.parametrize("seed", range(5))
def test_with_a_lexicon_it_adds_the_word_bonus_to_the_combined_score(seed):
    log_probs = random_log_probs(seed, frames=6)
    totals = labelling_log_probs(log_probs)
    lm = CharNgram([[1, 2, 3], [3, 3, 1], [2, 1]], order=3, num_symbols=4)
    lexicon = Lexicon([[1, 3, 2], [2, 3, 1, 3]], separator=3)  # words: (1,), (2,)
    settings = BeamSettings(lm_weight=0.7, insertion_bonus=0.4, word_bonus=1.3, **WIDE)

    def score(label):
        return totals[label] + 0.7 * lm_log_prob(lm, label) + 0.4 * len(label) + 1.3 * known_words(lexicon, label)

    decoded = beam_decode(log_probs, lm, settings, lexicon)
    assert score(tuple(decoded.labels)) == pytest.approx(max(score(label) for label in totals))
    assert max(map(score, totals)) != pytest.approx(
        max(score(label) - 1.3 * known_words(lexicon, label) for label in totals)
    )


def test_the_language_model_settles_what_the_image_leaves_open():
    # Frames that read "1 2" or "1 3" equally; the texts say 2 follows 1.
    probs = np.array([[0.1, 0.8, 0.05, 0.05], [0.1, 0.05, 0.425, 0.425], [0.9, 0.04, 0.03, 0.03]])
    log_probs = np.log(probs)
    for favoured in (2, 3):
        lm = CharNgram([[1, favoured]] * 3, order=2, num_symbols=4)
        assert beam_decode(log_probs, lm, BeamSettings(lm_weight=1.0)).labels == [1, favoured]


def test_the_word_bonus_settles_what_the_image_and_the_ngram_leave_open():
    # Frames that read "1 2" or "1 3" equally, a uniform n-gram, and one known word.
    probs = np.array([[0.1, 0.8, 0.05, 0.05], [0.1, 0.05, 0.425, 0.425], [0.9, 0.04, 0.03, 0.03]])
    lm = CharNgram([[1]], order=1, num_symbols=5)
    for known in (2, 3):
        lexicon = Lexicon([[1, known]], separator=4)
        decoded = beam_decode(np.log(probs), lm, BeamSettings(lm_weight=0.0, word_bonus=1.0), lexicon)
        assert decoded.labels == [1, known]


def test_no_frames_decode_to_nothing():
    lm = CharNgram([[1]], order=2, num_symbols=3)
    decoded = beam_decode(np.zeros((0, 3)), lm, BeamSettings())
    assert decoded.labels == [] and decoded.confidence == 0.0


def test_settings_are_checked():
    with pytest.raises(ValueError, match="beam search needs"):
        BeamSettings(beam_width=0)
