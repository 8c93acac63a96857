"""Transcribing whole pages: every text line of a PAGE-XML or ALTO layout, cut from its page image,
read, and placed back on the page (characters and words in page pixels).

One page is held at a time, so a folder of pages streams. Writing the readings back into
the layout's format, or another, is :mod:`hwr.page_output`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from hwr.data.images import PAGE_MAX_PIXELS, auto_scale, normalize_line, read_gray
from hwr.data.layout import LayoutLine, PageLayout, crop_origin, cut_line, polygon_height, read_layout
from hwr.errors import ImageError
from hwr.model_file import Model
from hwr.recognizer import Character, Transcription, transcribe_normalized, word_confidence, words_of

if TYPE_CHECKING:
    from hwr.segmentation.model import SegmentationModel


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[int, int, int, int]
    """(x, y, width, height) in page pixels."""
    confidence: float
    """Geometric mean of its characters' confidences."""
    characters: tuple[Character, ...]
    """Its characters, their columns in page pixels."""


@dataclass(frozen=True)
class LineReading:
    line: LayoutLine
    transcription: Transcription
    """Its characters' columns in page pixels."""
    words: tuple[Word, ...]


@dataclass
class PageReading:
    layout: PageLayout
    size: tuple[int, int]
    """(width, height) of the page image."""
    lines: list[LineReading]
    scale: float | None = None
    """The factor its lines were read at (None: the model's preprocessing as it is)."""


def read_page(
    model: Model,
    xml: str | Path,
    image: str | Path | None = None,
    batch_size: int = 16,
    scale: float | Literal["auto"] | None = None,
) -> PageReading:
    """Every line of the layout ``xml`` (its page image, or ``image``) read by ``model``, at
    ``scale`` (``auto``: this page's median line made as high as the model's lines, since the pages
    of a collection are often scanned at several resolutions); raises
    :class:`~hwr.errors.PageXmlError` or :class:`~hwr.errors.ImageError` naming the file."""
    return read_layout_page(model, read_layout(xml, image), batch_size, scale)


def transcribe_page(
    model: Model,
    image: str | Path,
    layout: str | Path | None = None,
    segmenter: SegmentationModel | None = None,
    batch_size: int = 16,
    scale: float | Literal["auto"] | None = None,
) -> PageReading:
    """The page image ``image`` read whole: the lines of its ``layout`` (a PAGE-XML or ALTO file) or,
    without one, those that ``segmenter`` finds (None: the shipped default segmenter)."""
    if layout is not None:
        return read_page(model, layout, image, batch_size, scale)
    from hwr.api import load_segmenter
    from hwr.segmentation.layout import segmented_layout

    found = (segmenter or load_segmenter()).segment(image)
    image = Path(image)
    return read_layout_page(model, segmented_layout(found, "page", image.with_suffix(".xml")), batch_size, scale)


def read_layout_page(
    model: Model, layout: PageLayout, batch_size: int = 16, scale: float | Literal["auto"] | None = None
) -> PageReading:
    """:func:`read_page` of a layout already read (or made by the segmenter)."""
    try:
        page = read_gray(layout.image, PAGE_MAX_PIXELS)
    except ImageError as exc:
        raise ImageError(f"{layout.path}: its page image: {exc}") from None
    if scale == "auto":
        heights = [polygon_height(line.polygon) for line in layout.lines]
        scale = auto_scale(heights, model.preprocessing) if heights else None
    preprocessing = model.preprocessing if scale is None else replace(model.preprocessing, scale=scale)
    crops = [_crop(page, line.polygon) for line in layout.lines]
    images = [normalize_line(cut, preprocessing) for cut, *_ in crops]
    transcriptions = transcribe_normalized(model, images, batch_size, [cut.shape[1] for cut, *_ in crops])
    lines = [
        _on_page(line, transcription, *crop) for line, transcription, crop in zip(layout.lines, transcriptions, crops)
    ]
    return PageReading(layout, (page.shape[1], page.shape[0]), lines, scale)


def _crop(page: np.ndarray, polygon: np.ndarray) -> tuple[np.ndarray, int, int, np.ndarray]:
    """The cut line, its top-left corner on the page, and its polygon's mask on it."""
    cut = cut_line(page, polygon)
    x0, y0 = crop_origin(polygon)
    inside = np.zeros(cut.shape, np.uint8)
    cv2.fillPoly(inside, [(polygon - [x0, y0]).astype(np.int32)], 1)
    return cut, x0, y0, inside


def _on_page(
    line: LayoutLine, transcription: Transcription, cut: np.ndarray, x0: int, y0: int, inside: np.ndarray
) -> LineReading:
    """The reading with its characters moved onto the page, and grouped into words with boxes."""
    characters = tuple(Character(c.text, c.start + x0, c.end + x0, c.confidence) for c in transcription.characters)
    words = tuple(_word(word, x0, y0, inside) for word in words_of(characters))
    placed = Transcription(transcription.text, transcription.confidence, characters)
    return LineReading(line, placed, words)


def _word(characters: tuple[Character, ...], x0: int, y0: int, inside: np.ndarray) -> Word:
    """A word over its characters' columns, as high as the line's polygon is there."""
    left, right = characters[0].start, characters[-1].end
    rows = np.flatnonzero(inside[:, max(0, left - x0) : max(left - x0 + 1, right - x0)].any(axis=1))
    top, bottom = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, inside.shape[0])
    text = "".join(c.text for c in characters)
    return Word(text, (left, y0 + top, right - left, bottom - top), word_confidence(characters), characters)
