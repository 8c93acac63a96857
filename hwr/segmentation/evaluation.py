"""A segmenter scored on pages with layouts: ``hwr evaluate-segmentation``, and the benchmarks' numbers.

Per page: the cBAD baseline scores and the line detection scores of what the segmenter finds
(:mod:`hwr.segmentation.metrics`) and its CPU seconds; with a recognizer, the page CER of reading
the found lines (in their reading order, and free of it) beside the CER of reading the layout's
own lines, so that what the segmentation costs in CER is their difference. With ``regions``,
found lines outside the layout's text regions are left out (for pages annotated in part).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from hwr.data.layout import read_layout
from hwr.errors import failure
from hwr.metrics import ErrorCounts
from hwr.model_file import Model
from hwr.pages import read_layout_page
from hwr.segmentation.layout import segmented_layout
from hwr.segmentation.lines import FoundLine
from hwr.segmentation.metrics import Scores, any_order_parts, baseline_scores, line_scores, page_errors
from hwr.segmentation.model import Segmentation, SegmentationModel

NONE = Scores(0, 0, 0, 0)


@dataclass(frozen=True)
class PageScore:
    path: Path
    baselines: Scores
    lines: Scores
    found: int
    """Lines found (after the region restriction, if asked)."""
    seconds: float
    """CPU seconds of the segmentation (network and post-processing)."""
    errors: ErrorCounts | None = None
    """The found lines' readings in reading order against the page's text."""
    errors_any_order: ErrorCounts | None = None
    errors_of_layout: ErrorCounts | None = None
    """The layout's own lines' readings against the page's text."""
    missed: ErrorCounts | None = None
    """Of ``errors_any_order``: the layout's lines that no found line went to."""
    extra: ErrorCounts | None = None
    """Of ``errors_any_order``: the readings of found lines that went to no layout line."""


@dataclass
class SegmentationReport:
    pages: list[PageScore] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def total(self, name: str) -> Scores | ErrorCounts:
        start = NONE if name in ("baselines", "lines") else ErrorCounts()
        return sum((getattr(page, name) for page in self.pages), start)

    def any_order_points(self) -> tuple[float, float]:
        """Points of the any-order page CER from layout lines missed, and from extra found lines."""
        characters = max(1, self.total("errors_any_order").chars)
        return tuple(100 * self.total(name).char_edits / characters for name in ("missed", "extra"))  # type: ignore[return-value]

    def rows(self) -> list[str]:
        """The report as ``hwr evaluate-segmentation`` prints it."""
        if not self.pages:
            return [f"pages: 0 evaluated, {len(self.problems)} skipped"]
        baselines, lines = self.total("baselines"), self.total("lines")
        seconds = [page.seconds for page in self.pages]
        rows = [
            f"pages: {len(self.pages)} evaluated, {len(self.problems)} skipped",
            f"baselines (cBAD): P {baselines.precision:.4f}  R {baselines.recall:.4f}  F {baselines.f:.4f}",
            f"lines (IoU >= 0.5): P {lines.precision:.4f}  R {lines.recall:.4f}  F {lines.f:.4f}"
            f"  ({sum(page.found for page in self.pages)} found, {lines.truth} in the layouts)",
            f"segmentation: {np.mean(seconds):.2f} CPU s a page (at most {max(seconds):.2f})",
        ]
        if self.pages[0].errors is not None:
            for label, name in (
                ("found lines, reading order", "errors"),
                ("found lines, any order", "errors_any_order"),
                ("the layout's lines", "errors_of_layout"),
            ):
                counts = self.total(name)
                rows.append(f"page CER, {label}: {100 * counts.cer:.2f}% (WER {100 * counts.wer:.2f}%)")
            missed, extra = self.any_order_points()
            rows.append(
                f"  of the any-order CER: {missed:.2f} points from layout lines missed, "
                f"{extra:.2f} from found lines that are no layout line's"
            )
        return rows


def evaluate_pages(
    segmenter: SegmentationModel,
    layouts: Sequence[Path],
    recognizer: Model | None = None,
    regions: bool = False,
    advance: Callable[[int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    scale: float | Literal["auto"] | None = None,
) -> SegmentationReport:
    """``segmenter`` scored on the pages of ``layouts``; a page that fails is reported in the report's
    problems (and to ``warn``) and the others are scored. ``scale``: as the recognizer reads both
    layouts' lines (``auto``: each layout's lines at the scale of its own)."""
    report = SegmentationReport()
    for path in layouts:
        try:
            report.pages.append(evaluate_page(segmenter, path, recognizer, regions, scale))
        except Exception as exc:  # one page never stops the others
            problem = f"{failure(str(path), exc)}; page skipped"
            report.problems.append(problem)
            if warn is not None:
                warn(f"warning: {problem}")
        if advance is not None:
            advance(1)
    return report


def evaluate_page(
    segmenter: SegmentationModel,
    path: Path,
    recognizer: Model | None = None,
    regions: bool = False,
    scale: float | Literal["auto"] | None = None,
) -> PageScore:
    layout = read_layout(path)
    start = time.process_time()
    found = segmenter.segment(layout.image)
    seconds = time.process_time() - start
    lines = found.lines
    if regions and layout.regions:
        lines = [line for line in lines if _inside_any(line, layout.regions)]
    truth = [line for line in layout.lines if line.baseline is not None and len(line.baseline) >= 2]
    factor = _factor(layout.size, found.size)
    baselines = baseline_scores([f.baseline for f in lines], [t.baseline * factor for t in truth], found.size)
    detected = line_scores([f.polygon for f in lines], [t.polygon * factor for t in layout.lines])
    if recognizer is None:
        return PageScore(path, baselines, detected, len(lines), seconds)
    texts = [line.text or "" for line in layout.lines]
    ours = Segmentation(found.image, found.size, lines)
    reading = read_layout_page(recognizer, segmented_layout(ours, "page", path.with_suffix(".hwr.xml")), scale=scale)
    readings = [line.transcription.text for line in reading.lines]
    theirs = [line.transcription.text for line in read_layout_page(recognizer, layout, scale=scale).lines]
    truth_baselines = [None if t.baseline is None else t.baseline * factor for t in layout.lines]
    assigned, missed, extra = any_order_parts(
        readings, [line.line.baseline for line in reading.lines], texts, truth_baselines
    )
    return PageScore(
        path,
        baselines,
        detected,
        len(lines),
        seconds,
        page_errors(readings, texts),
        assigned + missed + extra,
        page_errors(theirs, texts),
        missed,
        extra,
    )


def _factor(layout_size: tuple[int, int] | None, image_size: tuple[int, int]) -> np.ndarray:
    """Layout pixels to image pixels: 1 where the layout was made on this image."""
    if layout_size is None:
        return np.ones(2)
    return np.array(image_size, np.float64) / np.array(layout_size, np.float64)


def _inside_any(line: FoundLine, outlines: list[np.ndarray]) -> bool:
    """Whether the mean of ``line``'s baseline points lies inside one of ``outlines``."""
    x, y = line.baseline.mean(axis=0)
    return any(
        cv2.pointPolygonTest(o.astype(np.float32).reshape(-1, 1, 2), (float(x), float(y)), False) >= 0 for o in outlines
    )
