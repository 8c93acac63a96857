"""A segmenter's maps (:mod:`hwr.segmentation.targets`) back into lines: baselines, polygons,
confidences, in reading order.

Each connected run of baseline pixels is a line: its baseline follows the mean row of the run in
each column, its polygon reaches as far above and below as the ``above`` and ``below`` maps say
there, and its confidence is the mean baseline probability of the run. Where the page's ink is
given, lines that run across the gutter between two columns are cut there. Lines are then put in
reading order: those that overlap horizontally form a column, columns go left to right and
lines top to bottom within each (a marginal note, beside the main block, is a column of its own).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hwr.segmentation.targets import LineShape, rows_at

THRESHOLD = 0.5
"""A map pixel with at least this baseline probability is on a baseline."""
MIN_COLUMNS = 4
"""Runs of baseline pixels spanning fewer map columns are noise, not lines."""
MIN_HEIGHT = 1.0
"""A polygon reaches at least this many map pixels above and below its baseline, so it has an area."""
JOIN_GAP = 0.5
"""Two runs on one baseline are one line broken at a gap up to this many line heights wide."""
JOIN_RISE = 0.3
"""... where the second starts within this many line heights of the first's end, up or down."""
SAME_COLUMN = 0.5
"""Two lines are in one column where they overlap horizontally by this share of the shorter."""
GUTTER_LINES = 5
"""A page column that this many lines in a row (each the next below the other) cross at a gap
without ink is a gutter between two columns of text, and the lines are cut there: the network
reads two columns whose lines face each other as one line across (CREMMA's verse in two columns)."""
GUTTER_SHARE = 0.6
"""... where they are this share of all the lines that cross that column: gaps between words line
up by chance over up to 7 lines in a row, but never over more than 42% of the lines that cross the
column (the shared sets' train and valid pages, ``datasets/segmentation/RESULTS.md``)."""
GUTTER_GAP = 0.5
"""... each gap at least this many line heights wide."""
INK_SHARE = 0.02
"""A map pixel with at least this share of ink pixels (darker than their surroundings) has ink."""
PITCH_MIN_LAG = 3
"""Rows of ink closer than this (pixels) are strokes of one line, not lines."""
PITCH_PEAK = 0.1
"""A peak of the rows' autocorrelation below this is noise, not a pitch."""
INK_SIDE = 1600
"""Ink is looked for on the page brought down to this longer side if it is larger: its
neighbourhood of 31 pixels is then about a line's height, as on the shared pages it was chosen on."""
FRAGMENT_SHARE = 0.5
"""A line whose polygon lies this much inside a longer line's is a piece of that line found twice
(a tall capital, a flourish) and is left out: 0.25-0.8 points of page CER on the valid pages."""


@dataclass(frozen=True)
class FoundLine(LineShape):
    confidence: float
    """Mean baseline probability along it, in (0, 1]."""


def line_pitch(baselines: list[np.ndarray]) -> float:
    """How far apart a page's lines lie: the median, over lines, of the distance from a line's middle
    column down to the nearest line below that spans it (in the baselines' pixels); nan where no
    line has one below it."""
    middles = [(float(np.median(b[:, 0])), b) for b in baselines]
    distances = []
    for x, line in middles:
        y = float(rows_at(line, x))
        below = [float(rows_at(other, x)) - y for other in baselines if other[:, 0].min() <= x <= other[:, 0].max()]
        below = [d for d in below if d > 0]
        if below:
            distances.append(min(below))
    return float(np.median(distances)) if distances else float("nan")


