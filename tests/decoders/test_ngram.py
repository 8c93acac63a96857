"""The character n-gram: proper distributions, Witten-Bell by hand, back-off to shorter contexts."""

from __future__ import annotations

import numpy as np
import pytest

from hwr.decoders.ngram import END, CharNgram


def test_every_context_gives_a_distribution():
    lm = CharNgram([[1, 2, 3, 1, 2], [2, 2]], order=3, num_symbols=5)
    for context in ([], [1], [1, 2], [3, 3], [4, 4, 4, 1, 2]):
        assert np.exp(lm.log_probs(context)).sum() == pytest.approx(1.0)


def test_witten_bell_by_hand():
    # Bigram on "ab": counts after start: a 1; after a: b 1; after b: end 1; unigram: a, b, end 1 each.
    lm = CharNgram([[1, 2]], order=2, num_symbols=4)
    uniform = 1 / 4
    unigram = {k: (1 + 3 * uniform) / (3 + 3) if k in (END, 1, 2) else 3 * uniform / 6 for k in range(4)}
    p = np.exp(lm.log_probs([1]))  # context "a": one follower type (b), seen once
    for k in range(4):
        assert p[k] == pytest.approx(((k == 2) + 1 * unigram[k]) / (1 + 1))
    p_start = np.exp(lm.log_probs([]))  # a line's start is the context (END,)
    assert p_start[1] == pytest.approx((1 + unigram[1]) / 2)
    p_unseen = np.exp(lm.log_probs([3]))  # "c" never seen: back off to the unigram
    assert [p_unseen[k] for k in range(4)] == pytest.approx([unigram[k] for k in range(4)])


def test_longer_context_decides_what_follows():
    lm = CharNgram([[1, 2, 3]] * 5 + [[4, 2, 1]] * 5, order=3, num_symbols=5)
    assert np.argmax(lm.log_probs([1, 2])) == 3 and np.argmax(lm.log_probs([4, 2])) == 1
    assert np.argmax(lm.log_probs([1, 2, 3])) == END


def test_symbols_outside_the_model_are_refused():
    with pytest.raises(ValueError, match="symbol 7 outside the model's 5 symbols"):
        CharNgram([[1, 7]], order=2, num_symbols=5)
