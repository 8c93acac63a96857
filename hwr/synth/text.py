"""The texts of synthetic lines: the project's own English vocabulary, numbers and punctuation, or
stretches of a corpus (a collection's own transcriptions: its language, spelling and characters)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import numpy as np

from hwr.errors import ConfigError

WORDS = (resources.files(__package__) / "words.txt").read_text(encoding="utf-8").split()
"""Common English words plus a few of the 19th-century letter-writing kind, written for hwr (one a line)."""

PUNCTUATION_AFTER = [",", ".", ";", ":", "!", "?"]


class LineSource:
    """Random line texts, deterministic for a seed: :meth:`line` draws one."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def line(self) -> str:
        raise NotImplementedError

    def unique_lines(self, count: int, usable: Callable[[str], bool] = lambda text: True) -> list[str]:
        """``count`` distinct lines that are ``usable`` (a font can draw them, say)."""
        seen: set[str] = set()
        lines = []
        for _ in range(count * 100):
            if len(lines) == count:
                return lines
            text = self.line()
            if text and text not in seen:
                seen.add(text)
                if usable(text):
                    lines.append(text)
        raise ConfigError(f"could not make {count} distinct lines (made {len(lines)})")


class TextSource(LineSource):
    """Random lines of 1..``max_words`` words, deterministic for a seed.

    Words are sometimes capitalised, followed by punctuation, quoted, hyphenated
    or replaced by a number, so every character of :attr:`charset` occurs.
    """

    charset = "".join(sorted(set("".join(WORDS)) | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.;:!?'-&()")))

    def __init__(self, seed: int, max_words: int = 6, max_chars: int = 40) -> None:
        super().__init__(seed)
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


class CorpusSource(LineSource):
    """Runs of 1..``max_words`` consecutive words of a corpus line, at most ``max_chars`` long: the
    corpus's words in their own order, each drawn text new (not a whole corpus line, often)."""

    def __init__(self, texts: list[str], seed: int, max_words: int = 8, max_chars: int = 60) -> None:
        super().__init__(seed)
        self.lines = [text.split() for text in texts if text.split()]
        if not self.lines:
            raise ConfigError("the corpus has no words")
        self.max_words, self.max_chars = max_words, max_chars

    def line(self) -> str:
        words = self.lines[int(self.rng.integers(len(self.lines)))]
        n = int(self.rng.integers(1, min(self.max_words, len(words)) + 1))
        start = int(self.rng.integers(len(words) - n + 1))
        run = words[start : start + n]
        while len(run) > 1 and len(" ".join(run)) > self.max_chars:
            run.pop()
        return " ".join(run)[: self.max_chars]
