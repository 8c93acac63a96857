"""The shipped models: found by name, each with its card, and each scores on real Hooker lines
what its card says."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from hwr.data.readers import read_lines
from hwr.errors import ModelFileError
from hwr.evaluation import evaluate
from hwr.model_file import load_model, model_kind
from hwr.segmentation.model import load_segmenter
from hwr.shipped import DEFAULT_NAME, DEFAULT_SEGMENTER, resolve_model, shipped_models, summary
from tests.shared_data import masked_hooker_lines, needs_hooker

CHECK_LINES = 50
CHECK_SCALES = {"base": 0.74, "joseph_hooker": None}
"""The scale each shipped model's card check reads the masked Hooker lines at (None: the model's own)."""
TOLERANCE = 0.02
"""CER points (as a fraction) the check may differ from the card: thread counts and CPUs
change float rounding, never more than a few characters."""


def card_check_cer(name: str) -> float:
    card = shipped_models()[name].with_suffix(".md")
    match = re.search(rf"first {CHECK_LINES} [^\n]*?test lines[^\n]*?CER \*\*([\d.]+)%\*\*", card.read_text())
    assert match, f"{card} does not state the CER on the first {CHECK_LINES} test lines"
    return float(match.group(1)) / 100


def test_every_shipped_model_loads_and_has_a_card_with_its_check():
    kinds = {name: model_kind(path) for name, path in shipped_models().items()}
    assert kinds == {**{name: "recognition" for name in CHECK_SCALES}, DEFAULT_SEGMENTER: "segmentation"}
    for name in CHECK_SCALES:
        model = load_model(shipped_models()[name])
        assert len(model.alphabet) > 70 and model.language_model is not None, name
        assert 0 < card_check_cer(name) < 1
    segmenter = load_segmenter(shipped_models()[DEFAULT_SEGMENTER])
    assert segmenter.zooms == (1.0, 1.25) and summary(DEFAULT_SEGMENTER).startswith("hwr's line segmenter")


def test_shipped_models_are_found_by_name_with_a_summary(tmp_path):
    assert DEFAULT_NAME == "base" and resolve_model() == shipped_models()["base"]
    assert resolve_model("joseph_hooker") == shipped_models()["joseph_hooker"]
    assert summary("base").startswith("The default model of `hwr transcribe`")
    assert "Joseph Dalton Hooker" in summary("joseph_hooker")
    assert resolve_model(tmp_path) == tmp_path  # a path that exists is taken as given
    with pytest.raises(
        ModelFileError,
        match=r"hooker: no such model file, nor a shipped model's name \(shipped: base, joseph_hooker, segmenter\)",
    ):
        resolve_model("hooker")


@needs_hooker
@pytest.mark.parametrize("name", sorted(CHECK_SCALES))
def test_shipped_model_scores_what_its_card_says_on_50_test_lines(tmp_path, name):
    lines = read_lines(masked_hooker_lines(tmp_path, "test", CHECK_LINES), "test")  # masked, as trained
    model = load_model(shipped_models()[name])
    if CHECK_SCALES[name] is not None:
        model.preprocessing = replace(model.preprocessing, scale=CHECK_SCALES[name])
    result = evaluate(model, lines)
    assert len(result.report) == CHECK_LINES and not result.problems
    assert abs(result.totals.cer - card_check_cer(name)) <= TOLERANCE, result.totals.cer
