"""PAGE-XML line polygons and masking a crop with its polygon; the Hooker recipe's masking script."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from hwr.data.images import read_gray
from hwr.data.page_xml import line_polygons, mask_outside
from hwr.data.readers import read_lines
from hwr.errors import PageXmlError
from tests.shared_data import HOOKER_MANIFEST, MASK_SCRIPT, mask_script, masked_hooker_lines, needs_hooker

PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15">
  <Page imageFilename="p.jpg" imageWidth="100" imageHeight="80">
    <TextRegion id="r1"><Coords points="0,0 99,0 99,79 0,79"/>
      <TextLine id="r1l1"><Coords points="10,5 90,5 90,20 10,20"/><TextEquiv><Unicode>one</Unicode></TextEquiv></TextLine>
      <TextLine id="r1l2"><Coords points="10,30 90,30.6 50,45"/></TextLine>
    </TextRegion>
  </Page>
</PcGts>
"""


def test_line_polygons_reads_every_text_line_whatever_the_namespace(tmp_path):
    (tmp_path / "p.xml").write_text(PAGE, encoding="utf-8")
    polygons = line_polygons(tmp_path / "p.xml")
    assert list(polygons) == ["r1l1", "r1l2"]
    assert polygons["r1l1"].tolist() == [[10, 5], [90, 5], [90, 20], [10, 20]]
    assert polygons["r1l2"].tolist() == [[10, 30], [90, 31], [50, 45]]  # fractional points are rounded


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<PcGts><Page>", "can't read it as XML"),
        ('<PcGts><TextLine id="l1"/></PcGts>', "TextLine 'l1' has no readable Coords"),
        ('<PcGts><TextLine id="l1"><Coords points="1,2 x,4"/></TextLine></PcGts>', "no readable Coords"),
        ('<PcGts><TextLine id="l1"><Coords points="1,2 3,4"/></TextLine></PcGts>', "at least 3 points"),
    ],
)
def test_unusable_page_xml_is_refused_naming_the_file(tmp_path, text, message):
    (tmp_path / "bad.xml").write_text(text, encoding="utf-8")
    with pytest.raises(PageXmlError, match=message) as error:
        line_polygons(tmp_path / "bad.xml")
    assert str(tmp_path / "bad.xml") in str(error.value)


def test_missing_page_xml_is_refused_naming_the_file(tmp_path):
    with pytest.raises(PageXmlError, match="missing.xml"):
        line_polygons(tmp_path / "missing.xml")


def test_mask_outside_keeps_the_grown_polygon_and_paints_the_rest_with_the_paper():
    crop = np.full((40, 60), 200, np.uint8)
    crop[:, ::3] = 20  # ink strokes everywhere, the neighbours' included
    polygon = np.array([[10, 10], [49, 10], [49, 29], [10, 29]])
    masked = mask_outside(crop, polygon, grow=3)
    assert (masked[10:30, 10:50] == crop[10:30, 10:50]).all()  # the line itself
    assert (masked[7:33, 10:50] == crop[7:33, 10:50]).all()  # grown by 3 pixels on each side
    assert (masked[10:30, 7:53] == crop[10:30, 7:53]).all()
    assert (masked[:6] == 200).all() and (masked[34:] == 200).all()  # the paper's tone beyond
    assert (masked[:, :6] == 200).all() and (masked[:, 54:] == 200).all()
    assert (mask_outside(crop, polygon, grow=0)[9, 10:50] == 200).all()


@needs_hooker
def test_the_recipe_masks_hooker_lines_into_a_manifest_hwr_reads(tmp_path):
    manifest = masked_hooker_lines(tmp_path, "test", 3)
    original = read_lines(HOOKER_MANIFEST, "test").lines[:3]
    masked = read_lines(manifest, "test")
    assert not masked.problems
    assert [(line.id, line.text) for line in masked.lines] == [(line.id, line.text) for line in original]
    for before, after in zip(original, masked.lines):
        crop, kept = read_gray(before.image), read_gray(after.image)
        assert kept.shape == crop.shape and after.image.suffix == ".png"
        changed = kept != crop
        assert 0 < changed.mean() < 0.9  # the neighbours are gone, the line is not
        assert (kept[changed] == np.percentile(crop, 90).astype(np.uint8)).all()


def one_line_data_set(folder, line_id):
    """A data set in the Hooker layout: one 30x100 crop at (10, 5) of page p, and p's PAGE-XML."""
    (folder / "lines").mkdir(parents=True)
    (folder / "page_xml").mkdir()
    crop = np.full((30, 100), 220, np.uint8)
    crop[:, ::3] = 20  # ink strokes everywhere
    cv2.imwrite(str(folder / "lines" / "p__x.png"), crop)
    (folder / "page_xml" / "p.xml").write_text(PAGE, encoding="utf-8")
    (folder / "lines.tsv").write_text(
        f"id\tsplit\timage\tpage\tx\ty\tw\th\ttext\np__{line_id}\ttest\tlines/p__x.png\tp\t10\t5\t100\t30\tone\n",
        encoding="utf-8",
    )


def test_the_recipe_moves_the_page_polygon_onto_the_crop(tmp_path):
    one_line_data_set(tmp_path / "data", "r1l1")
    manifest = mask_script().mask_lines(tmp_path / "data", tmp_path / "out")
    (line,) = read_lines(manifest).lines
    assert line.text == "one" and line.image == tmp_path / "out/lines/p__r1l1.png"
    masked = read_gray(line.image)
    assert masked.shape == (30, 100)
    # r1l1 is (10..90, 5..20) on the page, so (0..80, 0..15) on the crop, grown by 8 pixels.
    assert (masked[:24, 0:81:3] == 20).all() and (masked[:16, 0:89:3] == 20).all()
    assert (masked[25:, ::3] == 220).all() and (masked[:, 90::3] == 220).all()


def test_a_line_missing_from_its_page_xml_stops_the_recipe_naming_both(tmp_path):
    one_line_data_set(tmp_path / "data", "r9l9")
    with pytest.raises(PageXmlError, match=r"p\.xml: no TextLine 'r9l9' for line p__r9l9"):
        mask_script().mask_lines(tmp_path / "data", tmp_path / "out")
    run = subprocess.run(
        [sys.executable, str(MASK_SCRIPT), str(tmp_path / "data"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "error:" in run.stderr and "no TextLine 'r9l9'" in run.stderr
    assert not (tmp_path / "out/lines.tsv").exists()  # no manifest that looks complete


def test_a_missing_line_image_or_manifest_stops_the_script_naming_the_file(tmp_path):
    one_line_data_set(tmp_path / "data", "r1l1")
    (tmp_path / "data/lines/p__x.png").unlink()
    for data, named in (("data", "p__x.png"), ("nowhere", "nowhere/lines.tsv")):
        command = [sys.executable, str(MASK_SCRIPT), str(tmp_path / data), str(tmp_path / "out")]
        run = subprocess.run(command, capture_output=True, text=True)
        assert run.returncode == 1 and "error:" in run.stderr and named in run.stderr, run.stderr
    assert not (tmp_path / "out/lines.tsv").exists()
