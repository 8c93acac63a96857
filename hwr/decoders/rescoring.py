"""Decoding with several groups of networks that cannot be averaged frame by frame.

Each group (see :class:`hwr.ensemble.RescoringEnsemble`) proposes readings: its greedy
one, or with a language model its ``CANDIDATES_PER_GROUP`` best from the beam search.
Every proposal is then scored with every group's CTC probability, the exact sum over
all its paths, weighted by the group's share ``w_g``:

    sum_g w_g log P_ctc,g(text) + lm_weight * log P_lm(text) + insertion_bonus * len(text)
        + word_bonus * (known words of the text)

which is the beam search's own ranking (:mod:`hwr.decoders.beam`) with the groups'
geometric mean in place of one network's CTC probability. Frames need not line up
between groups, since each scores whole texts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from hwr.decoders.beam import BeamSettings, beam_search
from hwr.decoders.greedy import Decoded, greedy_decode
from hwr.decoders.lexicon import Lexicon
from hwr.decoders.ngram import END, CharNgram

CANDIDATES_PER_GROUP = 16
"""Readings each group proposes with a language model. On the Hooker valid lines (the
shipped pair and a network with a 1-D LSTM head) the best of the 32 or fewer proposals
would give 9.9% CER, so the choice among them, not the proposals, limits the result."""


def ctc_log_likelihoods(log_probs: np.ndarray, labellings: Sequence[Sequence[int]]) -> np.ndarray:
    """``log P_ctc(labelling)`` under one line's frames ``(T, K)`` (class 0 = blank), for each labelling;
    ``-inf`` where the frames are too few for it.

    The CTC forward recursion over each labelling with blanks around and between its
    labels (Graves et al. 2006), all labellings at once. Plain numpy, not torch: ``hwr lm``
    runs this in forked processes, where torch's OpenMP thread pool would hang.
    """
    count = len(labellings)
    states = 2 * max((len(labels) for labels in labellings), default=0) + 1
    extended = np.zeros((count, states), dtype=np.int64)  # blanks, and the labels at odd states
    for j, labels in enumerate(labellings):
        extended[j, 1 : 2 * len(labels) : 2] = labels
    # A state may be entered from two back (skipping a blank) unless it is a blank or repeats that label.
    skips = np.zeros((count, states), dtype=bool)
    skips[:, 2:] = (extended[:, 2:] != 0) & (extended[:, 2:] != extended[:, :-2])
    emissions = log_probs.astype(np.float64)[:, extended]  # (T, count, states)
    alpha = np.full((count, states), -np.inf)
    alpha[:, :2] = emissions[0, :, :2]
    for frame in emissions[1:]:
        entered = alpha.copy()
        entered[:, 1:] = np.logaddexp(entered[:, 1:], alpha[:, :-1])
        entered[:, 2:] = np.where(skips[:, 2:], np.logaddexp(entered[:, 2:], alpha[:, :-2]), entered[:, 2:])
        alpha = entered + frame
    last = np.array([2 * len(labels) for labels in labellings])  # the final blank; the last label is one before
    rows = np.arange(count)
    return np.logaddexp(alpha[rows, last], np.where(last > 0, alpha[rows, np.maximum(last - 1, 0)], -np.inf))


def language_terms(labels: Sequence[int], ngram: CharNgram, lexicon: Lexicon | None) -> tuple[float, int]:
    """The n-gram's log-probability of the whole line (its end included) and its known words
    (none without a ``lexicon``), counted as the beam search counts them."""
    log_prob = sum(float(ngram.log_probs(labels[:i])[k]) for i, k in enumerate(labels))
    log_prob += float(ngram.log_probs(labels)[END])
    if lexicon is None:
        return log_prob, 0
    ends = [i for i, k in enumerate(labels) if k == lexicon.separator] + [len(labels)]
    return log_prob, sum(lexicon.ends_known_word(labels[:i]) for i in ends)


def rescoring_decode(
    readings: np.ndarray,
    weights: Sequence[float],
    lm: CharNgram | None = None,
    settings: BeamSettings | None = None,
    lexicon: Lexicon | None = None,
) -> Decoded:
    """The best reading of one line from each group's frames ``readings`` ``(groups, T, K)``,
    greedy proposals without an ``lm``, else beam search proposals with it, ``settings`` and ``lexicon``.

    Its confidence is the per-frame geometric mean of its weighted CTC probability.
    """
    search = settings or BeamSettings()
    if lm is None:
        proposals = [greedy_decode(torch.from_numpy(r).unsqueeze(1), torch.tensor([len(r)]))[0] for r in readings]
    else:
        proposals = [d for r in readings for d in beam_search(r, lm, search, lexicon, CANDIDATES_PER_GROUP)]
    texts = list(dict.fromkeys(tuple(d.labels) for d in proposals))
    ctc = sum(w * ctc_log_likelihoods(r, texts) for w, r in zip(weights, readings))
    scores = ctc.copy()
    if lm is not None:
        for j, text in enumerate(texts):
            log_prob, known = language_terms(text, lm, lexicon)
            scores[j] += search.lm_weight * log_prob + search.insertion_bonus * len(text) + search.word_bonus * known
    best = int(np.argmax(scores))
    frames = readings.shape[1]
    return Decoded(list(texts[best]), math.exp(ctc[best] / frames) if frames else 0.0)
