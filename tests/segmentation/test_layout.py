"""A segmented page as a new PAGE or ALTO file: valid against the official schemas, read back by
hwr's own reader line for line, columns as regions in reading order, confidences kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from hwr.data.layout import read_layout
from hwr.page_output import render_layout
from hwr.segmentation.layout import segmented_layout
from hwr.segmentation.lines import FoundLine
from hwr.segmentation.model import Segmentation
from tests.page_checks import ALTO_4, PAGE_2019, schema


def _line(x0: float, x1: float, y: float, confidence: float) -> FoundLine:
    baseline = np.array([[x0, y], [x1, y + 2]])
    polygon = np.array([[x0, y - 30], [x1, y - 28], [x1, y + 10], [x0, y + 8]])
    return FoundLine(baseline, polygon, confidence)


@pytest.fixture
def segmentation(tmp_path) -> Segmentation:
    image = tmp_path / "scans" / "page.png"
    image.parent.mkdir()
    image.write_bytes(b"")  # only its name is written
    main = [_line(100, 700, y, 0.9) for y in (100, 160, 220)]
    note = [_line(800, 980, 130, 0.42)]
    return Segmentation(image, (1000, 400), [*main, *note])


@pytest.mark.parametrize(("format", "namespace"), [("page", PAGE_2019), ("alto", ALTO_4)])
def test_a_segmented_page_is_a_valid_layout_that_reads_back_line_for_line(tmp_path, segmentation, format, namespace):
    target = tmp_path / "out" / "page.xml"
    layout = segmented_layout(segmentation, format, target)
    target.parent.mkdir()
    target.write_bytes(render_layout(layout))
    schema(namespace).assertValid(etree.parse(str(target)))
    again = read_layout(target)
    assert again.format == format and again.size == (1000, 400)
    assert again.image.resolve() == segmentation.image.resolve()  # named relative to the layout's folder
    assert [line.id for line in again.lines] == [f"hwr_line_{k}" for k in range(1, 5)]
    for ours, theirs in zip(segmentation.lines, again.lines):
        np.testing.assert_array_equal(np.round(ours.polygon), theirs.polygon)
        np.testing.assert_array_equal(np.round(ours.baseline), theirs.baseline)
    text = target.read_text()
    if format == "page":  # the note is a region of its own, after the main block
        root = etree.parse(str(target)).getroot()
        regions = root.findall(f".//{{{PAGE_2019}}}TextRegion")
        assert [len(region.findall(f"{{{PAGE_2019}}}TextLine")) for region in regions] == [3, 1]
        assert 'regionRef="hwr_region_2"' in text and 'conf="0.4200"' in text
    else:
        assert text.count("<TextBlock") == 2 and 'LABEL="0.4200"' in text and 'TAGREFS="hwr_line_4_confidence"' in text


def test_a_page_without_lines_is_a_valid_empty_layout(tmp_path, segmentation):
    empty = Segmentation(segmentation.image, segmentation.size, [])
    for format, namespace in (("page", PAGE_2019), ("alto", ALTO_4)):
        target = tmp_path / f"{format}.xml"
        target.write_bytes(render_layout(segmented_layout(empty, format, target)))
        schema(namespace).assertValid(etree.parse(str(target)))
        assert read_layout(target).lines == []


def test_the_image_is_named_relative_to_the_layout(tmp_path, segmentation):
    layout = segmented_layout(segmentation, "page", tmp_path / "deep" / "er" / "page.xml")
    assert layout.root.find(f"{{{PAGE_2019}}}Page").get("imageFilename") == "../../scans/page.png"
    assert Path(layout.image) == segmentation.image
