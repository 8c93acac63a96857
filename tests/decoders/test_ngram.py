"""The character n-gram: proper distributions, Kneser-Ney by hand, back-off to shorter contexts."""

from __future__ import annotations

import numpy as np
import pytest

from hwr.decoders.ngram import DISCOUNT, END, CharNgram


def test_every_context_gives_a_distribution():
    lm = CharNgram([[1, 2, 3, 1, 2], [2, 2]], order=3, num_symbols=5)
    for context in ([], [1], [1, 2], [3, 3], [4, 4, 4, 1, 2]):
        assert np.exp(lm.log_probs(context)).sum() == pytest.approx(1.0)


def test_kneser_ney_by_hand():
    # Bigrams of "ab": after start a, after a b, after b end, each seen once; the unigram
    # level counts the distinct contexts each symbol follows: a, b and end one each.
    lm = CharNgram([[1, 2]], order=2, num_symbols=4)
    d = DISCOUNT
    unigram = [(1 - d) / 3 + d / 4] * 3 + [d / 4]  # symbols end, a, b seen; 3 never
    assert sum(unigram) == pytest.approx(1.0)
    p = np.exp(lm.log_probs([1]))  # context "a": b once
    assert list(p) == pytest.approx([d * unigram[k] + (1 - d) * (k == 2) for k in range(4)])
    p_start = np.exp(lm.log_probs([]))  # a line's start is the context (END,)
    assert p_start[1] == pytest.approx(d * unigram[1] + 1 - d)
    assert list(np.exp(lm.log_probs([3]))) == pytest.approx(unigram)  # unseen context: the unigram


def test_shorter_contexts_count_distinct_predecessors_not_occurrences():
    # "z" follows "a" five times but only ever after "a": as a back-off it is one context.
    lm = CharNgram([[1, 3]] * 5 + [[2, 4], [1, 4]], order=2, num_symbols=5)
    unseen_context = np.exp(lm.log_probs([4]))
    assert unseen_context[3] == pytest.approx(unseen_context[4] / 2, rel=0.2)


def test_longer_context_decides_what_follows():
    lm = CharNgram([[1, 2, 3]] * 5 + [[4, 2, 1]] * 5, order=3, num_symbols=5)
    assert np.argmax(lm.log_probs([1, 2])) == 3 and np.argmax(lm.log_probs([4, 2])) == 1
    assert np.argmax(lm.log_probs([1, 2, 3])) == END


def test_symbols_outside_the_model_are_refused():
    with pytest.raises(ValueError, match="symbol 7 outside the model's 5 symbols"):
        CharNgram([[1, 7]], order=2, num_symbols=5)


def test_a_line_start_shorter_than_the_context_keeps_all_of_it():
    # Order 4: after "1 2" at a line's start comes 3; after a "2" elsewhere, 4. A start of two
    # symbols is read with both (padded with the start symbol), not with its last alone.
    lm = CharNgram([[1, 2, 3]] + [[4, 4, 2, 4]] * 5, order=4, num_symbols=5)
    assert np.argmax(lm.log_probs([1, 2])) == 3
    assert np.array_equal(lm.log_probs([1, 2]), lm.log_probs([0, 1, 2]))
