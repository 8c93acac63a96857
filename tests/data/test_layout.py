"""Page layouts (PAGE-XML, ALTO), cutting and masking lines with their polygons; the Hooker recipe's masking script."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from hwr.data.images import read_gray
from hwr.data.layout import cut_line, mask_outside, read_layout
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


ALTO = """<?xml version="1.0" encoding="UTF-8"?>
<alto xmlns="http://www.loc.gov/standards/alto/ns-v{version}#">
  <Description><MeasurementUnit>pixel</MeasurementUnit>
    <sourceImageInformation><fileName>p.jpg</fileName></sourceImageInformation></Description>
  <Layout><Page WIDTH="100" HEIGHT="80" ID="p1"><PrintSpace>
    <TextBlock ID="b1">
      <TextLine ID="l1" HPOS="10" VPOS="5" WIDTH="80" HEIGHT="15" BASELINE="10 18 90 18">
        <Shape><Polygon POINTS="10 5 90 5 90 20 10 20"/></Shape>
        <String CONTENT="one"/><SP/><String CONTENT="two"/>
      </TextLine>
      <TextLine ID="l2" HPOS="10" VPOS="30" WIDTH="80" HEIGHT="15" BASELINE="44"><String CONTENT="three"/></TextLine>
      <TextLine ID="l3" HPOS="150" VPOS="30" WIDTH="80" HEIGHT="15"><String CONTENT="off the page"/></TextLine>
    </TextBlock>
  </PrintSpace></Page></Layout>
