"""Page layouts from PAGE-XML (2013 and 2019 schemas) and ALTO (v2, v3, v4): the text lines of a
page, each with its polygon (or box), baseline, reading order, id and transcription.

A collection reaches a user as page images with such files from eScriptorium, Transkribus
or kraken. Lines whose geometry can't be used are skipped and described in
:attr:`PageLayout.problems`; only a file that is no layout at all raises. XML is parsed
by defusedxml: no DTD, no entities, so no file is read or memory filled through them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, parse

from hwr.errors import PageXmlError

Format = Literal["page", "alto"]
PAGE_VERSIONS = ("2010-03-19", "2013-07-15", "2016-07-15", "2017-07-15", "2018-07-15", "2019-07-15")
"""PAGE schemas whose text lines are read alike (2013 and 2019 are the ones in use)."""
PAGE_NAMESPACE = re.compile(rf"^http://schema\.primaresearch\.org/PAGE/gts/pagecontent/({'|'.join(PAGE_VERSIONS)})$")
ALTO_NAMESPACE = re.compile(r"^http://www\.loc\.gov/standards/alto/ns-v[234]#$")
MOSTLY_OUTSIDE = 0.5
"""A line whose box lies more than this share outside the page is skipped."""


@dataclass(frozen=True, eq=False)
class LayoutLine:
    element: ET.Element
    """The line's element in :attr:`PageLayout.root`."""
    id: str
    polygon: np.ndarray
    """``(N, 2)`` int32 (x, y) page pixels: the line's outline, or its box where the file has none."""
    baseline: np.ndarray | None
    text: str | None
    """The transcription, None where the file has none."""


@dataclass
class PageLayout:
    path: Path
    format: Format
    image: Path
    """The page image, as the file names it (relative to the file's folder) or as given."""
    size: tuple[int, int] | None
    """(width, height) in pixels, where the file says."""
    root: ET.Element
    """The parsed file, for writing results back into it."""
    lines: list[LayoutLine] = field(default_factory=list)
    """In reading order."""
    problems: list[str] = field(default_factory=list)
    generated: bool = False
    """Made by hwr's segmenter (:mod:`hwr.segmentation.layout`), not read from ``path``."""
    regions: list[np.ndarray] = field(default_factory=list)
    """The outlines of its text regions (PAGE ``TextRegion``, ALTO ``TextBlock``), ``(N, 2)`` int32,
    where the file gives them: what was annotated, on a page annotated in part."""


def parse_xml(path: Path) -> ET.Element:
    """The root element of the XML file ``path``, parsed without DTDs or entities; its comments and
    processing instructions are kept, so that a file written back from it keeps them too."""
    try:
        target = ET.TreeBuilder(insert_comments=True, insert_pis=True)
        parser = DefusedXMLParser(target=target, forbid_dtd=True)
        return parse(path, parser=parser, forbid_dtd=True).getroot()
    except OSError as error:
        raise PageXmlError(f"{path}: cannot read it ({error.strerror or error})") from None
    except DefusedXmlException as error:
        raise PageXmlError(f"{path}: refused: it declares a DTD or entities ({type(error).__name__})") from None
    except (ET.ParseError, UnicodeDecodeError, ValueError) as error:
        raise PageXmlError(f"{path}: not well-formed XML ({error})") from None


def read_layout(path: str | Path, image: str | Path | None = None) -> PageLayout:
    """The text lines of the PAGE or ALTO file ``path``; ``image``: the page image, if not the one it names."""
    path = Path(path)
    root = parse_xml(path)
    namespace, _, tag = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if tag == "PcGts" and PAGE_NAMESPACE.match(namespace):
        layout = _read_page(path, root, namespace)
    elif tag == "alto" and ALTO_NAMESPACE.match(namespace):
        layout = _read_alto(path, root, namespace)
    else:
        raise PageXmlError(
            f"{path}: not a PAGE-XML or ALTO file (root {tag!r} in namespace {namespace or 'none'!r}; expected "
            "PcGts of PAGE 2013/2019 or alto of ALTO v2-v4)"
        )
    if image is not None:
        layout.image = Path(image)
    layout.lines = [usable for line in layout.lines if (usable := _usable(layout, line)) is not None]
    return layout


