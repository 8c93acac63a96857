"""A model file's language model: the n-gram and lexicon, the text they come from, and the search settings.

The model file keeps the counted text in its JSON header (for the record, and for ``hwr lm`` to
count again), and the counts and words as integer tensors beside the weights, in the form the
search uses: loading rebuilds nothing (counting the base model's 6-gram took 3 s of every start).
Files written before the tensors existed are counted at load, as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from hwr.data.alphabet import Alphabet
from hwr.decoders.beam import BeamSettings
from hwr.decoders.lexicon import Lexicon
from hwr.decoders.ngram import CharNgram
from hwr.settings import checked_fields


class LanguageModel:
    """A character n-gram of ``order`` and a lexicon from ``corpus``, with the beam search ``settings`` to use them."""

    def __init__(
        self,
        corpus: Sequence[str],
        order: int,
        alphabet: Alphabet,
        settings: BeamSettings,
        tables: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Counted on ``corpus``, or rebuilt from the :meth:`tables` it gave."""
        self.corpus = tuple(corpus)
        self.order = order
        self.settings = settings
        separator = alphabet.encode(" ")[0] if " " in alphabet.characters else None
        if tables is not None:
            self.ngram = CharNgram.from_tables(order, len(alphabet) + 1, tables)
            self.lexicon = Lexicon.from_tables(separator, tables)
            return
        lines = []
        for number, text in enumerate(self.corpus, start=1):
            try:
                lines.append(alphabet.encode(text))
            except ValueError as exc:
                raise ValueError(f"language model text, line {number}: {exc}") from None
        self.ngram = CharNgram(lines, order, len(alphabet) + 1)
        self.lexicon = Lexicon(lines, separator)

    def tables(self) -> dict[str, np.ndarray]:
        """The n-gram's counts and the lexicon's words as flat integer arrays, by name."""
        return {**self.ngram.tables(), **self.lexicon.tables()}

    def to_dict(self) -> dict[str, Any]:
        return {"order": self.order, "corpus": list(self.corpus), "search": asdict(self.settings)}

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], alphabet: Alphabet, tables: dict[str, np.ndarray] | None = None
    ) -> LanguageModel:
        settings = BeamSettings(**checked_fields(BeamSettings, data["search"], "language model search"))
        return cls([str(t) for t in data["corpus"]], int(data["order"]), alphabet, settings, tables)
