"""How well a page's lines were found: their baselines (cBAD), their polygons (IoU), and what is
read from them (page CER).

**Baselines**, scored as the ICDAR 2017 competition on baseline detection (cBAD, Diem et al.
2017) does, point by point: every polyline is sampled at each pixel of its length. Each
ground-truth line gets a tolerance, a quarter of the distance to its nearest neighbouring line
(the median over its points of the distance up or down their column to another line, at least
:data:`MIN_TOLERANCE` pixels; a line with no other above or below it takes a hundredth of the
page's diagonal). A point scores 1 within the tolerance of the lines it is
measured against, falling linearly to 0 at three times it. Recall is the mean score of the
ground-truth points against the predicted lines (a line split in two still covers its points),
precision the mean score of the predicted points against the ground truth, each at the tolerance
of the ground-truth line nearest it (an extra line, or a line run on across a gap, scores 0
where it is wrong); F their harmonic mean. Distances are read off a distance transform of the
page, to the pixel.

**Lines**: a predicted polygon detects a ground-truth one where their intersection over union
is at least :data:`MIN_IOU`, each used once (greedily, by IoU); precision, recall and F count them.

**Page CER** (and WER, as :mod:`hwr.metrics` counts them, after its normalisation): the
predicted lines' readings, in their reading order, against the page's ground-truth text in its
own, as one text each, and a variant free of reading order: each predicted line goes to the
ground-truth line whose baseline is nearest it (mean vertical distance over the columns they
share), and each ground-truth line is compared with the readings of its pieces, left to right (a
line found in two pieces is still read whole); predicted lines that share no columns with any
ground-truth line, and ground-truth lines that get none, count whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from hwr.metrics import ErrorCounts, line_errors
from hwr.segmentation.targets import rows_at

MIN_TOLERANCE = 2.0
"""Pixels: a tolerance is never below this, however close the lines."""
MIN_IOU = 0.5


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F, with what they are counted on (summed over pages by ``+``)."""

    hits_precision: float
    """Predicted points' scores (baselines), or predicted lines matched (polygons)."""
    predicted: int
    hits_recall: float
    truth: int

    @property
    def precision(self) -> float:
        return self.hits_precision / self.predicted if self.predicted else float(self.truth == 0)

    @property
    def recall(self) -> float:
        return self.hits_recall / self.truth if self.truth else float(self.predicted == 0)

    @property
    def f(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    def __add__(self, other: Scores) -> Scores:
        return Scores(
            self.hits_precision + other.hits_precision,
            self.predicted + other.predicted,
            self.hits_recall + other.hits_recall,
            self.truth + other.truth,
        )


def sample(polyline: np.ndarray) -> np.ndarray:
    """Points along ``polyline`` ``(N, 2)`` one pixel apart (its vertices included), as float ``(M, 2)``."""
    polyline = np.asarray(polyline, np.float64).reshape(-1, 2)
    steps = np.linalg.norm(np.diff(polyline, axis=0), axis=1)
    if len(polyline) < 2 or steps.sum() == 0:
        return polyline[:1]
    at = np.concatenate([[0.0], np.cumsum(steps)])
    where = np.union1d(np.arange(0.0, at[-1], 1.0), at)
    return np.stack([np.interp(where, at, polyline[:, 0]), np.interp(where, at, polyline[:, 1])], axis=1)


class _DistanceField:
    """Distances from anywhere on a page of ``size`` to the nearest of ``lines``, and which line that
    is: one distance transform of the page, read at any points."""

    def __init__(self, lines: Sequence[np.ndarray], size: tuple[int, int]) -> None:
        width, height = self.size = size
        canvas = np.zeros((height, width), np.int32)
        for k, line in enumerate(lines):
            cv2.polylines(canvas, [np.round(line).astype(np.int32).reshape(-1, 1, 2)], False, k + 1, 1)
        drawn = canvas > 0
        self.distance, self.labels = cv2.distanceTransformWithLabels(
            (~drawn).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE, labelType=cv2.DIST_LABEL_PIXEL
        )
        self.owner = np.zeros(self.labels.max() + 1, np.int64)  # pixel label -> line index
        self.owner[self.labels[drawn]] = canvas[drawn] - 1

    def __call__(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each point's distance to the nearest line, and that line's index."""
        width, height = self.size
        x = np.clip(np.round(points[:, 0]).astype(int), 0, width - 1)
        y = np.clip(np.round(points[:, 1]).astype(int), 0, height - 1)
        return self.distance[y, x].astype(np.float64), self.owner[self.labels[y, x]]


def tolerances(truth: Sequence[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Each ground-truth baseline's tolerance: a quarter of its distance to the nearest other line
    (the median, over every eighth of its points, of the distance up or down its column to another line)."""
    width, height = size
    canvas = np.zeros((height, width), np.int32)
    for k, line in enumerate(truth):
        cv2.polylines(canvas, [np.round(line).astype(np.int32).reshape(-1, 1, 2)], False, k + 1, 1)
    rows = np.arange(height, dtype=np.float64)[:, None]
    found = []
    for k, line in enumerate(truth):
        points = sample(line)[::8]
        x = np.clip(np.round(points[:, 0]).astype(int), 0, width - 1)
        columns = canvas[:, x]
        other = (columns > 0) & (columns != k + 1)
        gaps = np.where(other, np.abs(rows - points[:, 1]), np.inf).min(axis=0)
        gaps = gaps[np.isfinite(gaps)]
        neighbour = float(np.median(gaps)) if len(gaps) else 0.04 * float(np.hypot(*size))
        found.append(max(MIN_TOLERANCE, neighbour / 4))
    return np.array(found)


def _coverage(distance: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """1 within the tolerance, falling linearly to 0 at three times it."""
    return np.clip((3 * tolerance - distance) / (2 * tolerance), 0.0, 1.0)


def baseline_scores(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray], size: tuple[int, int]) -> Scores:
    """cBAD precision and recall of one page's ``predicted`` baselines against its ``truth`` ((N, 2)
    polylines in pixels of a page of ``size`` (width, height))."""
    truth_points = [sample(line) for line in truth]
    predicted_points = np.concatenate([sample(line) for line in predicted]) if predicted else np.zeros((0, 2))
    if not truth:
        return Scores(0.0, len(predicted_points), 0.0, 0)
    tolerance = tolerances(truth, size)
    recall = 0.0
    if predicted:
        to_predicted = _DistanceField(predicted, size)
        for k, points in enumerate(truth_points):
            recall += float(_coverage(to_predicted(points)[0], tolerance[k]).sum())
    precision = 0.0
    if len(predicted_points):
        distance, nearest = _DistanceField(truth, size)(predicted_points)
        precision = float(_coverage(distance, tolerance[nearest]).sum())
    return Scores(precision, len(predicted_points), recall, sum(len(points) for points in truth_points))


def polygon_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two polygons ``(N, 2)`` (pixels), rasterised."""
    (x0, y0) = np.minimum(a.min(axis=0), b.min(axis=0)).astype(int)
    (x1, y1) = np.maximum(a.max(axis=0), b.max(axis=0)).astype(int)
    if min(a[:, 0].max(), b[:, 0].max()) < max(a[:, 0].min(), b[:, 0].min()):
        return 0.0
    if min(a[:, 1].max(), b[:, 1].max()) < max(a[:, 1].min(), b[:, 1].min()):
        return 0.0
    shape = (y1 - y0 + 1, x1 - x0 + 1)
    masks = []
    for polygon in (a, b):
        mask = np.zeros(shape, np.uint8)
        cv2.fillPoly(mask, [np.round(polygon - [x0, y0]).astype(np.int32)], 1)
        masks.append(mask.astype(bool))
    union = np.logical_or(*masks).sum()
    return float(np.logical_and(*masks).sum() / union) if union else 0.0


def match_lines(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """(predicted, truth) index pairs of polygons that detect each other (IoU >= :data:`MIN_IOU`),
    each used once, the highest IoU first."""
    pairs = []
    for i, p in enumerate(predicted):
        for j, t in enumerate(truth):
            iou = polygon_iou(np.asarray(p), np.asarray(t))
            if iou >= MIN_IOU:
                pairs.append((iou, i, j))
    used_p, used_t, matched = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            matched.append((i, j))
    return matched


def line_scores(predicted: Sequence[np.ndarray], truth: Sequence[np.ndarray]) -> Scores:
    """Line detection precision and recall of one page's polygons at IoU >= :data:`MIN_IOU`."""
    matched = len(match_lines(predicted, truth))
    return Scores(matched, len(predicted), matched, len(truth))


def page_errors(readings: Sequence[str], truth: Sequence[str]) -> ErrorCounts:
    """The predicted lines' ``readings`` in reading order against the ground-truth lines' texts in
    theirs, each side one text (as ``hwr evaluate`` compares a line, after its normalisation)."""
    return line_errors("\n".join(truth), "\n".join(readings))


def any_order_parts(
    readings: Sequence[str],
    baselines: Sequence[np.ndarray],
    truth: Sequence[str],
    truth_baselines: Sequence[np.ndarray | None],
) -> tuple[ErrorCounts, ErrorCounts, ErrorCounts]:
    """The page CER free of reading order, in three parts (where the segmentation's cost in CER
    comes from): each ground-truth line against the readings of the predicted lines whose baselines
    are nearest its own (:func:`baseline_distance`), joined left to right; the ground-truth lines
    that got none (their characters), and the readings of the predicted lines that went to none:
    those sharing no column with a ground-truth line, or farther from the nearest one than it lies
    from its own nearest neighbour (writing the ground truth leaves out, such as printed forms and
    later notes, rather than a piece of that line). A ground-truth line without a baseline can only
    be missed."""
    reach = [_nearest_other(k, truth_baselines) for k in range(len(truth_baselines))]
    pieces: list[list[tuple[float, str]]] = [[] for _ in truth]
    extra = ErrorCounts()
    for reading, baseline in zip(readings, baselines):
        distances = [np.inf if t is None else baseline_distance(baseline, t) for t in truth_baselines]
        nearest = int(np.argmin(distances)) if distances else -1
        if nearest < 0 or distances[nearest] == np.inf or distances[nearest] > reach[nearest]:
            extra += line_errors("", reading)
            continue
        pieces[nearest].append((float(baseline[:, 0].min()), reading))
    assigned, missed = ErrorCounts(), ErrorCounts()
    for text, found in zip(truth, pieces):
        errors = line_errors(text, " ".join(reading for _, reading in sorted(found)))
        if found:
            assigned += errors
        else:
            missed += errors
    return assigned, missed, extra


def _nearest_other(k: int, baselines: Sequence[np.ndarray | None]) -> float:
    """The distance from baseline ``k`` to the nearest other one it shares columns with (infinite
    where there is none, or ``k`` has no baseline)."""
    line = baselines[k]
    if line is None:
        return np.inf
    return min(
        (baseline_distance(line, other) for j, other in enumerate(baselines) if j != k and other is not None),
        default=np.inf,
    )


def baseline_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The mean vertical distance between two baselines ``(N, 2)`` over the columns both span, one
    pixel apart; infinite where they share none."""
    left, right = max(a[:, 0].min(), b[:, 0].min()), min(a[:, 0].max(), b[:, 0].max())
    if right < left:
        return np.inf
    columns = np.arange(left, right + 1)
    return float(np.mean(np.abs(rows_at(a, columns) - rows_at(b, columns))))
