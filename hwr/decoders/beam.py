"""CTC prefix beam search with a character language model (Hannun et al. 2014).

Each prefix keeps the probability of the frames so far ending in a blank and in
its last character, so paths that collapse to the same text are summed rather than
competing. Prefixes are ranked by

    log P_ctc(prefix) + lm_weight * log P_lm(prefix) + insertion_bonus * len(prefix)
        + word_bonus * (words of the prefix that occur in the language model's texts)

where the insertion bonus offsets the language model's per-character cost, which
would otherwise favour short readings, and the word bonus favours known words
(see :mod:`hwr.decoders.lexicon`). Characters whose frame probability is below
``prune`` are not tried at that frame, which keeps the search fast.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from hwr.data.alphabet import BLANK
from hwr.decoders.greedy import Decoded
from hwr.decoders.lexicon import Lexicon
from hwr.decoders.ngram import DISCOUNT, END, TABLES, CharNgram
from hwr.errors import ConfigError
from hwr.native import BEAM_SEARCH

NEG_INF = -math.inf
_NATIVE = BEAM_SEARCH
_SEARCHERS: weakref.WeakKeyDictionary[CharNgram, dict[int, tuple[Lexicon | None, Any]]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class BeamSettings:
    """How the beam search weighs the language model; stored with it in the model file."""

    lm_weight: float = 0.5
    insertion_bonus: float = 0.0
    beam_width: int = 64
    """Prefixes kept per frame. On the Hooker validation lines (shipped network, 6-gram):
    16: 19.11% CER, 32: 18.99%, 64: 18.79%, 128: 18.69%, 256: 18.65%, at 0.02, 0.04,
    0.08, 0.18 and 0.5 s per line; 64 is the knee."""
    prune: float = 1e-3
    """Characters below this frame probability are not tried at that frame."""
    word_bonus: float = 0.0
    """Added (log-probability) for every completed word that the lexicon knows."""

    def __post_init__(self) -> None:
        if self.lm_weight < 0 or self.beam_width < 1 or not 0 <= self.prune < 1:
            raise ConfigError(f"beam search needs lm_weight >= 0, beam_width >= 1 and prune in [0, 1), got {self}")


@dataclass
class _Prefix:
    blank: float = NEG_INF
    """Log-probability of the frames so far, ending in a blank."""
    last: float = NEG_INF
    """... ending in the prefix's last character."""
    lm: float = 0.0
    """Language model log-probability of the prefix."""
    known_words: int = 0
    """Completed words of the prefix that the lexicon knows."""

    @property
    def ctc(self) -> float:
        return _logaddexp(self.blank, self.last)


