"""The words of the language model's texts, so that the beam search can favour known words.

A character n-gram looks only a few characters back, so a misread long word ("Herbarious"
for "Herbaceous") can score almost as well as the real one. A bonus for every completed
word that occurs in the training texts prefers whole known words without forbidding new
ones: a fifth of the Hooker validation words never occur in train.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


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

    def ends_known_word(self, labels: Sequence[int]) -> bool:
        """Whether the last word of ``labels`` (from the last separator on) is known; an empty one is not."""
        start = len(labels)
        while start > 0 and labels[start - 1] != self.separator:
            start -= 1
        return start < len(labels) and tuple(labels[start:]) in self.words
