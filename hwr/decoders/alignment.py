"""Where each character of a reading lies on its line, and how sure the network is of it.

A decoder gives the text; placing it (ALTO's word boxes, a character's span for a user who
checks it against the image) needs the frames each character was read from. The most
probable CTC path that spells exactly the text (Viterbi over the labels with blanks between,
Graves et al. 2006) gives each character its frames; its confidence is its highest
probability on them, as kraken reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwr.data.alphabet import BLANK

NEG_INF = -np.inf


@dataclass(frozen=True)
class CharSpan:
    label: int
    first: int
    """First frame of the character."""
    last: int
    """Last frame of the character (inclusive)."""
    confidence: float


def align(log_probs: np.ndarray, labels: list[int]) -> list[CharSpan]:
    """Each label's frames on the best CTC path of ``log_probs`` ``(T, K)`` that spells ``labels``;
    empty where no path does (fewer frames than the labels need)."""
    frames = len(log_probs)
    states = [BLANK]
    for label in labels:
        states += [label, BLANK]
    count = len(states)
    if not labels or frames == 0:
        return []
    emit = log_probs[:, states].astype(np.float64)  # (T, S)
    # A state may come from itself, the one before, or (a label unlike the one two back) skip a blank.
    skip = np.zeros(count, bool)
    for s in range(3, count, 2):
        skip[s] = states[s] != states[s - 2]
    score = np.full(count, NEG_INF)
    score[:2] = emit[0, :2]
    back = np.zeros((frames, count), np.int8)  # 0: stay, 1: from s-1, 2: from s-2
    for t in range(1, frames):
        stay, step = score, np.concatenate(([NEG_INF], score[:-1]))
        jump = np.where(skip, np.concatenate(([NEG_INF, NEG_INF], score[:-2])), NEG_INF)
        choices = np.stack([stay, step, jump])
        back[t] = np.argmax(choices, axis=0)
        score = choices[back[t], np.arange(count)] + emit[t]
    end = count - 1 if score[count - 1] >= score[count - 2] else count - 2
    if score[end] == NEG_INF:
        return []
    path = np.empty(frames, np.int64)
    state = end
    for t in range(frames - 1, -1, -1):
        path[t] = state
        state -= int(back[t, state])  # a Python int: an int8 would overflow past 127 states
    spans = []
    for k, label in enumerate(labels):
        on = np.flatnonzero(path == 2 * k + 1)
        spans.append(CharSpan(label, int(on[0]), int(on[-1]), float(np.exp(log_probs[on, label].max()))))
    return spans
