"""The shipped default model: it loads, and scores on real Hooker lines what its card says."""

from __future__ import annotations

import re

import pytest

from hwr.data.readers import read_lines
from hwr.errors import ModelFileError
from hwr.evaluation import evaluate
from hwr.model_file import load_model
from hwr.shipped import resolve_model, shipped_models, summary
from tests.shared_data import masked_hooker_lines, needs_hooker

DEFAULT_MODEL = resolve_model()
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


def test_shipped_models_are_found_by_name_with_a_summary(tmp_path):
    assert resolve_model("joseph_hooker") == DEFAULT_MODEL == shipped_models()["joseph_hooker"]
    assert summary("joseph_hooker").startswith("The default model of `hwr transcribe`")
    assert resolve_model(tmp_path) == tmp_path  # a path that exists is taken as given
    with pytest.raises(
        ModelFileError, match=r"hooker: no such model file, nor a shipped model's name \(shipped: joseph_hooker\)"
    ):
        resolve_model("hooker")


@needs_hooker
def test_shipped_model_scores_what_its_card_says_on_50_test_lines(tmp_path):
    lines = read_lines(masked_hooker_lines(tmp_path, "test", CHECK_LINES), "test")  # masked, as trained
    result = evaluate(load_model(DEFAULT_MODEL), lines)
    assert len(result.report) == CHECK_LINES and not result.problems
    assert abs(result.totals.cer - card_check_cer()) <= TOLERANCE, result.totals.cer