def find_lines(
    baseline: np.ndarray,
    above: np.ndarray,
    below: np.ndarray,
    scale: float,
    threshold: float = THRESHOLD,
    ink: np.ndarray | None = None,
) -> list[FoundLine]:
    """The lines of a page whose maps (``(H, W)``: baseline probabilities, heights above and below
    in map pixels) are at ``scale`` of its pixels, in reading order, in page pixels; cut at gutters
    where ``ink`` (:func:`ink_map`) is given."""
    count, labels = cv2.connectedComponents((baseline >= threshold).astype(np.uint8), connectivity=8)
    ys, xs = np.nonzero(labels)
    order = np.argsort(labels[ys, xs], kind="stable")
    ys, xs = ys[order], xs[order]
    bounds = np.searchsorted(labels[ys, xs], np.arange(1, count + 1))
    runs = [
        _run(xs[a:b], ys[a:b], baseline[ys[a:b], xs[a:b]], above[ys[a:b], xs[a:b]], below[ys[a:b], xs[a:b]])
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    runs = _joined(runs)
    if ink is not None:
        runs = _cut_at_gutters(runs, ink)
    runs = [run for run in runs if run.x[-1] - run.x[0] + 1 >= MIN_COLUMNS]
    return reading_order(_without_fragments([_line(run, scale) for run in runs], scale))


def _without_fragments(lines: list[FoundLine], scale: float) -> list[FoundLine]:
    """``lines`` without those lying mostly (:data:`FRAGMENT_SHARE`) inside the polygon of a longer
    one, compared in map pixels (page pixels times ``scale``)."""
    masks = [_mask(line.polygon * scale) for line in lines]
    kept: list[int] = []
    for i in sorted(range(len(lines)), key=lambda i: -np.ptp(lines[i].baseline[:, 0])):
        area = int(masks[i][2].sum())
        if area and any(_shared(masks[i], masks[k]) >= FRAGMENT_SHARE * area for k in kept):
            continue
        kept.append(i)
    return [lines[i] for i in sorted(kept)]


def _mask(polygon: np.ndarray) -> tuple[int, int, np.ndarray]:
    """A polygon filled on the grid of its bounding box: (left, top, mask)."""
    corner = np.floor(polygon.min(axis=0)).astype(int)
    points = np.round(polygon - corner).astype(np.int32)
    mask = np.zeros(points.max(axis=0)[::-1] + 1, np.uint8)
    cv2.fillPoly(mask, [points], 1)
    return int(corner[0]), int(corner[1]), mask.astype(bool)


def _shared(a: tuple[int, int, np.ndarray], b: tuple[int, int, np.ndarray]) -> int:
    """Pixels two masks of :func:`_mask` have in common."""
    (ax, ay, am), (bx, by, bm) = a, b
    x0, y0 = max(ax, bx), max(ay, by)
    x1, y1 = min(ax + am.shape[1], bx + bm.shape[1]), min(ay + am.shape[0], by + bm.shape[0])
    if x1 <= x0 or y1 <= y0:
        return 0
    return int(np.logical_and(am[y0 - ay : y1 - ay, x0 - ax : x1 - ax], bm[y0 - by : y1 - by, x0 - bx : x1 - bx]).sum())


@dataclass(frozen=True)
class _Run:
    """A run of baseline pixels, column by column (map pixels)."""

    x: np.ndarray
    y: np.ndarray
    up: np.ndarray
    down: np.ndarray
    probability: np.ndarray
    """Its pixels' baseline probabilities."""
    columns: np.ndarray
    """Its pixels' columns."""

    @property
    def height(self) -> float:
        return float(np.median(self.up + self.down))


def _run(xs: np.ndarray, ys: np.ndarray, probability: np.ndarray, above: np.ndarray, below: np.ndarray) -> _Run:
    """Per column, the probability-weighted mean row and heights of a run's pixels."""
    first = xs.min()
    column = xs - first
    weight = np.bincount(column, probability)
    present = np.flatnonzero(weight > 0)
    mean = [np.bincount(column, probability * values)[present] / weight[present] for values in (ys, above, below)]
    return _Run(present + first, mean[0], mean[1], mean[2], probability, xs)


def _joined(runs: list[_Run]) -> list[_Run]:
    """``runs`` with a line broken at a gap joined again: a run that starts where another ends
    (within :data:`JOIN_GAP` of its height), on its baseline (within :data:`JOIN_RISE` of it)."""
    runs = sorted(runs, key=lambda run: run.x[0])
    kept: list[_Run] = []
    for run in runs:
        best, best_gap = None, None
        for k, other in enumerate(kept):
            height = max(other.height, run.height, MIN_HEIGHT * 2)
            gap = run.x[0] - other.x[-1]
            if not -height / 2 <= gap <= JOIN_GAP * height:
                continue
            if abs(run.y[0] - other.y[-1]) > JOIN_RISE * height:
                continue
            if best_gap is None or gap < best_gap:
                best, best_gap = k, gap
        if best is None:
            kept.append(run)
            continue
        other = kept[best]
        keep = other.x < run.x[0]
        kept[best] = _Run(
            *(
                np.concatenate([a[keep], b])
                for a, b in zip((other.x, other.y, other.up, other.down), (run.x, run.y, run.up, run.down))
            ),
            np.concatenate([other.probability, run.probability]),
            np.concatenate([other.columns, run.columns]),
        )
    return kept


def ink_map(gray: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Where an 8-bit grayscale page has ink, on a grid of ``shape`` (rows, cols) laid over it, such as
    its maps': pixels clearly darker than their surroundings, counted per grid cell."""
    dark, _ = _dark(gray)
    share = cv2.resize(dark.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return share >= INK_SHARE


def _dark(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The pixels clearly darker than their surroundings (1, else 0), on the page brought down to
    :data:`INK_SIDE` if it is larger, and the factor it was brought down by (at most 1)."""
    factor = min(1.0, INK_SIDE / max(gray.shape))
    if factor < 1:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15), factor


def ink_pitch(gray: np.ndarray) -> float:
    """How far apart (in ``gray``'s pixels) its rows of writing lie: the first peak of the
    autocorrelation of its ink per row (ink as :func:`ink_map` finds it); nan where none stands out."""
    dark, factor = _dark(gray)
    rows = dark.mean(axis=1, dtype=np.float64)
    rows -= rows.mean()
    if not rows.any():
        return float("nan")
    correlation = np.correlate(rows, rows, "full")[len(rows) - 1 :]
    correlation /= correlation[0]
    for lag in range(PITCH_MIN_LAG, len(correlation) - 1):
        if correlation[lag - 1] <= correlation[lag] >= correlation[lag + 1] and correlation[lag] > PITCH_PEAK:
            return lag / factor
    return float("nan")


def _cut_at_gutters(runs: list[_Run], ink: np.ndarray) -> list[_Run]:
    """``runs`` cut at the gaps where :data:`GUTTER_LINES` of them in a row cross a gutter."""
    gaps = [_gaps(run, ink) for run in runs]
    width = ink.shape[1]
    spans = np.zeros((len(runs), width), bool)
    at_gap = np.full((len(runs), width), -1)
    for k, (run, found) in enumerate(zip(runs, gaps)):
        spans[k, run.x[0] : run.x[-1] + 1] = True
        for g, (start, end) in enumerate(found):
            at_gap[k, start : end + 1] = g
    order = np.argsort([float(np.median(run.y)) for run in runs])
    cuts: list[set[int]] = [set() for _ in runs]
    for x in range(width):
        crossing = order[spans[order, x]]
        streak: list[int] = []
        for k in [*crossing, -1]:
            if k >= 0 and at_gap[k, x] >= 0:
                streak.append(int(k))
                continue
            if len(streak) >= max(GUTTER_LINES, GUTTER_SHARE * len(crossing)):
                for j in streak:
                    cuts[j].add(int(at_gap[j, x]))
            streak = []
    pieces: list[_Run] = []
    for run, found, chosen in zip(runs, gaps, cuts):
        edges = [run.x[0], *(x for g in sorted(chosen) for x in (found[g][0] - 1, found[g][1] + 1)), run.x[-1]]
        pieces += [_part(run, edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    return pieces


def _gaps(run: _Run, ink: np.ndarray) -> list[tuple[int, int]]:
    """The stretches of columns (first, last) inside ``run``, at least :data:`GUTTER_GAP` of its height
    wide, where its band (baseline, up and down) holds no ink."""
    rows, cols = ink.shape
    tops = np.clip(np.floor(run.y - run.up).astype(int), 0, rows - 1)
    bottoms = np.clip(np.ceil(run.y + run.down).astype(int), 0, rows - 1)
    columns = np.clip(run.x, 0, cols - 1)
    inked = np.array([ink[top : bottom + 1, x].any() for top, bottom, x in zip(tops, bottoms, columns)])
    free = np.flatnonzero(~inked)
    found = []
    for stretch in np.split(free, np.flatnonzero(np.diff(free) > 1) + 1) if len(free) else []:
        first, last = int(run.x[stretch[0]]), int(run.x[stretch[-1]])
        if stretch[0] > 0 and stretch[-1] < len(run.x) - 1 and last - first + 1 >= GUTTER_GAP * run.height:
            found.append((first, last))
    return found


def _part(run: _Run, first: int, last: int) -> _Run:
    """The columns ``first`` to ``last`` of ``run``."""
    keep, pixels = (run.x >= first) & (run.x <= last), (run.columns >= first) & (run.columns <= last)
    return _Run(run.x[keep], run.y[keep], run.up[keep], run.down[keep], run.probability[pixels], run.columns[pixels])


def _line(run: _Run, scale: float) -> FoundLine:
    """A run as a line: its baseline through its rows, its polygon as high as its heights reach within
    about a line's height of columns (so that it keeps the ascenders and descenders the maps place
    a little off)."""
    width = max(1, int(round(run.height)) | 1)
    up, down = (np.maximum(_reach(values, width), MIN_HEIGHT) for values in (run.up, run.down))
    baseline = _simplify(np.stack([run.x, run.y], axis=1))
    top, bottom = np.stack([run.x, run.y - up], axis=1), np.stack([run.x, run.y + down], axis=1)
    polygon = _simplify(np.concatenate([top, bottom[::-1]]), closed=True)
    return FoundLine(_on_page(baseline, scale), _on_page(polygon, scale), float(run.probability.mean()))


def _reach(values: np.ndarray, width: int) -> np.ndarray:
    """The running maximum of ``values`` over ``width`` (odd) neighbours, the ends padded with theirs."""
    if width < 3 or len(values) < 2:
        return values
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, width).max(axis=1)


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
