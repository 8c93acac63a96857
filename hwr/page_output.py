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
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np

from hwr.pages import LineReading, PageReading, Word
from hwr.recognizer import Transcription

Format = Literal["page", "alto", "json", "tsv", "text"]
SUFFIXES: dict[Format, str] = {"page": ".xml", "alto": ".xml", "json": ".json", "tsv": ".tsv", "text": ".txt"}
PAGE_2019 = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO_4 = "http://www.loc.gov/standards/alto/ns-v4#"
PAGE_AFTER_TEXT_EQUIV = ("TextStyle", "UserDefined", "Labels")
"""PAGE's TextLine children that come after its TextEquiv (schema order)."""


def output_path(layout: Path, format: Format, folder: Path | None = None, in_place: bool = False) -> Path:
    """Where a page's readings go: over ``layout`` itself (``in_place``), into ``folder`` under its
    name, or beside it as ``NAME.hwr.xml`` (``.json``, ...): never over the input unless asked."""
    if in_place:
        return layout
    name = layout.name[: -len(layout.suffix)] if layout.suffix else layout.name
    if folder is not None:
        return folder / (name + SUFFIXES[format])
    return layout.with_name(name + ".hwr" + SUFFIXES[format])


def render(reading: PageReading, format: Format, glyphs: bool = False) -> bytes:
    """The page's readings as a file of ``format``: its own layout format is written back into
    the parsed file, the other as a new layout file."""
    if format == reading.layout.format:
        root = reading.layout.root
        if format == "page":
            _update_page(reading)
        else:
            _update_alto(reading, glyphs)
        return _serialize(root, reading.layout.path.read_bytes())
    if format == "page":
        return _serialize(_new_page(reading))
    if format == "alto":
        return _serialize(_new_alto(reading, glyphs))
    if format == "json":
        return (json.dumps(_as_json(reading), ensure_ascii=False, indent=1) + "\n").encode()
    if format == "tsv":
        rows = ["id\ttext\tconfidence"] + [
            f"{line.line.id}\t{_one_line(line.transcription.text)}\t{line.transcription.confidence:.4f}"
            for line in reading.lines
        ]
        return ("\n".join(rows) + "\n").encode()
    return "".join(f"{line.transcription.text}\n" for line in reading.lines).encode()


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


def _new_page(reading: PageReading) -> ET.Element:
    ns = PAGE_2019
    root = ET.Element(f"{{{ns}}}PcGts")
    metadata = ET.SubElement(root, f"{{{ns}}}Metadata")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for name, value in (("Creator", "hwr"), ("Created", now), ("LastChange", now)):
        ET.SubElement(metadata, f"{{{ns}}}{name}").text = value
    width, height = reading.size
    page = ET.SubElement(
        root,
        f"{{{ns}}}Page",
        {"imageFilename": reading.layout.image.name, "imageWidth": str(width), "imageHeight": str(height)},
    )
    region = ET.SubElement(page, f"{{{ns}}}TextRegion", {"id": "hwr_region_1"})
    everything = np.concatenate([line.line.polygon for line in reading.lines]) if reading.lines else np.zeros((1, 2))
    everything = _clipped(everything, reading.size)
    (x0, y0), (x1, y1) = everything.min(axis=0).astype(int), everything.max(axis=0).astype(int)
    ET.SubElement(region, f"{{{ns}}}Coords", {"points": f"{x0},{y0} {x1},{y0} {x1},{y1} {x0},{y1}"})
    for line in reading.lines:
        element = ET.SubElement(region, f"{{{ns}}}TextLine", {"id": line.line.id})
        ET.SubElement(element, f"{{{ns}}}Coords", {"points": _points(_clipped(line.line.polygon, reading.size), ",")})
        if line.line.baseline is not None:
            baseline = _clipped(line.line.baseline, reading.size)
            ET.SubElement(element, f"{{{ns}}}Baseline", {"points": _points(baseline, ",")})
        element.append(_page_text_equiv(ns, line.transcription))
    return root


def _new_alto(reading: PageReading, glyphs: bool) -> ET.Element:
    ns = ALTO_4
    root = ET.Element(f"{{{ns}}}alto")
    description = ET.SubElement(root, f"{{{ns}}}Description")
    ET.SubElement(description, f"{{{ns}}}MeasurementUnit").text = "pixel"
    source = ET.SubElement(description, f"{{{ns}}}sourceImageInformation")
    ET.SubElement(source, f"{{{ns}}}fileName").text = reading.layout.image.name
    width, height = reading.size
    layout = ET.SubElement(root, f"{{{ns}}}Layout")
    page = ET.SubElement(
        layout,
        f"{{{ns}}}Page",
        {"ID": "hwr_page_1", "PHYSICAL_IMG_NR": "1", "WIDTH": str(width), "HEIGHT": str(height)},
    )
    space = ET.SubElement(page, f"{{{ns}}}PrintSpace")
    block = ET.SubElement(space, f"{{{ns}}}TextBlock", {"ID": "hwr_block_1"})
    for line in reading.lines:
        polygon = _clipped(line.line.polygon, reading.size)
        (x0, y0), (x1, y1) = polygon.min(axis=0), polygon.max(axis=0)
        box = {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}
        baseline = line.line.baseline
        at = {"BASELINE": _points(_clipped(baseline, reading.size), " ")} if baseline is not None else {}
        element = ET.SubElement(block, f"{{{ns}}}TextLine", {"ID": line.line.id, **box, **at})
        shape = ET.SubElement(element, f"{{{ns}}}Shape")
        ET.SubElement(shape, f"{{{ns}}}Polygon", {"POINTS": _points(polygon, " ")})
        _alto_words(element, ns, line, glyphs, reading.size)
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
