"""A character n-gram language model (interpolated Kneser-Ney) for CTC beam search.

Handwriting is ambiguous where the language is not: "acknowledgement" is far more
likely than "askmnlbmnt". A model of which character follows the last few, counted
on the training transcriptions, lets the beam search prefer readings that look like
the language. Symbols are the alphabet's class indices; index 0 (the CTC blank)
stands for the line's start in contexts and for its end as a prediction.

Interpolated Kneser-Ney (Chen & Goodman 1999): each context's counts lose a fixed
discount, which goes to the next shorter context's distribution, down to the uniform
one, so no character is ever impossible. The shorter contexts count in how many
distinct contexts a character follows them rather than how often, since they only
matter where the longer context is rare.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from hwr.decoders.tables import check_offsets, compact, offsets
from hwr.errors import ConfigError

END = 0
"""Index of the line's start (in contexts) and end (as a prediction)."""
DISCOUNT = 0.9
"""Subtracted from every count. Validation perplexity of 6-grams on the Hooker letters
(counted on train): 0.6: 6.25, 0.8: 5.84, 0.9: 5.80, 1.0: 5.98 (Witten-Bell's best, at
order 5: 6.76); letters other than the training ones favour strong back-off."""
CACHE_SIZE = 200_000


TABLES = ("context_symbols", "context_offsets", "followers", "follower_offsets", "counts")
"""The integer arrays that hold an n-gram: each context's symbols and its followers with their
counts, flat, cut by offsets. Model files store them, so that loading counts nothing."""


class CharNgram:
    """P(next symbol | up to ``order - 1`` previous ones), over ``num_symbols`` symbols (0 = start/end)."""

    def __init__(self, lines: Iterable[Sequence[int]], order: int, num_symbols: int) -> None:
        """Counted on ``lines`` of symbols."""
        if order < 1:
            raise ConfigError(f"the n-gram order must be at least 1, got {order}")
        counts: dict[tuple[int, ...], Counter[int]] = defaultdict(Counter)
        extended: set[tuple[int, ...]] = set()
        for line in lines:
            symbols = [END] * (order - 1) + list(line) + [END]
            for i in range(order - 1, len(symbols)):
                if not 0 <= symbols[i] < num_symbols:
                    raise ValueError(f"symbol {symbols[i]} outside the model's {num_symbols} symbols")
                counts[tuple(symbols[i - order + 1 : i])][symbols[i]] += 1  # the full context: how often
                for n in range(order - 1):  # shorter ones: after how many distinct longer contexts
                    longer = tuple(symbols[i - n - 1 : i + 1])
                    if longer not in extended:
                        extended.add(longer)
                        counts[longer[1:-1]][symbols[i]] += 1
        contexts = list(counts)
        self._set(
            order,
            num_symbols,
            {
                "context_symbols": [s for context in contexts for s in context],
                "context_offsets": offsets(len(context) for context in contexts),
                "followers": [s for context in contexts for s in counts[context]],
                "follower_offsets": offsets(len(counts[context]) for context in contexts),
                "counts": [n for context in contexts for n in counts[context].values()],
            },
        )

    @classmethod
    def from_tables(cls, order: int, num_symbols: int, tables: dict[str, np.ndarray]) -> CharNgram:
        """The n-gram of :meth:`tables`; raises ValueError where they do not make one."""
        ngram = cls.__new__(cls)
        ngram._set(order, num_symbols, tables)
        return ngram

    def _set(self, order: int, num_symbols: int, tables: dict[str, Sequence[int] | np.ndarray]) -> None:
        if order < 1:
            raise ConfigError(f"the n-gram order must be at least 1, got {order}")
        self.order, self.num_symbols = order, num_symbols
        self._tables = {name: np.asarray(tables[name], np.int32) for name in TABLES}
        t = self._tables
        check_offsets(t["context_offsets"], len(t["context_symbols"]), "the contexts")
        check_offsets(t["follower_offsets"], len(t["followers"]), "the followers")
        symbols = np.concatenate([t["context_symbols"], t["followers"]])
        if len(t["context_offsets"]) != len(t["follower_offsets"]) or len(t["counts"]) != len(t["followers"]):
            raise ValueError("n-gram tables: contexts, followers and counts do not match")
        if (symbols < 0).any() or (symbols >= num_symbols).any() or (t["counts"] < 1).any():
            raise ValueError(f"n-gram tables: symbols outside 0..{num_symbols - 1} or counts below 1")
        self._counts: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] | None = None
        self._cache: dict[tuple[int, ...], np.ndarray] = {}

    def tables(self) -> dict[str, np.ndarray]:
        """The counts as flat integer arrays (see :data:`TABLES`), for model files and the compiled search."""
        return {name: compact(table) for name, table in self._tables.items()}

    def _lookup(self) -> dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]:
        """Context -> (followers, counts), made on first use (only the Python search needs it)."""
        if self._counts is None:
            t = self._tables
            contexts, followers = t["context_offsets"].tolist(), t["follower_offsets"].tolist()
            symbols = t["context_symbols"].tolist()
            self._counts = {
                tuple(symbols[contexts[i] : contexts[i + 1]]): (
                    t["followers"][followers[i] : followers[i + 1]].astype(np.int64),
                    t["counts"][followers[i] : followers[i + 1]].astype(np.float64),
                )
                for i in range(len(contexts) - 1)
            }
        return self._counts

    def log_probs(self, context: Sequence[int]) -> np.ndarray:
        """Log-probabilities of every symbol after ``context`` (earlier symbols beyond the order are ignored)."""
        context = tuple(context[max(0, len(context) - self.order + 1) :]) if self.order > 1 else ()
        if len(context) < self.order - 1:  # a line's start: pad with the start symbol
            context = (END,) * (self.order - 1 - len(context)) + context
        cached = self._cache.get(context)
        if cached is None:
            counted = self._lookup()
            probs = np.full(self.num_symbols, 1.0 / self.num_symbols)
            for n in range(self.order):
                seen = counted.get(context[len(context) - n :] if n else ())
                if seen is None:
                    break  # no longer context was seen either
                followers, counts = seen
                total = counts.sum()
                probs = probs * (DISCOUNT * len(counts) / total)
                probs[followers] += (counts - DISCOUNT) / total
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            cached = self._cache[context] = np.log(probs)
        return cached
