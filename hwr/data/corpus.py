"""Plain text for a language model: a user's own texts (editions, letters, word lists) beside the
transcriptions of the training lines, which are few and short for counting a language."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hwr.errors import DatasetError


def read_corpus(paths: Iterable[str | Path]) -> list[str]:
    """The lines of UTF-8 text files, whitespace collapsed to single spaces; empty lines are left out."""
    texts: list[str] = []
    for path in map(Path, paths):
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: cannot read text ({getattr(exc, 'strerror', None) or exc})") from None
        texts.extend(" ".join(line.split()) for line in content.splitlines() if line.strip())
    return texts
