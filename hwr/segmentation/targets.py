"""What a segmenter learns to draw: a page's lines as maps at a reduced scale.

Three maps, each ``(rows, cols)`` at ``scale`` times the page's pixels:

- ``baseline``: 1 on each line's baseline (drawn :data:`THICKNESS` pixels thick), else 0;
- ``above`` and ``below``: on those baseline pixels, how far the line's polygon reaches above and
  below its baseline in that column (in map pixels), the rest 0.

A line is then its baseline and, at every point of it, the height of its polygon there
(:mod:`hwr.segmentation.lines` turns maps back into lines): one polygon per baseline, never one
shared by two lines, and ascenders and descenders kept as far as the ground truth's polygons keep them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

THICKNESS = 3
"""Baselines are drawn this many map pixels high: a thin line that still survives downscaling."""


@dataclass(frozen=True)
class LineShape:
    """A text line on a page: its baseline and its polygon, in page pixels."""

    baseline: np.ndarray
    """``(N, 2)`` float x, y, left to right."""
    polygon: np.ndarray
    """``(M, 2)`` float x, y."""


@dataclass(frozen=True)
class Maps:
    baseline: np.ndarray
    """``(H, W)`` float32, 0 or 1."""
    above: np.ndarray
    """``(H, W)`` float32 map pixels."""
    below: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.baseline.shape  # type: ignore[return-value]


def map_shape(page_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """(rows, cols) of the maps of a page of ``page_size`` (width, height)."""
    width, height = page_size
    return max(1, round(height * scale)), max(1, round(width * scale))


def draw_maps(lines: Sequence[LineShape], page_size: tuple[int, int], scale: float) -> Maps:
    """The maps of ``lines`` on a page of ``page_size`` (width, height), at ``scale``."""
    rows, cols = map_shape(page_size, scale)
    baseline = np.zeros((rows, cols), np.float32)
    above = np.zeros((rows, cols), np.float32)
    below = np.zeros((rows, cols), np.float32)
    for line in lines:
        points = np.round(line.baseline * scale).astype(np.int32).reshape(-1, 1, 2)
        drawn = np.zeros((rows, cols), np.uint8)
        cv2.polylines(drawn, [points], False, 1, 1)
        drawn = cv2.dilate(drawn, np.ones((THICKNESS, 1), np.uint8))  # thick across, not longer
        ys, xs = np.nonzero(drawn)
        if not len(xs):
            continue
        top, bottom = _extent(line.polygon * scale, line.baseline * scale, xs)
        baseline[ys, xs] = 1
        above[ys, xs] = top
        below[ys, xs] = bottom
    return Maps(baseline, above, below)


def rows_at(baseline: np.ndarray, columns: np.ndarray | float) -> np.ndarray:
    """The rows of a baseline ``(N, 2)`` at ``columns``, between its points linearly, beyond its
    ends level."""
    order = np.argsort(baseline[:, 0], kind="stable")
    return np.interp(columns, baseline[order, 0], baseline[order, 1])


def _extent(polygon: np.ndarray, baseline: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far ``polygon`` reaches above and below ``baseline`` at each of ``columns`` (map pixels,
    at least 1): its top and bottom rows there, against the baseline's row."""
    at = rows_at(baseline, columns)
    (x0, y0) = np.floor(polygon.min(axis=0)).astype(int)
    (x1, y1) = np.ceil(polygon.max(axis=0)).astype(int)
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), bool)
    cv2.fillPoly(mask.view(np.uint8), [np.round(polygon - [x0, y0]).astype(np.int32)], 1)
    known = np.flatnonzero(mask.any(axis=0))
    if not len(known):
        return np.ones(len(columns)), np.ones(len(columns))
    rows = np.arange(mask.shape[0])[:, None]
    top_row = np.where(mask, rows, mask.shape[0]).min(axis=0) + y0
    bottom_row = np.where(mask, rows, -1).max(axis=0) + y0
    where = np.clip(columns - x0, 0, mask.shape[1] - 1)
    top = np.interp(where, known, top_row[known])
    bottom = np.interp(where, known, bottom_row[known])
    return np.maximum(at - top, 1.0), np.maximum(bottom - at, 1.0)
