"""Checks of the files hwr writes for a page, shared by the tests and ``bench/check_real_pages.py``.

Each output is read back by hwr's own reader and must hold one line per line read, with the same
ids and the text of the text output, geometry on the page, words and glyphs inside their line;
PAGE 2019 and ALTO v4 files must validate against their official schemas (``tests/schemas``),
with lxml, which only the tests and this check need.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
from lxml import etree

from hwr.data.layout import read_layout
from hwr.model_file import Model
from hwr.page_output import render
from hwr.pages import PageReading, read_page
from tests.shared_data import PAGE_SETS, SHARED

SCHEMAS = Path(__file__).with_name("schemas")
FORMATS = ("page", "alto", "json", "text")
PAGE_2019 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO_4 = "http://www.loc.gov/standards/alto/ns-v4#"


def shared_pages(split: str | None = "test") -> list[Path]:
    """The layout files of the shared page sets (one split, or all), then the page samples."""
    pattern = f"{split}/*.xml" if split else "*/*.xml"
    sets = [sorted((SHARED / name / "pages").glob(pattern)) for name in PAGE_SETS]
    return [path for found in sets for path in found] + sorted((SHARED / "page_samples").glob("*/*.xml"))


class _LocalSchemas(etree.Resolver):
    """The schemas' imports (ALTO's of XLink) from ``tests/schemas``: nothing is downloaded."""

    def resolve(self, url, public_id, context):
        local = SCHEMAS / Path(url).name
        return self.resolve_filename(str(local), context) if local.is_file() else None


@cache
def schema(namespace: str) -> etree.XMLSchema | None:
    """The official schema of ``namespace`` (PAGE 2019, ALTO v4), None for others."""
    name = {PAGE_2019: "pagecontent-2019-07-15.xsd", ALTO_4: "alto-4-4.xsd"}.get(namespace)
    if name is None:
        return None
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalSchemas())
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name), parser))


def transcribe_to_every_format(model: Model, xml: Path) -> tuple[PageReading, dict[str, bytes]]:
    """The page read once, written as PAGE, ALTO, JSON and text, with glyphs."""
    reading = read_page(model, xml)
    return reading, {format: render(reading, format, glyphs=True) for format in FORMATS}


def problems_of(reading: PageReading, outputs: dict[str, bytes], folder: Path) -> list[str]:
    """What is wrong with the page's ``outputs`` (nothing, if empty); XML files are written into ``folder``."""
    problems: list[str] = []
    ids = [line.line.id for line in reading.lines]
    texts = outputs["text"].decode().split("\n")[:-1]
    if texts != [line.transcription.text for line in reading.lines]:
        problems.append("text: not one line per line read, or not their readings")
    width, height = reading.size

    def on_page(name: str, xy: np.ndarray) -> None:
        if len(xy) and ((xy < 0).any() or (xy[:, 0] > width).any() or (xy[:, 1] > height).any()):
            problems.append(f"{name}: outside the {width}x{height} page")

    lines = json.loads(outputs["json"])["lines"]
    if [line["id"] for line in lines] != ids or [line["text"] for line in lines] != texts:
        problems.append("json: not the lines read, or not the text output")
    for line in lines:
        polygon = np.array(line["polygon"]).reshape(-1, 2)
        on_page(f"json line {line['id']} polygon", polygon)
        boxes = [word["box"] for word in line["words"]]
        boxes += [[c["x"], polygon[:, 1].min(), c["width"], 0] for c in line["characters"]]
        _inside(problems, f"json line {line['id']}", polygon, boxes)
    for format in ("page", "alto"):
        path = folder / f"{reading.layout.path.stem}.{format}.xml"
        path.write_bytes(outputs[format])
        again = read_layout(path)
        if again.format != format:
            problems.append(f"{format}: read back as {again.format}")
        if [line.id for line in again.lines] != ids or [line.text or "" for line in again.lines] != texts:
            problems.append(f"{format}: read back, not the lines read with the text output's texts")
        written_back = format == reading.layout.format
        for line, read in zip(again.lines, reading.lines):
            if not written_back:
                on_page(f"{format} line {line.id} polygon", line.polygon)
            elif not np.array_equal(line.polygon, read.line.polygon):  # its geometry is the file's own
                problems.append(f"{format}: line {line.id}: written back with another polygon")
        root = _parse(path)
        namespace = etree.QName(root).namespace
        checker = schema(namespace)
        # A file written back keeps what it had: it must be valid where the file read was.
        if checker is not None and (not written_back or checker.validate(_parse(reading.layout.path))):
            if not checker.validate(root):
                problems.append(f"{format}: invalid {namespace}: {checker.error_log.last_error}")
        if format == "alto":
            _alto_words_inside(problems, root, namespace)
    return problems


def _parse(path: Path) -> etree._Element:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()


def _inside(problems: list[str], name: str, polygon: np.ndarray, boxes: list) -> None:
    """Each (x, y, w, h) of ``boxes`` within the bounding box of ``polygon``, a pixel's rounding allowed."""
    (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
    for x, y, w, h in boxes:
        if x < x0 - 1 or y < y0 - 1 or x + w > x1 + 1 or y + h > y1 + 1:
            problems.append(f"{name}: box {(x, y, w, h)} outside its line's {(x0, y0, x1 - x0, y1 - y0)}")
            return


def _alto_words_inside(problems: list[str], root: etree._Element, namespace: str) -> None:
    for line in root.iter(f"{{{namespace}}}TextLine"):
        polygon = line.find(f"{{{namespace}}}Shape/{{{namespace}}}Polygon")
        if polygon is not None:
            xy = np.array([float(v) for v in polygon.get("POINTS").replace(",", " ").split()]).reshape(-1, 2)
        else:
            x, y, w, h = (float(line.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
            xy = np.array([[x, y], [x + w, y + h]])
        boxes = [
            [float(e.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")]
            for e in line.iter(f"{{{namespace}}}String", f"{{{namespace}}}Glyph")
        ]
        _inside(problems, f"alto line {line.get('ID')}", xy, boxes)
