"""Character and word error rates, as PyLaia and kraken report them.

CER = total character edits / total reference characters over the whole set (not
a mean of per-line rates); WER likewise on words. Texts are compared after one
normalisation, :func:`normalize`: Unicode NFC and whitespace runs collapsed to one
space with the ends stripped. Case and punctuation are kept.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import editdistance


def normalize(text: str) -> str:
    """NFC, whitespace runs -> one space, no leading or trailing space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class ErrorCounts:
    """Edits and reference lengths, summed; add them up over lines."""

    char_edits: int = 0
    chars: int = 0
    word_edits: int = 0
    words: int = 0

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(
            self.char_edits + other.char_edits,
            self.chars + other.chars,
            self.word_edits + other.word_edits,
            self.words + other.words,
        )

    @property
    def cer(self) -> float:
        return self.char_edits / self.chars if self.chars else float(self.char_edits > 0)

    @property
    def wer(self) -> float:
        return self.word_edits / self.words if self.words else float(self.word_edits > 0)


def line_errors(reference: str, hypothesis: str) -> ErrorCounts:
    """Edit counts of one line, after :func:`normalize`."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    ref_words, hyp_words = ref.split(), hyp.split()
    return ErrorCounts(
        char_edits=editdistance.eval(ref, hyp),
        chars=len(ref),
        word_edits=editdistance.eval(ref_words, hyp_words),
        words=len(ref_words),
    )


def error_rates(references: list[str], hypotheses: list[str]) -> ErrorCounts:
    """Summed edit counts over a set of lines (``.cer`` and ``.wer`` give the rates)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    total = ErrorCounts()
    for ref, hyp in zip(references, hypotheses):
        total = total + line_errors(ref, hyp)
    return total
