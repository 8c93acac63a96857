"""Page readings written out: back into their own PAGE-XML or ALTO file, as a new file of the
other format, or as JSON, TSV or plain text.

Written back, a file keeps everything but the recognised lines' text as it was (regions,
reading order, metadata, comments, other lines): PAGE gets each line's ``TextEquiv`` with
``@conf`` (the line's old ``TextEquiv``, ``Word`` and ``Glyph`` elements go, as they held
the old reading); ALTO gets a ``String`` per word with ``CONTENT``, ``WC`` and its box, and
``SP`` between (the old ``String``, ``SP`` and ``HYP`` elements go); with ``glyphs``, each
``String`` holds a ``Glyph`` per character with its ``GC``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from hwr.data.layout import PageLayout
from hwr.pages import LineReading, PageReading, Word
from hwr.recognizer import Transcription

Format = Literal["page", "alto", "json", "tsv", "text"]
SUFFIXES: dict[Format, str] = {"page": ".xml", "alto": ".xml", "json": ".json", "tsv": ".tsv", "text": ".txt"}
PAGE_2019 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO_4 = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE_AFTER_TEXT_EQUIV = ("TextStyle", "UserDefined", "Labels")
"""PAGE's TextLine children that come after its TextEquiv (schema order)."""


def output_path(
    source: Path, format: Format, folder: Path | None = None, in_place: bool = False, full_name: bool = False
) -> Path:
    """Where a page's readings go: over its layout ``source`` itself (``in_place``), into ``folder``
    under its name less its suffix (with it: ``full_name``), or beside it as ``NAME.hwr.xml``
    (``.json``, ...): never over the input unless asked."""
    if in_place:
        return source
    name = source.name if full_name or not source.suffix else source.name[: -len(source.suffix)]
    if folder is not None:
        return folder / (name + SUFFIXES[format])
    return source.with_name(name + ".hwr" + SUFFIXES[format])


def clashing(sources: Sequence[Path], folder: Path | None = None) -> set[Path]:
    """The ``sources`` whose outputs would share a name (``scan.jpg`` and ``scan.png`` into one
    folder): they keep their full names (:func:`output_path`'s ``full_name``), so none is lost."""
    keys: dict[tuple[Path, str], list[Path]] = {}
    for source in sources:
        key = (folder if folder is not None else source.parent, source.stem)
        keys.setdefault(key, []).append(source)
    return {source for group in keys.values() if len(group) > 1 for source in group}


def render(reading: PageReading, format: Format, glyphs: bool = False) -> bytes:
    """The page's readings as a file of ``format``: its own layout format is written back into
    the parsed file, the other as a new layout file."""
    if format == reading.layout.format:
        if format == "page":
            _update_page(reading)
        else:
            _update_alto(reading, glyphs)
        return render_layout(reading.layout)
    if format in ("page", "alto"):
        return _serialize(_converted(reading, format, glyphs))
    if format == "json":
        return (json.dumps(_as_json(reading), ensure_ascii=False, indent=1) + "\n").encode()
    if format == "tsv":
        rows = ["id\ttext\tconfidence"] + [
            f"{line.line.id}\t{_one_line(line.transcription.text)}\t{line.transcription.confidence:.4f}"
            for line in reading.lines
        ]
        return ("\n".join(rows) + "\n").encode()
    return "".join(f"{line.transcription.text}\n" for line in reading.lines).encode()


def render_layout(layout: PageLayout) -> bytes:
    """A layout file as it stands (one the segmenter made, with no readings yet)."""
    return _serialize(layout.root, None if layout.generated else layout.path.read_bytes())