def _logaddexp(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) on Python floats (numpy's ufunc costs ~10x more per scalar call)."""
    if a < b:
        a, b = b, a
    return a if b == NEG_INF else a + math.log1p(math.exp(b - a))


def beam_decode(
    log_probs: np.ndarray, lm: CharNgram, settings: BeamSettings, lexicon: Lexicon | None = None
) -> Decoded:
    """The best labelling of one line's frames ``(T, K)`` (log-probabilities; class 0 = blank).

    Its confidence is the per-frame geometric mean of the labelling's CTC probability
    (all paths that give it), comparable to the greedy decoder's. Without a ``lexicon``
    no word earns ``settings.word_bonus``.
    """
    return beam_search(log_probs, lm, settings, lexicon)[0]


def beam_search(
    log_probs: np.ndarray, lm: CharNgram, settings: BeamSettings, lexicon: Lexicon | None = None, n: int = 1
) -> list[Decoded]:
    """The ``n`` best labellings (fewer where the beam holds fewer), best first; see :func:`beam_decode`.
    Compiled for float32 frames (what networks give), where it could be built."""
    searcher = _searcher(lm, lexicon) if log_probs.dtype == np.float32 else None
    if searcher is None:
        return reference_beam_search(log_probs, lm, settings, lexicon, n)
    found = searcher.search(
        np.ascontiguousarray(log_probs),
        settings.lm_weight,
        settings.insertion_bonus,
        settings.beam_width,
        settings.prune,
        settings.word_bonus,
        n,
    )
    return [Decoded(labels, math.exp(ctc / len(log_probs)) if len(log_probs) else 0.0) for labels, ctc in found]


def search_is_compiled() -> bool:
    """Whether the compiled search could be built: it releases the GIL while it searches, the
    Python one does not (so only the compiled one can run beside the network)."""
    return _NATIVE.load() is not None


def _searcher(lm: CharNgram, lexicon: Lexicon | None) -> Any:
    """The compiled search over ``lm`` and ``lexicon`` (made once for the pair), or None without the module."""
    module = _NATIVE.load()
    if module is None:
        return None
    made = _SEARCHERS.setdefault(lm, {})
    if id(lexicon) not in made:  # the lexicon is kept with it, so its id stays its own
        ngram = lm.tables()
        words = (lexicon or Lexicon([], None)).tables()
        separator = lexicon.separator if lexicon is not None and lexicon.separator is not None else -1
        searcher = module.Searcher(
            lm.order,
            lm.num_symbols,
            DISCOUNT,
            *(ngram[name] for name in TABLES),
            lexicon is not None,
            words["word_symbols"],
            words["word_offsets"],
            separator,
        )
        made[id(lexicon)] = (lexicon, searcher)
    return made[id(lexicon)][1]


def reference_beam_search(
    log_probs: np.ndarray, lm: CharNgram, settings: BeamSettings, lexicon: Lexicon | None = None, n: int = 1
) -> list[Decoded]:
    """:func:`beam_search` in Python: the reference of the compiled search."""
    beams: dict[tuple[int, ...], _Prefix] = {(): _Prefix(blank=0.0)}
    threshold = math.log(settings.prune) if settings.prune > 0 else NEG_INF

    def score(prefix: tuple[int, ...], state: _Prefix) -> float:
        return (
            state.ctc
            + settings.lm_weight * state.lm
            + settings.insertion_bonus * len(prefix)
            + settings.word_bonus * state.known_words
        )

    separator = lexicon.separator if lexicon is not None else None

    def ends_known_word(prefix: tuple[int, ...]) -> bool:
        return lexicon is not None and lexicon.ends_known_word(prefix)

    for frame_array in log_probs:
        candidates = [k for k in np.flatnonzero(frame_array >= threshold).tolist() if k != BLANK]
        frame = frame_array.tolist()
        following: dict[tuple[int, ...], _Prefix] = {}
        for prefix, state in beams.items():
            total = state.ctc
            stay = following.setdefault(prefix, _Prefix(lm=state.lm, known_words=state.known_words))
            stay.blank = _logaddexp(stay.blank, total + frame[BLANK])
            if prefix:  # the last character repeated without a blank between: same prefix
                stay.last = _logaddexp(stay.last, state.last + frame[prefix[-1]])
            if not candidates:
                continue
            lm_next = lm.log_probs(prefix)
            for k in candidates:
                longer = prefix + (k,)
                # A repeat of the last character is a new one only after a blank.
                came_from = state.blank if prefix and k == prefix[-1] else total
                grown = following.get(longer)
                if grown is None:
                    known = state.known_words + (k == separator and ends_known_word(prefix))
                    grown = following[longer] = _Prefix(lm=state.lm + float(lm_next[k]), known_words=known)
                grown.last = _logaddexp(grown.last, came_from + frame[k])
        ranked = sorted(following.items(), key=lambda item: score(*item), reverse=True)
        beams = dict(ranked[: settings.beam_width])

    def final_score(prefix: tuple[int, ...], state: _Prefix) -> float:  # the line's end also ends its last word
        end = settings.lm_weight * lm.log_probs(prefix)[END] + settings.word_bonus * ends_known_word(prefix)
        return score(prefix, state) + end

    ranked = sorted(beams.items(), key=lambda item: final_score(*item), reverse=True)[:n]
    return [
        Decoded(list(prefix), math.exp(state.ctc / len(log_probs)) if len(log_probs) else 0.0)
        for prefix, state in ranked
    ]