</alto>
"""


@pytest.mark.parametrize("year", ["2013-07-15", "2019-07-15"])
def test_page_lines_come_with_polygon_text_and_image_whatever_the_schema_year(tmp_path, year):
    (tmp_path / "p.xml").write_text(PAGE.replace("2013-07-15", year), encoding="utf-8")
    layout = read_layout(tmp_path / "p.xml")
    assert layout.format == "page" and layout.image == tmp_path / "p.jpg" and layout.size == (100, 80)
    assert [line.id for line in layout.lines] == ["r1l1", "r1l2"]
    assert layout.lines[0].polygon.tolist() == [[10, 5], [90, 5], [90, 20], [10, 20]]
    assert layout.lines[1].polygon.tolist() == [[10, 30], [90, 31], [50, 45]]  # fractional points are rounded
    assert [line.text for line in layout.lines] == ["one", None]
    assert read_layout(tmp_path / "p.xml", image=tmp_path / "q.png").image == tmp_path / "q.png"


@pytest.mark.parametrize("version", [2, 3, 4])
def test_alto_lines_join_their_strings_and_fall_back_to_their_box(tmp_path, version):
    (tmp_path / "a.xml").write_text(ALTO.format(version=version), encoding="utf-8")
    layout = read_layout(tmp_path / "a.xml")
    assert layout.format == "alto" and layout.image == tmp_path / "p.jpg" and layout.size == (100, 80)
    assert [(line.id, line.text) for line in layout.lines] == [("l1", "one two"), ("l2", "three")]
    assert layout.lines[0].baseline.tolist() == [[10, 18], [90, 18]] and layout.lines[1].baseline is None
    assert layout.lines[1].polygon.tolist() == [[10, 30], [90, 30], [90, 45], [10, 45]]  # its box
    assert layout.problems == [f"{tmp_path / 'a.xml'}: line 'l3': mostly outside the 100x80 page; skipped"]


def test_page_regions_follow_the_reading_order(tmp_path):
    page = PAGE.replace(
        '<TextRegion id="r1">',
        '<ReadingOrder><OrderedGroup id="g"><RegionRefIndexed index="1" regionRef="r1"/>'
        '<RegionRefIndexed index="0" regionRef="r2"/></OrderedGroup></ReadingOrder>'
        '<TextRegion id="r2"><TextLine id="r2l1"><Coords points="1,1 9,1 9,9"/></TextLine></TextRegion>'
        '<TextRegion id="r1">',
    )
    (tmp_path / "p.xml").write_text(page, encoding="utf-8")
    assert [line.id for line in read_layout(tmp_path / "p.xml").lines] == ["r2l1", "r1l1", "r1l2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<PcGts><Page>", "not well-formed XML"),
        ("<PcGts/>", "not a PAGE-XML or ALTO file .root 'PcGts' in namespace 'none'"),
        ('<alto xmlns="http://www.loc.gov/standards/alto/ns-v9#"/>', "not a PAGE-XML or ALTO file"),
        ('<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"/>', "without a Page"),
        ('<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#"/>', "no sourceImageInformation/fileName"),
        (
            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            "<PcGts>&lol2;</PcGts>",
            "refused: it declares a DTD or entities",
        ),
        ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><PcGts>&e;</PcGts>', "refused"),
    ],
)
def test_unusable_layout_files_are_refused_naming_the_file(tmp_path, text, message):
    (tmp_path / "bad.xml").write_text(text, encoding="utf-8")
    with pytest.raises(PageXmlError, match=message) as error:
        read_layout(tmp_path / "bad.xml")
    assert str(error.value).startswith(str(tmp_path / "bad.xml"))


def test_unusable_lines_are_skipped_and_described(tmp_path):
    page = PAGE.replace('points="10,30 90,30.6 50,45"', 'points="10,30 90,31"').replace(
        'points="10,5 90,5 90,20 10,20"', 'points="1,2 x,4"'
    )
    (tmp_path / "p.xml").write_text(page, encoding="utf-8")
    layout = read_layout(tmp_path / "p.xml")
    assert layout.lines == []
    assert layout.problems == [
        f"{tmp_path / 'p.xml'}: line 'r1l1': no readable Coords points; skipped",
        f"{tmp_path / 'p.xml'}: line 'r1l2': 2 points, a polygon needs 3; skipped",
    ]


def test_a_missing_layout_file_is_refused_naming_it(tmp_path):
    with pytest.raises(PageXmlError, match="missing.xml: cannot read it"):
        read_layout(tmp_path / "missing.xml")


def test_cut_line_crops_the_polygon_box_clipped_to_the_page_and_masks_it():
    page = np.full((80, 100), 200, np.uint8)
    page[:, ::3] = 20
    polygon = np.array([[10, 5], [90, 5], [90, 20], [10, 20]])
    line = cut_line(page, polygon, grow=2)
    assert line.shape == (16, 81) and (line == page[5:21, 10:91]).all()
    edge = cut_line(page, np.array([[-5, 70], [120, 70], [120, 90], [-5, 90]]), grow=0)
    assert edge.shape == (10, 100)
    assert (cut_line(page, np.array([[10, 5], [90, 5], [10, 40]]), grow=0)[30, 70:] == 200).all()


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


@needs_hooker
def test_hooker_lines_masked_through_the_layout_reader_are_those_of_before(tmp_path):
    # SHA-256 of the masked pixels of the WebP crops re-cut from the source pages (shared data of
    # 2026-12; the JPEG crops before gave 61bc1f64..., 2ad1811a..., e82b5874...).
    before = ["90d6b32974526add", "eb6cf6e192a12361", "2806b10082318957"]
    lines = read_lines(masked_hooker_lines(tmp_path, "test", 3)).lines
    assert [hashlib.sha256(read_gray(line.image).tobytes()).hexdigest()[:16] for line in lines] == before
    # The same pixels through a second path: the polygon read from the PAGE-XML by plain ElementTree.
    table = read_lines(HOOKER_MANIFEST, "test").lines[:3]
    rows = {row["id"]: row for row in csv.DictReader(HOOKER_MANIFEST.open(encoding="utf-8"), delimiter="\t")}
    for original, masked in zip(table, lines):
        row = rows[original.id]
        root = ET.parse(HOOKER_MANIFEST.parent / "page_xml" / f"{row['page']}.xml").getroot()
        (coords,) = [e.find("{*}Coords") for e in root.iter() if e.get("id") == original.id.partition("__")[2]]
        xy = [round(float(v)) for v in coords.get("points").replace(",", " ").split()]
        polygon = np.array(xy, np.int32).reshape(-1, 2) - [int(row["x"]), int(row["y"])]
        assert (mask_outside(read_gray(original.image), polygon) == read_gray(masked.image)).all()


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
    with pytest.raises(PageXmlError, match=r"p\.xml: no usable TextLine 'r9l9' for line p__r9l9"):
        mask_script().mask_lines(tmp_path / "data", tmp_path / "out")
    run = subprocess.run(
        [sys.executable, str(MASK_SCRIPT), str(tmp_path / "data"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "error:" in run.stderr and "no usable TextLine 'r9l9'" in run.stderr
    assert not (tmp_path / "out/lines.tsv").exists()  # no manifest that looks complete


def test_a_missing_line_image_or_manifest_stops_the_script_naming_the_file(tmp_path):
    one_line_data_set(tmp_path / "data", "r1l1")
    (tmp_path / "data/lines/p__x.png").unlink()
    for data, named in (("data", "p__x.png"), ("nowhere", "nowhere/lines.tsv")):
        command = [sys.executable, str(MASK_SCRIPT), str(tmp_path / data), str(tmp_path / "out")]
        run = subprocess.run(command, capture_output=True, text=True)
        assert run.returncode == 1 and "error:" in run.stderr and named in run.stderr, run.stderr
    assert not (tmp_path / "out/lines.tsv").exists()
