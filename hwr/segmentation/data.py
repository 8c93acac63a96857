"""Pages to learn segmentation from: a PAGE/ALTO file's page image as the segmenter's input, and its
lines drawn as the maps it should output (:mod:`hwr.segmentation.targets`), aligned pixel for pixel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwr.data.images import PAGE_MAX_PIXELS, read_gray
from hwr.data.layout import read_layout
from hwr.errors import PageXmlError
from hwr.segmentation.config import HEIGHT_UNIT, STRIDE, SegmenterConfig
from hwr.segmentation.network import page_input
from hwr.segmentation.targets import LineShape, draw_maps


@dataclass(frozen=True)
class TrainingPage:
    path: Path
    image: np.ndarray
    """``(H, W)`` float16 (half the memory of a run's pages): the input (:func:`~hwr.segmentation.network.page_input`)."""
    maps: np.ndarray
    """``(3, H / 2, W / 2)`` float16: baseline (0/1), heights above and below in :data:`HEIGHT_UNIT`."""
    lines: list[LineShape]
    """In page pixels, for scoring."""
    size: tuple[int, int]
    """The page's (width, height)."""


def layout_lines(xml: Path) -> tuple[list[LineShape], tuple[int, int], Path]:
    """A layout file's lines with a baseline (each as baseline and polygon), its page size and image;
    raises PageXmlError where it gives no page size."""
    layout = read_layout(xml)
    if layout.size is None:
        raise PageXmlError(f"{xml}: no page size")
    lines = [
        LineShape(line.baseline.astype(np.float64), line.polygon.astype(np.float64))
        for line in layout.lines
        if line.baseline is not None and len(line.baseline) >= 2
    ]
    return lines, layout.size, layout.image


def training_page(xml: Path, config: SegmenterConfig, zoom: float = 1.0) -> TrainingPage:
    """The page of the layout file ``xml`` with its target maps, read ``zoom`` times larger than the
    segmenter reads it (other scales teach it pages of other resolutions)."""
    lines, size, image_path = layout_lines(xml)
    gray = read_gray(image_path, PAGE_MAX_PIXELS)
    factor = np.array([gray.shape[1] / size[0], gray.shape[0] / size[1]])  # 1 where the file's size is the image's
    lines = [LineShape(line.baseline * factor, line.polygon * factor) for line in lines]
    size = (gray.shape[1], gray.shape[0])
    image = page_input(gray, config, zoom)
    drawn = draw_maps(lines, size, config.map_scale(size) * zoom)
    rows, cols = image.shape[0] // STRIDE, image.shape[1] // STRIDE
    maps = np.zeros((3, rows, cols), np.float32)
    for k, layer in enumerate((drawn.baseline, drawn.above / HEIGHT_UNIT, drawn.below / HEIGHT_UNIT)):
        r, c = min(rows, layer.shape[0]), min(cols, layer.shape[1])
        maps[k, :r, :c] = layer[:r, :c]
    return TrainingPage(xml, image.astype(np.float16), maps.astype(np.float16), lines, size)


def random_crop(page: TrainingPage, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` input window (a multiple of :data:`GRID`) of ``page`` and its maps, zero-padded
    where the page is smaller."""
    height, width = page.image.shape
    top = int(rng.integers(0, max(1, height - size + 1))) // STRIDE * STRIDE
    left = int(rng.integers(0, max(1, width - size + 1))) // STRIDE * STRIDE
    image = np.zeros((size, size), np.float32)
    window = page.image[top : top + size, left : left + size]
    image[: window.shape[0], : window.shape[1]] = window
    maps = np.zeros((3, size // STRIDE, size // STRIDE), np.float32)
    part = page.maps[:, top // STRIDE : (top + size) // STRIDE, left // STRIDE : (left + size) // STRIDE]
    maps[:, : part.shape[1], : part.shape[2]] = part
    return image, maps


def vary_ink(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` (ink high, in [0, 1]) with fainter or bolder ink and less contrast, as faded or
    dark scans have: a random gamma and gain."""
    return image ** rng.uniform(0.6, 1.6) * rng.uniform(0.5, 1.0)