def _usable(layout: PageLayout, line: LayoutLine) -> LayoutLine | None:
    """``line`` as it can be read (two corners of a box become the box), or None, with the problem said."""
    where = f"{layout.path}: line {line.id!r}"
    if len(line.polygon) == 2 and (np.abs(line.polygon[1] - line.polygon[0]) >= 2).all():
        (x0, y0), (x1, y1) = line.polygon.min(axis=0), line.polygon.max(axis=0)
        line = replace(line, polygon=np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.int32))
        layout.problems.append(f"{where}: 2 points; read as the box whose corners they are")
    if len(line.polygon) < 3:
        layout.problems.append(f"{where}: {len(line.polygon)} points, a polygon needs 3; skipped")
        return None
    if layout.size is not None:
        (x0, y0), (x1, y1) = line.polygon.min(axis=0), line.polygon.max(axis=0)
        width, height = layout.size
        inside = max(0, min(x1, width) - max(x0, 0)) * max(0, min(y1, height) - max(y0, 0))
        if inside < (1 - MOSTLY_OUTSIDE) * max(1, (x1 - x0) * (y1 - y0)):
            layout.problems.append(f"{where}: mostly outside the {width}x{height} page; skipped")
            return None
    return line


def points(text: str | None) -> np.ndarray | None:
    """``"x,y x,y ..."`` (PAGE) or ``"x y x y ..."`` (ALTO) as ``(N, 2)`` int32, rounded; None if unreadable."""
    if text is None:
        return None
    try:
        values = [round(float(v)) for v in re.split(r"[\s,]+", text.strip()) if v]
    except ValueError:
        return None
    if len(values) % 2:
        return None
    return np.array(values, np.int32).reshape(-1, 2)


def _box(x: str | None, y: str | None, w: str | None, h: str | None) -> np.ndarray | None:
    try:
        left, top, width, height = (float(v) for v in (x, y, w, h))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    right, bottom = left + width, top + height
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]]).round().astype(np.int32)


