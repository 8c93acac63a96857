"""A segmenter's maps (:mod:`hwr.segmentation.targets`) back into lines: baselines, polygons,
confidences, in reading order.

Each connected run of baseline pixels is a line: its baseline follows the mean row of the run in
each column, its polygon reaches as far above and below as the ``above`` and ``below`` maps say
there, and its confidence is the mean baseline probability of the run. Lines are then put in
reading order: those that overlap horizontally form a column, columns go left to right and
lines top to bottom within each (a marginal note, beside the main block, is a column of its own).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hwr.segmentation.targets import LineShape

THRESHOLD = 0.5
"""A map pixel with at least this baseline probability is on a baseline."""
MIN_COLUMNS = 4
"""Runs of baseline pixels spanning fewer map columns are noise, not lines."""
MIN_HEIGHT = 1.0
"""A polygon reaches at least this many map pixels above and below its baseline, so it has an area."""
SAME_COLUMN = 0.5
"""Two lines are in one column where they overlap horizontally by this share of the shorter."""


@dataclass(frozen=True)
class FoundLine(LineShape):
    confidence: float
    """Mean baseline probability along it, in (0, 1]."""


def find_lines(
    baseline: np.ndarray, above: np.ndarray, below: np.ndarray, scale: float, threshold: float = THRESHOLD
) -> list[FoundLine]:
    """The lines of a page whose maps (``(H, W)``: baseline probabilities, heights above and below
    in map pixels) are at ``scale`` of its pixels, in reading order, in page pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((baseline >= threshold).astype(np.uint8), 8)
    found = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_WIDTH] < MIN_COLUMNS:
            continue
        ys, xs = np.nonzero(labels == label)
        found.append(_line(xs, ys, baseline[ys, xs], above[ys, xs], below[ys, xs], scale))
    return reading_order(found)


def _line(
    xs: np.ndarray, ys: np.ndarray, probability: np.ndarray, above: np.ndarray, below: np.ndarray, scale: float
) -> FoundLine:
    """One run of baseline pixels as a line: per column, the probability-weighted mean row and heights."""
    first = xs.min()
    column = xs - first
    weight = np.bincount(column, probability)
    present = np.flatnonzero(weight > 0)
    x = present + first
    y = np.bincount(column, probability * ys)[present] / weight[present]
    up = np.maximum(np.bincount(column, probability * above)[present] / weight[present], MIN_HEIGHT)
    down = np.maximum(np.bincount(column, probability * below)[present] / weight[present], MIN_HEIGHT)
    baseline = _simplify(np.stack([x, y], axis=1))
    top, bottom = np.stack([x, y - up], axis=1), np.stack([x, y + down], axis=1)
    polygon = _simplify(np.concatenate([top, bottom[::-1]]), closed=True)
    return FoundLine(_on_page(baseline, scale), _on_page(polygon, scale), float(probability.mean()))


def _on_page(points: np.ndarray, scale: float) -> np.ndarray:
    """Map pixels' centres as page pixels."""
    return (points + 0.5) / scale - 0.5


def _simplify(points: np.ndarray, closed: bool = False) -> np.ndarray:
    """``points`` with those that lie within half a map pixel of the line through their neighbours dropped."""
    if len(points) < 3:
        return points.astype(np.float64)
    kept = cv2.approxPolyDP(points.astype(np.float32).reshape(-1, 1, 2), 0.5, closed)
    return kept.reshape(-1, 2).astype(np.float64)


def reading_order(lines: list[FoundLine]) -> list[FoundLine]:
    """``lines`` column by column (:func:`columns`)."""
    return [line for column in columns(lines) for line in column]


def columns(lines: list[FoundLine]) -> list[list[FoundLine]]:
    """``lines`` grouped into columns (lines that overlap horizontally), the columns left to right,
    the lines of each top to bottom."""
    spans = [(line.baseline[:, 0].min(), line.baseline[:, 0].max()) for line in lines]
    column = list(range(len(lines)))

    def root(k: int) -> int:
        while column[k] != k:
            column[k] = column[column[k]]
            k = column[k]
        return k

    for i in range(len(lines)):
        for j in range(i):
            overlap = min(spans[i][1], spans[j][1]) - max(spans[i][0], spans[j][0])
            shorter = min(spans[i][1] - spans[i][0], spans[j][1] - spans[j][0])
            if overlap > SAME_COLUMN * max(shorter, 1):
                column[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for k in range(len(lines)):
        groups.setdefault(root(k), []).append(k)
    ordered = sorted(groups.values(), key=lambda group: min(spans[k][0] for k in group))
    return [
        [lines[k] for k in sorted(group, key=lambda k: float(np.median(lines[k].baseline[:, 1])))] for group in ordered
    ]
