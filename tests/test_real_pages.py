"""Every real page we have, through every output: the test pages of the four shared page sets and the
full-resolution page samples, read by the default model and written as PAGE, ALTO, JSON and text
with glyphs, each output read back and checked (``tests/page_checks.py``; the script
``bench/check_real_pages.py`` runs the same checks over all pages of every split)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from hwr.api import load_model
from hwr.data.layout import read_layout
from tests.page_checks import problems_of, shared_pages, transcribe_to_every_format
from tests.shared_data import PAGE_SETS, SHARED

PAGES = shared_pages("test")
pytestmark = pytest.mark.skipif(not PAGES, reason="the shared page sets are not on this machine")


@pytest.fixture(scope="module")
def model():
    loaded = load_model()
    loaded.language_model = None  # greedy: the outputs' form is checked here, not their accuracy
    return loaded


def test_every_test_page_of_the_four_sets_and_the_samples_is_here():
    if not all((SHARED / name / "pages").is_dir() for name in PAGE_SETS):
        pytest.skip("not every shared page set is on this machine")
    assert len(PAGES) == 92 + 6


@pytest.mark.parametrize("xml", PAGES, ids=[f"{p.parents[2].name}/{p.stem}" for p in PAGES])
def test_a_real_page_reads_into_every_format_and_back(model, xml, tmp_path):
    reading, outputs = transcribe_to_every_format(model, xml)
    assert reading.lines, "a test page has lines"
    assert problems_of(reading, outputs, tmp_path) == []


@pytest.mark.parametrize("name", PAGE_SETS)
def test_the_command_writes_a_page_of_each_set_in_every_format(model, name, tmp_path):
    """hwr transcribe --glyphs on the first test page of each set: the files the library checks above."""
    (xml,) = [p for p in PAGES if SHARED / name in p.parents][:1]
    texts = {}
    for format in ("page", "alto", "json", "text"):
        out = tmp_path / format
        result = CliRunner().invoke(app, ["transcribe", str(xml), "-f", format, "--glyphs", "--no-lm", "-o", str(out)])
        assert result.exit_code == 0, result.output
        (written,) = out.iterdir()
        if format == "json":
            texts[format] = [line["text"] for line in json.loads(written.read_text(encoding="utf-8"))["lines"]]
        elif format == "text":
            texts[format] = written.read_text(encoding="utf-8").splitlines()
        else:
            texts[format] = [line.text or "" for line in read_layout(written).lines]
    assert texts["page"] == texts["alto"] == texts["json"] == texts["text"] and any(texts["text"])


def long_line_page(folder: Path, width: int = 20_000) -> Path:
    """A page holding one line ``width`` pixels long, of real Copiste d'un jour test lines side by side
    (each 80 pixels high), and beside it a line given by 2 points and one of 2 points on one row; its PAGE-XML."""
    import cv2
    import numpy as np

    from hwr.data.images import read_gray
    from hwr.data.readers import read_lines

    parts, total = [], 0
    for line in read_lines(SHARED / "copiste_dun_jour/lines.tsv", "test").lines:
        gray = read_gray(line.image)
        parts.append(cv2.resize(gray, (round(gray.shape[1] * 80 / gray.shape[0]), 80)))
        total += parts[-1].shape[1]
        if total >= width:
            break
    page = np.full((400, width + 40), 235, np.uint8)
    page[20:100, 20 : width + 20] = np.hstack(parts)[:, :width]
    page[200:280, 20 : 20 + min(1000, parts[1].shape[1])] = parts[1][:, :1000]
    cv2.imwrite(str(folder / "long.png"), page)
    lines = (
        f'<TextLine id="long"><Coords points="20,20 {width + 20},20 {width + 20},100 20,100"/></TextLine>'
        '<TextLine id="corners"><Coords points="20,200 1020,280"/></TextLine>'
        '<TextLine id="flat"><Coords points="20,300 1020,300"/></TextLine>'
    )
    (folder / "long.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">'
        "<Metadata><Creator>tests</Creator><Created>2026-12-07T00:00:00</Created>"
        "<LastChange>2026-12-07T00:00:00</LastChange></Metadata>"
        f'<Page imageFilename="long.png" imageWidth="{width + 40}" imageHeight="400">'
        f'<TextRegion id="r"><Coords points="0,0 {width + 40},0 {width + 40},400 0,400"/>{lines}</TextRegion>'
        "</Page></PcGts>\n",
        encoding="utf-8",
    )
    return folder / "long.xml"


def test_a_line_20000_pixels_long_reads_into_every_format(model, tmp_path):
    """Its reading has hundreds of characters (64 and more once crashed every page output); a line
    given by two corners is read as their box, one of two points on a row is skipped with a warning."""
    xml = long_line_page(tmp_path)
    reading, outputs = transcribe_to_every_format(model, xml)
    assert [line.line.id for line in reading.lines] == ["long", "corners"]
    assert len(reading.lines[0].transcription.text) >= 400 and reading.lines[1].transcription.text
    assert len(reading.lines[0].transcription.characters) == len(reading.lines[0].transcription.text)
    assert problems_of(reading, outputs, tmp_path) == []
    for format in ("json", "page", "alto"):
        result = CliRunner().invoke(
            app, ["transcribe", str(xml), "-f", format, "--glyphs", "--no-lm", "-o", str(tmp_path / format)]
        )
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
        assert "line 'flat': 1 points" in result.output or "line 'flat': 2 points, a polygon" in result.output


def test_the_copiste_line_that_crashed_json_output_reads(tmp_path):
    line = SHARED / "copiste_dun_jour/lines/imp_wikitexte_0024__eSc_line_74c3f694.jpg"
    if not line.is_file():
        pytest.skip("the shared Copiste d'un jour lines are not on this machine")
    result = CliRunner().invoke(app, ["transcribe", str(line), "-f", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert len(row["characters"]) == len(row["text"]) >= 64
