"""Evaluating a model on a line set: CER/WER totals and a per-line report (see :mod:`hwr.metrics`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hwr.data.readers import Line, LineSet
from hwr.metrics import ErrorCounts, line_errors
from hwr.model_file import Model
from hwr.recognizer import transcribe_files


@dataclass
class Evaluation:
    totals: ErrorCounts
    report: pd.DataFrame
    """One row per evaluated line: id, image, reference, hypothesis, confidence, edit counts, cer."""
    problems: list[str]
    """Lines that could not be evaluated (unreadable rows or images)."""
    unknown: Counter[str]
    """Reference characters outside the model's alphabet (each one is an error)."""


def evaluate(
    model: Model, lines: LineSet, batch_size: int = 16, progress: Callable[[int], None] | None = None
) -> Evaluation:
    """Transcribe and score ``lines``; ``progress(1)`` is called as each image is read."""
    items = list(dict.fromkeys(_item(line) for line in lines.lines))  # each image read once
    transcriptions, problems = transcribe_files(model, items, batch_size, progress)
    rows, totals = [], ErrorCounts()
    for line in lines.lines:
        result = transcriptions.get(_item(line))
        if result is None:
            continue
        counts = line_errors(line.text, result.text)
        totals = totals + counts
        rows.append(
            {
                "id": line.id,
                "image": str(line.image),
                "reference": line.text,
                "hypothesis": result.text,
                "confidence": round(result.confidence, 4),
                "char_edits": counts.char_edits,
                "chars": counts.chars,
                "word_edits": counts.word_edits,
                "words": counts.words,
                "cer": round(counts.cer, 4),
            }
        )
    unknown = model.alphabet.unknown(line.text for line in lines.lines)
    return Evaluation(totals, pd.DataFrame(rows), list(lines.problems) + problems, unknown)


def _item(line: Line) -> Line | Path:
    """What is read for ``line``: its image file, or the line itself where it is cut from a page."""
    return line if line.polygon is not None else line.image
