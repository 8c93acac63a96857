"""The word source for synthetic lines: the project's own vocabulary, numbers and punctuation."""

from __future__ import annotations

from importlib import resources

import numpy as np

from hwr.errors import ConfigError

WORDS = (resources.files(__package__) / "words.txt").read_text(encoding="utf-8").split()
"""Common English words plus a few of the 19th-century letter-writing kind, written for hwr (one a line)."""

PUNCTUATION_AFTER = [",", ".", ";", ":", "!", "?"]


class TextSource:
    """Random lines of 1..``max_words`` words, deterministic for a seed.

    Words are sometimes capitalised, followed by punctuation, quoted, hyphenated
    or replaced by a number, so every character of :attr:`charset` occurs.
    """

    charset = "".join(sorted(set("".join(WORDS)) | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.;:!?'-&()")))

    def __init__(self, seed: int, max_words: int = 6, max_chars: int = 40) -> None:
        self.rng = np.random.default_rng(seed)
        self.max_words = max_words
        self.max_chars = max_chars

    def _word(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.06:
            return str(int(rng.integers(0, 2000))) if rng.random() < 0.7 else f"{rng.integers(1, 31)}th"
        word = WORDS[rng.integers(len(WORDS))]
        if r < 0.25:
            word = word.capitalize()
        elif r < 0.27:
            word = word.upper()
        elif r < 0.29:
            word = f"{word}-{WORDS[rng.integers(len(WORDS))]}"
        elif r < 0.30:
            word = f"({word})"
        elif r < 0.31:
            word = f"'{word}'"
        elif r < 0.32:
            word = "&"
        if rng.random() < 0.12:
            word += PUNCTUATION_AFTER[rng.integers(len(PUNCTUATION_AFTER))]
        return word

    def line(self) -> str:
        n = int(self.rng.integers(1, self.max_words + 1))
        words = [self._word() for _ in range(n)]
        while len(words) > 1 and len(" ".join(words)) > self.max_chars:
            words.pop()
        return " ".join(words)[: self.max_chars]

    def unique_lines(self, count: int, exclude: set[str] = frozenset()) -> list[str]:
        """``count`` distinct lines, none of them in ``exclude``."""
        seen = set(exclude)
        lines = []
        for _ in range(count * 100):
            if len(lines) == count:
                return lines
            text = self.line()
            if text and text not in seen:
                seen.add(text)
                lines.append(text)
        raise ConfigError(f"could not make {count} distinct lines")
