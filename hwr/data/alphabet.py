"""The alphabet: characters <-> CTC class indices (0 is the blank), stored in the model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

BLANK = 0


class Alphabet:
    """An ordered set of characters; character ``k`` is class ``k + 1``."""

    def __init__(self, characters: Sequence[str]) -> None:
        if len(set(characters)) != len(characters):
            raise ValueError("alphabet characters must be unique")
        if any(len(c) != 1 for c in characters):
            raise ValueError("alphabet entries must be single characters")
        self.characters = tuple(characters)
        self._index = {c: k + 1 for k, c in enumerate(self.characters)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Alphabet:
        """Every character of ``texts``, in code point order."""
        return cls(sorted(set().union(*map(set, texts))))

    def __len__(self) -> int:
        return len(self.characters)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alphabet) and self.characters == other.characters

    def unknown(self, texts: Iterable[str]) -> Counter[str]:
        """How often each character outside the alphabet occurs in ``texts``."""
        return Counter(c for text in texts for c in text if c not in self._index)

    def encode(self, text: str) -> list[int]:
        """Class indices of ``text``; a ``ValueError`` names any unknown characters."""
        try:
            return [self._index[c] for c in text]
        except KeyError:
            missing = "".join(sorted(set(text) - set(self._index)))
            raise ValueError(f"characters not in the alphabet: {missing!r}") from None

    def decode(self, indices: Iterable[int]) -> str:
        """Text of class indices (blanks are skipped)."""
        return "".join(self.characters[i - 1] for i in indices if i != BLANK)