def _size(width: str | None, height: str | None) -> tuple[int, int] | None:
    try:
        size = (round(float(width)), round(float(height)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return size if min(size) > 0 else None


def _read_page(path: Path, root: ET.Element, namespace: str) -> PageLayout:
    ns = {"p": namespace}
    page = root.find("p:Page", ns)
    if page is None:
        raise PageXmlError(f"{path}: a PAGE file without a Page element")
    name = page.get("imageFilename")
    if not name:
        raise PageXmlError(f"{path}: its Page has no imageFilename")
    layout = PageLayout(path, "page", path.parent / name, _size(page.get("imageWidth"), page.get("imageHeight")), root)
    regions = {region.get("id"): region for region in page.iter(f"{{{namespace}}}TextRegion")}
    ordered = [regions.pop(ref) for ref in _page_reading_order(page, ns) if ref in regions]
    for region in [*ordered, *regions.values()]:
        outline = region.find("p:Coords", ns)
        outline = points(outline.get("points")) if outline is not None else None
        if outline is not None and len(outline) >= 3:
            layout.regions.append(outline)
        for line in region.findall("p:TextLine", ns):
            line_id = line.get("id") or f"line{len(layout.lines) + 1}"
            coords = line.find("p:Coords", ns)
            polygon = points(coords.get("points") if coords is not None else None)
            if polygon is None:
                layout.problems.append(f"{path}: line {line_id!r}: no readable Coords points; skipped")
                continue
            baseline = line.find("p:Baseline", ns)
            text = _page_text(line, ns)
            baseline_points = points(baseline.get("points")) if baseline is not None else None
            layout.lines.append(LayoutLine(line, line_id, polygon, baseline_points, text))
    return layout


def _page_reading_order(page: ET.Element, ns: dict[str, str]) -> list[str]:
    """Region ids in the ``ReadingOrder``'s order (its indexed references sorted by index)."""
    order = page.find("p:ReadingOrder", ns)
    if order is None:
        return []
    refs = []
    for number, ref in enumerate(order.iter()):
        if ref.get("regionRef"):
            try:
                index = int(ref.get("index", number))
            except ValueError:
                index = number
            refs.append((index, number, ref.get("regionRef")))
    return [ref for *_, ref in sorted(refs)]


def _page_text(line: ET.Element, ns: dict[str, str]) -> str | None:
    """The line's own TextEquiv (index 1, or the first), not its words'."""
    equivs = line.findall("p:TextEquiv", ns)
    if not equivs:
        return None
    equiv = next((e for e in equivs if e.get("index") == "1"), equivs[0])
    unicode = equiv.find("p:Unicode", ns)
    return None if unicode is None else " ".join((unicode.text or "").split())


def _read_alto(path: Path, root: ET.Element, namespace: str) -> PageLayout:
    ns = {"a": namespace}
    unit = root.findtext("a:Description/a:MeasurementUnit", "pixel", ns).strip()
    if unit != "pixel":
        raise PageXmlError(f"{path}: measures in {unit!r}; hwr reads ALTO in pixels only")
    name = root.findtext("a:Description/a:sourceImageInformation/a:fileName", None, ns)
    if not name or not name.strip():
        raise PageXmlError(f"{path}: no sourceImageInformation/fileName names its page image")
    page = root.find("a:Layout/a:Page", ns)
    size = _size(page.get("WIDTH"), page.get("HEIGHT")) if page is not None else None
    layout = PageLayout(path, "alto", path.parent / name.strip(), size, root)
    for block in root.iter(f"{{{namespace}}}TextBlock"):
        shape = block.find("a:Shape/a:Polygon", ns)
        outline = points(shape.get("POINTS")) if shape is not None else None
        if outline is None or len(outline) < 3:
            outline = _box(block.get("HPOS"), block.get("VPOS"), block.get("WIDTH"), block.get("HEIGHT"))
        if outline is not None:
            layout.regions.append(outline)
    for line in root.iter(f"{{{namespace}}}TextLine"):
        line_id = line.get("ID") or f"line{len(layout.lines) + 1}"
        shape = line.find("a:Shape/a:Polygon", ns)
        polygon = points(shape.get("POINTS")) if shape is not None else None
        if polygon is None:
            polygon = _box(line.get("HPOS"), line.get("VPOS"), line.get("WIDTH"), line.get("HEIGHT"))
            if shape is not None and polygon is not None:
                layout.problems.append(f"{path}: line {line_id!r}: unreadable Polygon POINTS; its box is used")
        if polygon is None:
            layout.problems.append(f"{path}: line {line_id!r}: neither a Shape nor HPOS/VPOS/WIDTH/HEIGHT; skipped")
            continue
        baseline = points(line.get("BASELINE"))  # ALTO v2/v3 may give a single number: no polyline
        strings = [s.get("CONTENT", "") for s in line.iter(f"{{{namespace}}}String")]
        text = " ".join(" ".join(strings).split()) if strings else None
        layout.lines.append(LayoutLine(line, line_id, polygon, baseline, text))
    return layout


def crop_origin(polygon: np.ndarray) -> tuple[int, int]:
    """The top-left corner on the page of the line :func:`cut_line` cuts for ``polygon``."""
    x0, y0 = np.maximum(polygon.min(axis=0), 0)
    return int(x0), int(y0)


def polygon_height(polygon: np.ndarray) -> int:
    """Rows of the bounding box of ``polygon``: the height of its line's crop."""
    return int(polygon[:, 1].max() - polygon[:, 1].min()) + 1


def cut_line(page: np.ndarray, polygon: np.ndarray, grow: int = 8) -> np.ndarray:
    """The line of ``polygon`` (page pixels) cut from the 8-bit grayscale ``page``: its bounding box
    (clipped to the page) masked with it (see :func:`mask_outside`)."""
    height, width = page.shape[:2]
    x0, y0 = crop_origin(polygon)
    x1, y1 = polygon.max(axis=0)
    x1, y1 = min(int(x1), width - 1), min(int(y1), height - 1)
    crop = page[y0 : y1 + 1, x0 : x1 + 1]
    return mask_outside(crop, polygon - [x0, y0], grow)


def mask_outside(crop: np.ndarray, polygon: np.ndarray, grow: int = 8) -> np.ndarray:
    """``crop`` (8-bit grayscale) with everything more than ``grow`` pixels outside ``polygon``
    (in the crop's pixels) set to the paper's tone, the crop's 90th percentile.

    A line cut as the bounding box of its polygon takes in the ascenders and descenders of
    the lines above and below, on slanted lines whole words of them, which a network then
    reads; painting them over leaves the line alone, as kraken's and Transkribus's line
    extraction do. Polygons are drawn by hand or by a segmenter and clip some of the line's
    own loops; growing them keeps those, at the cost of a few of the neighbours' strokes.
    """
    inside = np.zeros(crop.shape, np.uint8)
    cv2.fillPoly(inside, [polygon.astype(np.int32)], 255)
    if grow > 0:
        inside = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    paper = np.uint8(np.percentile(crop, 90))
    return np.where(inside > 0, crop, paper)