def _one_line(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


def _as_json(reading: PageReading) -> dict:
    return {
        "layout": str(reading.layout.path),
        "image": str(reading.layout.image),
        "lines": [
            {
                "id": line.line.id,
                "text": line.transcription.text,
                "confidence": round(line.transcription.confidence, 4),
                "polygon": _clipped(line.line.polygon, reading.size).tolist(),
                "baseline": None if line.line.baseline is None else _clipped(line.line.baseline, reading.size).tolist(),
                "words": [
                    {"text": w.text, "box": list(w.box), "confidence": round(w.confidence, 4)} for w in line.words
                ],
                "characters": [character.to_dict() for character in line.transcription.characters],
            }
            for line in reading.lines
        ],
    }


def _namespace(element: ET.Element) -> str:
    return element.tag[1:].partition("}")[0] if element.tag.startswith("{") else ""


def _update_page(reading: PageReading) -> None:
    for line in reading.lines:
        element = line.line.element
        ns = _namespace(element)
        for child in list(element):
            if child.tag in (f"{{{ns}}}TextEquiv", f"{{{ns}}}Word", f"{{{ns}}}Glyph"):
                element.remove(child)
        after = [i for i, child in enumerate(element) if child.tag.rpartition("}")[2] in PAGE_AFTER_TEXT_EQUIV]
        element.insert(after[0] if after else len(element), _page_text_equiv(ns, line.transcription))


def _page_text_equiv(ns: str, transcription: Transcription) -> ET.Element:
    equiv = ET.Element(f"{{{ns}}}TextEquiv", {"conf": f"{transcription.confidence:.4f}"})
    ET.SubElement(equiv, f"{{{ns}}}Unicode").text = transcription.text
    return equiv


def _update_alto(reading: PageReading, glyphs: bool) -> None:
    for line in reading.lines:
        element = line.line.element
        ns = _namespace(element)
        for child in list(element):
            if child.tag.rpartition("}")[2] in ("String", "SP", "HYP"):
                element.remove(child)
        _alto_words(element, ns, line, glyphs, reading.size)


def _alto_words(element: ET.Element, ns: str, line: LineReading, glyphs: bool, size: tuple[int, int]) -> None:
    words = line.words or _whole_line(line, size)
    for k, word in enumerate(words):
        if k:
            previous = words[k - 1]
            gap = word.box[0] - (previous.box[0] + previous.box[2])
            space = {"HPOS": str(previous.box[0] + previous.box[2]), "VPOS": str(word.box[1])}
            ET.SubElement(element, f"{{{ns}}}SP", {**space, "WIDTH": str(max(gap, 0))})
        x, y, w, h = word.box
        attributes = {"CONTENT": word.text, "HPOS": str(x), "VPOS": str(y), "WIDTH": str(w), "HEIGHT": str(h)}
        string = ET.SubElement(element, f"{{{ns}}}String", {**attributes, "WC": f"{word.confidence:.4f}"})
        if glyphs:
            for c in word.characters:
                box = {"HPOS": str(c.start), "VPOS": str(y), "WIDTH": str(c.end - c.start), "HEIGHT": str(h)}
                ET.SubElement(string, f"{{{ns}}}Glyph", {"CONTENT": c.text, **box, "GC": f"{c.confidence:.4f}"})


def _whole_line(line: LineReading, size: tuple[int, int]) -> tuple[Word, ...]:
    """A line that could not be placed character by character, or reads nothing: one word over it
    (ALTO's TextLine holds at least one String)."""
    polygon = _clipped(line.line.polygon, size)
    (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
    box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
    return (Word(line.transcription.text, box, line.transcription.confidence, ()),)


def _clipped(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``points`` moved onto the page where a layout put them beyond its edges: hwr's own files
    hold only geometry on the page."""
    return np.clip(points, 0, size)


def _points(polygon: np.ndarray, separator: str) -> str:
    return " ".join(f"{x}{separator}{y}" for x, y in polygon.tolist())


@dataclass(frozen=True)
class NewLine:
    """A line of a new layout file, in page pixels (on the page)."""

    id: str
    polygon: np.ndarray
    baseline: np.ndarray | None = None
    confidence: float | None = None
    """How sure the segmenter that found it was: PAGE's ``@conf`` of its Coords and Baseline; in ALTO
    (whose lines have no confidence of their own), the ``LABEL`` of an ``OtherTag`` of ``TYPE``
    confidence that the line's ``TAGREFS`` names."""


def new_layout(
    format: Literal["page", "alto"], image_name: str, size: tuple[int, int], regions: Sequence[Sequence[NewLine]]
) -> tuple[ET.Element, list[ET.Element]]:
    """A new PAGE 2019 or ALTO v4 file of a page (``size``: width, height) whose ``regions`` (each its
    lines, in reading order) are read in this order: its root and each line's element, in order.
    ALTO lines get an empty String (its schema wants one), which a reading replaces."""
    build = _new_page if format == "page" else _new_alto
    return build(image_name, size, [list(region) for region in regions if region])


def _box_of(polygons: Sequence[np.ndarray]) -> tuple[int, int, int, int]:
    everything = np.concatenate(polygons) if polygons else np.zeros((1, 2))
    (x0, y0), (x1, y1) = everything.min(axis=0).astype(int), everything.max(axis=0).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def _new_page(
    image_name: str, size: tuple[int, int], regions: list[list[NewLine]]
) -> tuple[ET.Element, list[ET.Element]]:
    ns = PAGE_2019
    root = ET.Element(f"{{{ns}}}PcGts")
    metadata = ET.SubElement(root, f"{{{ns}}}Metadata")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for name, value in (("Creator", "hwr"), ("Created", now), ("LastChange", now)):
        ET.SubElement(metadata, f"{{{ns}}}{name}").text = value
    width, height = size
    page = ET.SubElement(
        root, f"{{{ns}}}Page", {"imageFilename": image_name, "imageWidth": str(width), "imageHeight": str(height)}
    )
    if len(regions) > 1:
        order = ET.SubElement(ET.SubElement(page, f"{{{ns}}}ReadingOrder"), f"{{{ns}}}OrderedGroup")
        order.set("id", "hwr_reading_order")
        for k in range(len(regions)):
            ET.SubElement(order, f"{{{ns}}}RegionRefIndexed", {"index": str(k), "regionRef": f"hwr_region_{k + 1}"})
    elements = []
    for k, lines in enumerate(regions or [[]]):
        region = ET.SubElement(page, f"{{{ns}}}TextRegion", {"id": f"hwr_region_{k + 1}"})
        x0, y0, x1, y1 = _box_of([_clipped(line.polygon, size) for line in lines])
        ET.SubElement(region, f"{{{ns}}}Coords", {"points": f"{x0},{y0} {x1},{y0} {x1},{y1} {x0},{y1}"})
        for line in lines:
            conf = {} if line.confidence is None else {"conf": f"{line.confidence:.4f}"}
            element = ET.SubElement(region, f"{{{ns}}}TextLine", {"id": line.id})
            ET.SubElement(element, f"{{{ns}}}Coords", {"points": _points(_clipped(line.polygon, size), ","), **conf})
            if line.baseline is not None:
                baseline = _points(_clipped(line.baseline, size), ",")
                ET.SubElement(element, f"{{{ns}}}Baseline", {"points": baseline, **conf})
            elements.append(element)
    return root, elements


def _new_alto(
    image_name: str, size: tuple[int, int], regions: list[list[NewLine]]
) -> tuple[ET.Element, list[ET.Element]]:
    ns = ALTO_4
    root = ET.Element(f"{{{ns}}}alto")
    description = ET.SubElement(root, f"{{{ns}}}Description")
    ET.SubElement(description, f"{{{ns}}}MeasurementUnit").text = "pixel"
    source = ET.SubElement(description, f"{{{ns}}}sourceImageInformation")
    ET.SubElement(source, f"{{{ns}}}fileName").text = image_name
    sure = [line for lines in regions for line in lines if line.confidence is not None]
    if sure:
        tags = ET.SubElement(root, f"{{{ns}}}Tags")
        for line in sure:
            ET.SubElement(
                tags,
                f"{{{ns}}}OtherTag",
                {"ID": f"{line.id}_confidence", "TYPE": "confidence", "LABEL": f"{line.confidence:.4f}"},
            )
    width, height = size
    layout = ET.SubElement(root, f"{{{ns}}}Layout")
    page = ET.SubElement(
        layout,
        f"{{{ns}}}Page",
        {"ID": "hwr_page_1", "PHYSICAL_IMG_NR": "1", "WIDTH": str(width), "HEIGHT": str(height)},
    )
    space = ET.SubElement(page, f"{{{ns}}}PrintSpace")
    elements = []
    for k, lines in enumerate(regions):
        x0, y0, x1, y1 = _box_of([_clipped(line.polygon, size) for line in lines])
        box = {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}
        block = ET.SubElement(space, f"{{{ns}}}TextBlock", {"ID": f"hwr_block_{k + 1}", **box})
        for line in lines:
            polygon = _clipped(line.polygon, size)
            (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
            box = {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}
            at = {"BASELINE": _points(_clipped(line.baseline, size), " ")} if line.baseline is not None else {}
            tag = {} if line.confidence is None else {"TAGREFS": f"{line.id}_confidence"}
            element = ET.SubElement(block, f"{{{ns}}}TextLine", {"ID": line.id, **box, **at, **tag})
            shape = ET.SubElement(element, f"{{{ns}}}Shape")
            ET.SubElement(shape, f"{{{ns}}}Polygon", {"POINTS": _points(polygon, " ")})
            ET.SubElement(element, f"{{{ns}}}String", {"CONTENT": "", **box})
            elements.append(element)
    return root, elements


def _converted(reading: PageReading, format: Literal["page", "alto"], glyphs: bool) -> ET.Element:
    """The page's readings as a new file of the other layout format: one region of its lines."""
    lines = [NewLine(line.line.id, line.line.polygon, line.line.baseline) for line in reading.lines]
    root, elements = new_layout(format, reading.layout.image.name, reading.size, [lines])
    for element, line in zip(elements, reading.lines):
        if format == "page":
            element.append(_page_text_equiv(PAGE_2019, line.transcription))
        else:
            element.remove(element.find(f"{{{ALTO_4}}}String"))
            _alto_words(element, ALTO_4, line, glyphs, reading.size)
    return root


def _serialize(root: ET.Element, original: bytes | None = None) -> bytes:
    """UTF-8 XML with a declaration; the namespace prefixes of ``original`` (the file read) are kept."""
    for prefix, uri in re.findall(rb'xmlns:([\w.-]+)="([^"]+)"', original or b""):
        ET.register_namespace(prefix.decode(), uri.decode())
    ET.register_namespace("", _namespace(root))  # the layout's own namespace, as the default one
    if not original:
        ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()
