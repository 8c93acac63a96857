"""``hwr evaluate-segmentation`` on real pages: the scores and, with a recognizer, the page CERs of the
found lines and of the layout's own, in one report."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from cli.main import app
from hwr.api import load_model, load_segmenter
from hwr.segmentation.evaluation import evaluate_pages
from tests.shared_data import SHARED

PAGES = (
    sorted((SHARED / "cremma_mss19" / "pages" / "valid").glob("*.xml"))[:1]
    + sorted((SHARED / "testaments_de_poilus" / "pages" / "valid").glob("*.xml"))[:1]
)
pytestmark = pytest.mark.skipif(len(PAGES) < 2, reason="the shared page sets are not on this machine")


def test_a_report_with_a_recognizer_scores_and_reads_every_page():
    recognizer = load_model()
    recognizer.language_model = None
    report = evaluate_pages(load_segmenter(), PAGES, recognizer, regions=True, scale="auto")
    assert len(report.pages) == 2 and not report.problems
    for page in report.pages:
        assert 0.5 < page.baselines.f <= 1 and page.found > 0
        assert page.errors.chars == page.errors_of_layout.chars > page.errors_any_order.chars > 0  # + line breaks
        assert page.errors_of_layout.cer <= page.errors.cer + 0.5  # the found lines read nearly as well
        assert page.missed.char_edits + page.extra.char_edits <= page.errors_any_order.char_edits
    rows = "\n".join(report.rows())
    labels = ("baselines (cBAD)", "lines (IoU >= 0.5)", "reading order", "any order", "the layout's lines", "missed")
    for label in labels:
        assert label in rows


def test_evaluate_segmentation_prints_the_report_and_names_a_bad_page(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<PcGts>not a page")
    result = CliRunner().invoke(
        app, ["evaluate-segmentation", str(PAGES[0]), str(bad), "--text", "-m", "base", "--scale", "auto"]
    )
    assert "bad.xml" in result.output and result.exit_code == 1, result.output
    assert re.search(r"pages: 1 evaluated, 1 skipped", result.output)
    assert re.search(r"page CER, found lines, any order: \d+\.\d\d%", result.output)
