"""The shipped default model: it loads, and scores on real Hooker lines what its card says."""

from __future__ import annotations

import re

from hwr.data.readers import read_lines
from hwr.evaluation import evaluate
from hwr.model_file import load_model
from hwr.shipped import DEFAULT_MODEL
from tests.shared_data import masked_hooker_lines, needs_hooker

CARD = DEFAULT_MODEL.with_suffix(".md")
CHECK_LINES = 50
TOLERANCE = 0.02
"""CER points (as a fraction) the check may differ from the card: thread counts and CPUs
change float rounding, never more than a few characters."""


def card_check_cer() -> float:
    match = re.search(rf"first {CHECK_LINES} test lines[^\n]*?CER \*\*([\d.]+)%\*\*", CARD.read_text())
    assert match, f"{CARD} does not state the CER on the first {CHECK_LINES} test lines"
    return float(match.group(1)) / 100


def test_default_model_is_shipped_with_its_card():
    model = load_model(DEFAULT_MODEL)
    assert len(model.alphabet) > 70  # the Hooker character set, not a toy alphabet
    assert 0 < card_check_cer() < 1


@needs_hooker
def test_shipped_model_scores_what_its_card_says_on_50_test_lines(tmp_path):
    lines = read_lines(masked_hooker_lines(tmp_path, "test", CHECK_LINES), "test")  # masked, as trained
    result = evaluate(load_model(DEFAULT_MODEL), lines)
    assert len(result.report) == CHECK_LINES and not result.problems
    assert abs(result.totals.cer - card_check_cer()) <= TOLERANCE, result.totals.cer
