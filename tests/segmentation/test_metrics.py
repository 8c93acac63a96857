"""Segmentation metrics: cBAD baseline scores, line detection by IoU, page CER, on cases worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hwr.metrics import ErrorCounts
from hwr.segmentation.metrics import (
    any_order_parts,
    baseline_distance,
    baseline_scores,
    line_scores,
    match_lines,
    page_errors,
    polygon_iou,
    sample,
    tolerances,
)

SIZE = (1000, 800)
LINES = [np.array([[100, y], [900, y]]) for y in (100, 180, 260)]  # 80 pixels apart: tolerance 20


def box(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def test_polylines_are_sampled_a_pixel_apart():
    points = sample(np.array([[0, 0], [10, 0], [10, 5]]))
    assert len(points) == 16 and (np.linalg.norm(np.diff(points, axis=0), axis=1) <= 1 + 1e-9).all()


def test_the_tolerance_is_a_quarter_of_the_distance_to_the_nearest_line():
    assert tolerances(LINES, SIZE) == pytest.approx([20, 20, 20])
    assert tolerances(LINES[:1], SIZE) == pytest.approx([0.01 * np.hypot(*SIZE)])


def test_perfect_and_shifted_baselines():
    assert baseline_scores(LINES, LINES, SIZE).f == pytest.approx(1.0)
    within = [line + [0, 15] for line in LINES]  # inside the tolerance: full marks
    assert baseline_scores(within, LINES, SIZE).f == pytest.approx(1.0)
    halfway = [line + [0, 40] for line in LINES]  # 2 tolerances off: half a point each
    scores = baseline_scores(halfway, LINES, SIZE)
    assert scores.precision == pytest.approx(0.5, abs=0.02) and scores.recall == pytest.approx(0.5, abs=0.02)


def test_a_split_line_keeps_recall_and_an_extra_line_costs_precision():
    split = [np.array([[100, 100], [480, 100]]), np.array([[520, 100], [900, 100]]), *LINES[1:]]
    scores = baseline_scores(split, LINES, SIZE)  # a gap of 40 pixels: within the tolerance of either end
    assert scores.precision == pytest.approx(1.0) and scores.recall == pytest.approx(1.0)
    split = [np.array([[100, 100], [400, 100]]), np.array([[600, 100], [900, 100]]), *LINES[1:]]
    scores = baseline_scores(split, LINES, SIZE)  # 200 pixels: each side loses 20 (half-scored) + 40 points
    assert scores.precision == pytest.approx(1.0) and scores.recall == pytest.approx(1 - 120 / 2403, abs=0.002)
    extra = [*LINES, np.array([[100, 600], [900, 600]])]  # a line where there is none
    scores = baseline_scores(extra, LINES, SIZE)
    assert scores.recall == pytest.approx(1.0) and scores.precision == pytest.approx(3 / 4, abs=0.01)
    missed = baseline_scores(LINES[:2], LINES, SIZE)
    assert missed.precision == pytest.approx(1.0) and missed.recall == pytest.approx(2 / 3, abs=0.01)
    assert baseline_scores([], LINES, SIZE).f == 0 and baseline_scores([], [], SIZE).f == 1


def test_scores_sum_over_pages():
    total = baseline_scores(LINES, LINES, SIZE) + baseline_scores([], LINES, SIZE)
    assert total.recall == pytest.approx(0.5) and total.precision == pytest.approx(1.0)


def test_polygons_detect_lines_at_iou_of_a_half():
    assert polygon_iou(box(0, 0, 99, 9), box(0, 0, 99, 9)) == pytest.approx(1.0)
    assert polygon_iou(box(0, 0, 99, 9), box(0, 5, 99, 14)) == pytest.approx(50 / 150, abs=0.01)
    assert polygon_iou(box(0, 0, 9, 9), box(20, 20, 29, 29)) == 0
    truth = [box(0, 0, 99, 19), box(0, 30, 99, 49)]
    predicted = [box(0, 32, 99, 49), box(0, 0, 99, 49)]  # one line, and one box over both
    assert match_lines(predicted, truth) == [(0, 1)]
    scores = line_scores(predicted, truth)
    assert scores.precision == 0.5 and scores.recall == 0.5


def page_errors_any_order(*lines) -> ErrorCounts:
    return sum(any_order_parts(*lines), ErrorCounts())


def _baseline(x0: float, x1: float, y: float) -> np.ndarray:
    return np.array([[x0, y], [(x0 + x1) / 2, y + 2], [x1, y]], np.float64)


def test_page_cer_in_reading_order_and_free_of_it():
    truth, baselines = ["Dear Sir", "I am"], [_baseline(0, 99, 15), _baseline(0, 99, 45)]
    assert page_errors(["Dear Sir", "I am"], truth).cer == 0
    assert page_errors(["I am", "Dear Sir"], truth).char_edits > 0  # the order counts
    swapped = page_errors_any_order(["I am", "Dear Sir"], baselines[::-1], truth, baselines)
    assert swapped.cer == 0
    missed = page_errors_any_order(["Dear Sir"], baselines[:1], truth, baselines)
    assert missed.char_edits == 4 and missed.chars == 12
    assigned, missed, extra = any_order_parts(
        ["Dear Sir", "p. 2"], [baselines[0], _baseline(150, 190, 30)], truth, baselines
    )
    assert (assigned.char_edits, missed.char_edits, extra.char_edits) == (0, 4, 4)


def test_page_cer_free_of_order_reads_a_line_found_in_pieces_whole():
    truth, baselines = ["Dear Sir", "I am"], [_baseline(0, 99, 15), _baseline(0, 99, 45)]
    pieces = [_baseline(50, 99, 22), _baseline(0, 99, 40), _baseline(0, 45, 13)]  # the right half first; 7 px off
    assert page_errors_any_order(["Sir", "I am", "Dear"], pieces, truth, baselines).cer == 0
    beside = _baseline(150, 190, 30)  # shares no column with the page's lines
    extra = page_errors_any_order(["Dear Sir", "I am", "p. 2"], [*baselines, beside], truth, baselines)
    assert extra.char_edits == 4 and extra.chars == 12
    no_baseline = page_errors_any_order(["Dear Sir", "I am"], baselines, truth, [baselines[0], None])
    assert no_baseline.char_edits == 4 + 5  # "I am" missed, and read into the first line (" I am")


def test_a_found_line_farther_from_the_page_s_lines_than_they_lie_apart_is_extra():
    truth, baselines = ["Dear Sir", "I am"], [_baseline(0, 99, 15), _baseline(0, 99, 45)]  # 30 apart
    below = _baseline(0, 99, 70)  # 25 under the last line: a piece of it
    assigned, missed, extra = any_order_parts(["Dear Sir", "I am", "yours"], [*baselines, below], truth, baselines)
    assert (assigned.char_edits, missed.char_edits, extra.char_edits) == (6, 0, 0)  # "I am yours"
    note = _baseline(0, 99, 80)  # 35 under it: farther than the lines lie apart, writing of its own
    assigned, missed, extra = any_order_parts(["Dear Sir", "I am", "yours"], [*baselines, note], truth, baselines)
    assert (assigned.char_edits, missed.char_edits, extra.char_edits) == (0, 0, 5)
    alone = any_order_parts(["Dear Sir", "p. 2"], [baselines[0], _baseline(0, 99, 300)], truth[:1], baselines[:1])
    assert alone[2].char_edits == 0  # a page of one line has no spacing to go by: the nearest line takes it


def test_baseline_distance_is_the_mean_over_shared_columns():
    flat, sloped = np.array([[0.0, 10], [100, 10]]), np.array([[50.0, 20], [150, 30]])
    assert baseline_distance(flat, sloped) == pytest.approx(12.5)  # 10 to 15 over columns 50-100
    assert baseline_distance(flat, np.array([[101.0, 10], [200, 10]])) == np.inf
