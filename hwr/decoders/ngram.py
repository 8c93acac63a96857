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

from hwr.errors import ConfigError

END = 0
"""Index of the line's start (in contexts) and end (as a prediction)."""
DISCOUNT = 0.9
"""Subtracted from every count. Validation perplexity of 6-grams on the Hooker letters
(counted on train): 0.6: 6.25, 0.8: 5.84, 0.9: 5.80, 1.0: 5.98 (Witten-Bell's best, at
order 5: 6.76); letters other than the training ones favour strong back-off."""
CACHE_SIZE = 200_000


class CharNgram:
    """P(next symbol | up to ``order - 1`` previous ones), over ``num_symbols`` symbols (0 = start/end)."""

    def __init__(self, lines: Iterable[Sequence[int]], order: int, num_symbols: int) -> None:
        if order < 1:
            raise ConfigError(f"the n-gram order must be at least 1, got {order}")
        self.order = order
        self.num_symbols = num_symbols
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
        self._counts = {
            context: (np.fromiter(c.keys(), np.int64), np.fromiter(c.values(), np.float64))
            for context, c in counts.items()
        }
        self._cache: dict[tuple[int, ...], np.ndarray] = {}

    def tables(self) -> tuple[list[list[int]], list[list[int]], list[list[float]]]:
        """The counts as plain lists (contexts, their followers, their counts), for the compiled search."""
        contexts = list(self._counts)
        return (
            [list(c) for c in contexts],
            [self._counts[c][0].tolist() for c in contexts],
            [self._counts[c][1].tolist() for c in contexts],
        )

    def log_probs(self, context: Sequence[int]) -> np.ndarray:
        """Log-probabilities of every symbol after ``context`` (earlier symbols beyond the order are ignored)."""
        context = tuple(context[max(0, len(context) - self.order + 1) :]) if self.order > 1 else ()
        if len(context) < self.order - 1:  # a line's start: pad with the start symbol
            context = (END,) * (self.order - 1 - len(context)) + context
        cached = self._cache.get(context)
        if cached is None:
            probs = np.full(self.num_symbols, 1.0 / self.num_symbols)
            for n in range(self.order):
                seen = self._counts.get(context[len(context) - n :] if n else ())
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
