"""A model file's language model: the n-gram and lexicon, the text they come from, and the search settings.

The model file stores the counted text itself (a few hundred kilobytes at most for a
training set's transcriptions) rather than the counts: the n-gram is rebuilt in well
under a second at load time (the lexicon too), and the file stays plain JSON that executes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from hwr.data.alphabet import Alphabet
from hwr.decoders.beam import BeamSettings
from hwr.decoders.lexicon import Lexicon
from hwr.decoders.ngram import CharNgram
from hwr.settings import checked_fields


class LanguageModel:
    """A character n-gram of ``order`` and a lexicon from ``corpus``, with the beam search ``settings`` to use them."""

    def __init__(self, corpus: Sequence[str], order: int, alphabet: Alphabet, settings: BeamSettings) -> None:
        self.corpus = tuple(corpus)
        self.order = order
        self.settings = settings
        lines = []
        for number, text in enumerate(self.corpus, start=1):
            try:
                lines.append(alphabet.encode(text))
            except ValueError as exc:
                raise ValueError(f"language model text, line {number}: {exc}") from None
        self.ngram = CharNgram(lines, order, len(alphabet) + 1)
        self.lexicon = Lexicon(lines, alphabet.encode(" ")[0] if " " in alphabet.characters else None)

    def to_dict(self) -> dict[str, Any]:
        return {"order": self.order, "corpus": list(self.corpus), "search": asdict(self.settings)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], alphabet: Alphabet) -> LanguageModel:
        settings = BeamSettings(**checked_fields(BeamSettings, data["search"], "language model search"))
        return cls([str(t) for t in data["corpus"]], int(data["order"]), alphabet, settings)
