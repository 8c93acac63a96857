"""The words of the language model's texts, so that the beam search can favour known words.

A character n-gram looks only a few characters back, so a misread long word ("Herbarious"
for "Herbaceous") can score almost as well as the real one. A bonus for every completed
word that occurs in the training texts prefers whole known words without forbidding new
ones: a fifth of the Hooker validation words never occur in train.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from hwr.decoders.tables import check_offsets, compact, offsets


class Lexicon:
    """Known words as label sequences; ``separator`` (the space's label) ends a word, None if there is none."""

    def __init__(self, lines: Iterable[Sequence[int]], separator: int | None) -> None:
        self.separator = separator
        words: set[tuple[int, ...]] = set()
        for line in lines:
            word: list[int] = []
            for label in [*line, separator]:
                if label == separator:
                    if word:
                        words.add(tuple(word))
                    word = []
                else:
                    word.append(label)
        self.words = frozenset(words)

    @classmethod
    def from_tables(cls, separator: int | None, tables: dict[str, np.ndarray]) -> Lexicon:
        """The lexicon of :meth:`tables`; raises ValueError where they do not make one."""
        symbols, cuts = (np.asarray(tables[name], np.int32) for name in ("word_symbols", "word_offsets"))
        check_offsets(cuts, len(symbols), "the words")
        lexicon = cls([], separator)
        flat, cut = symbols.tolist(), cuts.tolist()
        lexicon.words = frozenset(tuple(flat[cut[i] : cut[i + 1]]) for i in range(len(cut) - 1))
        return lexicon

    def tables(self) -> dict[str, np.ndarray]:
        """The words as flat integer arrays (``word_symbols`` cut by ``word_offsets``), sorted."""
        words = sorted(self.words)
        return {
            "word_symbols": compact(np.array([s for word in words for s in word], np.int64)),
            "word_offsets": compact(np.array(offsets(len(word) for word in words), np.int64)),
        }

    def ends_known_word(self, labels: Sequence[int]) -> bool:
        """Whether the last word of ``labels`` (from the last separator on) is known; an empty one is not."""
        start = len(labels)
        while start > 0 and labels[start - 1] != self.separator:
            start -= 1
        return start < len(labels) and tuple(labels[start:]) in self.words
