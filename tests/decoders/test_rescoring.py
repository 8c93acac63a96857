"""Rescoring proposals of several groups: exact CTC likelihoods, the language terms, the choice."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwr.decoders.beam import BeamSettings, beam_decode
from hwr.decoders.lexicon import Lexicon
from hwr.decoders.ngram import CharNgram
from hwr.decoders.rescoring import ctc_log_likelihoods, language_terms, rescoring_decode
from tests.decoders.test_beam import WIDE, labelling_log_probs, lm_log_prob, random_log_probs


@pytest.mark.parametrize("seed", range(3))
def test_ctc_log_likelihoods_sum_every_alignment(seed):
    log_probs = random_log_probs(seed)
    totals = labelling_log_probs(log_probs)
    labellings = [(), (1,), (2, 2), (1, 3, 1), (3, 2, 1, 2), (1, 1, 1)]
    assert ctc_log_likelihoods(log_probs, labellings).tolist() == pytest.approx([totals[t] for t in labellings])
    assert ctc_log_likelihoods(log_probs, [(1, 1, 1, 1)]).tolist() == [-math.inf], "needs 7 frames, has 5"


def test_language_terms_count_like_the_beam_search():
    space = 3
    lines = [[1, 2, space, 2, 1], [1, 1]]
    ngram, lexicon = CharNgram(lines, order=3, num_symbols=4), Lexicon(lines, separator=space)
    text = (1, 2, space, 1, 1, space, 2, 2, space, 2, 1)  # known, known, unknown, known (at the end)
    log_prob, known = language_terms(text, ngram, lexicon)
    assert log_prob == pytest.approx(lm_log_prob(ngram, text))
    assert known == 3
    assert language_terms(text, ngram, None) == (pytest.approx(log_prob), 0)
    assert language_terms((), ngram, lexicon)[1] == 0


@pytest.mark.parametrize("seed", range(4))
def test_one_group_chooses_what_the_exhaustive_beam_search_chooses(seed):
    log_probs = random_log_probs(seed)
    lines = [[1, 2, 3], [3, 3, 1], [2, 1]]
    ngram, lexicon = CharNgram(lines, order=3, num_symbols=4), Lexicon(lines, separator=3)
    settings = BeamSettings(lm_weight=0.7, insertion_bonus=0.4, word_bonus=1.0, **WIDE)
    expected = beam_decode(log_probs, ngram, settings, lexicon)
    got = rescoring_decode(log_probs[None], [1.0], ngram, settings, lexicon)
    assert got.labels == expected.labels
    assert got.confidence == pytest.approx(expected.confidence)


def frames_spelling(labels: list[int], confidence: float, classes: int = 4) -> np.ndarray:
    """Frames whose best path spells ``labels`` (one frame each, a blank between), the rest spread evenly."""
    path = [k for label in labels for k in (label, 0)]
    rest = (1 - confidence) / (classes - 1)
    probs = np.full((len(path), classes), rest)
    probs[np.arange(len(path)), path] = confidence
    return np.log(probs)


@pytest.mark.parametrize("with_lm", [False, True])
def test_the_groups_weights_decide_between_their_readings(with_lm):
    readings = np.stack([frames_spelling([1, 2, 1], 0.9), frames_spelling([2, 1, 2], 0.6)])
    search = (CharNgram([[3]], order=1, num_symbols=4), BeamSettings(lm_weight=0.0), None) if with_lm else ()
    assert rescoring_decode(readings, [0.5, 0.5], *search).labels == [1, 2, 1], "the surer group wins"
    assert rescoring_decode(readings, [0.1, 0.9], *search).labels == [2, 1, 2]
    decoded = rescoring_decode(readings, [0.5, 0.5], *search)
    expected = 0.5 * sum(ctc_log_likelihoods(r, [(1, 2, 1)])[0] for r in readings)
    assert decoded.confidence == pytest.approx(math.exp(expected / 6))
