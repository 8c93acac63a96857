"""Line polygons from PAGE-XML, and masking a line crop with its polygon.

A line crop cut as the bounding box of its polygon takes in the ascenders and
descenders of the lines above and below, on slanted lines whole words of them, and
a network then reads words of the wrong line. Painting everything outside the
(slightly grown) polygon with the paper's tone leaves only the line itself, as
kraken's and Transkribus's line extraction do.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np

from hwr.errors import PageXmlError


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # PAGE's namespace changes with its schema version


def line_polygons(path: str | Path) -> dict[str, np.ndarray]:
    """Every ``TextLine``'s ``Coords`` in the PAGE-XML file at ``path``: id -> ``(N, 2)`` int32 (x, y) page pixels."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        raise PageXmlError(f"{path}: can't read it as XML ({error})") from None
    polygons = {}
    for element in root.iter():
        if _local(element.tag) != "TextLine":
            continue
        coords = next((c for c in element if _local(c.tag) == "Coords"), None)
        line_id = element.get("id")
        try:
            points = [[int(round(float(v))) for v in pair.split(",")] for pair in coords.get("points").split()]  # type: ignore[union-attr]
            polygon = np.array(points, np.int32).reshape(-1, 2)
        except (AttributeError, ValueError):
            raise PageXmlError(f"{path}: TextLine {line_id!r} has no readable Coords points") from None
        if line_id is None or len(polygon) < 3:
            raise PageXmlError(f"{path}: a TextLine needs an id and at least 3 points, got {line_id!r}")
        polygons[line_id] = polygon
    return polygons


def mask_outside(crop: np.ndarray, polygon: np.ndarray, grow: int = 8) -> np.ndarray:
    """``crop`` (8-bit grayscale) with everything more than ``grow`` pixels outside ``polygon``
    (in the crop's pixels) set to the paper's tone, the crop's 90th percentile.

    The polygons are drawn by hand or by a segmenter and clip some of the line's own
    loops; growing them keeps those, at the cost of a few of the neighbours' strokes.
    """
    inside = np.zeros(crop.shape, np.uint8)
    cv2.fillPoly(inside, [polygon.astype(np.int32)], 255)
    if grow > 0:
        inside = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    paper = np.uint8(np.percentile(crop, 90))
    return np.where(inside > 0, crop, paper)
