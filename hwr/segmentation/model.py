"""A trained segmenter and its model file: the network's weights with its config in the header,
checksummed like a recognizer's (:func:`hwr.model_file.write_checked`), and never a pickle.

``SegmentationModel.segment(image)`` finds the lines of a page image: the network's maps, then
:func:`hwr.segmentation.lines.find_lines`. Training checkpoints are segmenter files with extra
header fields and tensors, so any checkpoint can segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from hwr.data.images import PAGE_MAX_PIXELS, read_gray, to_gray
from hwr.errors import ConfigError, ModelFileError
from hwr.model_file import SEGMENTER_FORMAT, VERSION, read_checked, write_checked
from hwr.segmentation.config import SegmenterConfig
from hwr.segmentation.lines import THRESHOLD, FoundLine, find_lines, ink_map, ink_pitch, line_pitch
from hwr.segmentation.network import Segmenter, averaged_maps, maps_at

NETWORK_PREFIX = "network."
MAX_ENLARGEMENT = 2.0
"""A dense page is read at most this much larger than its first zoom: for a page of 1600 pixels and
an input of 800, its own pixels, in 1.2-1.5 s (``datasets/segmentation/RESULTS.md``)."""
SHEET_AREA = 0.5
"""A page whose first reading finds all its lines within a box of less than this share of its area,
and whose ink there lies in rows closer than :data:`SHEET_PITCH`, is a small sheet on a large scan:
read whole, its lines lie too close for the network, which sees a few merged lines, too few to tell
the dense rule how close they lie. The box alone is read instead, larger
(``datasets/segmentation/RESULTS.md``)."""
SHEET_PITCH = 12.0
"""Input pixels between rows of ink, at the first zoom, below which a box is a sheet's
(:func:`~hwr.segmentation.lines.ink_pitch`): 8-10 on the sheets whose lines the page read whole
misses, 14.5 and more on the pages it reads as well or better (CREMMA's two-column valid page),
27 and more on short letters that leave a page as empty."""
SHEET_MARGIN = 0.02
"""The box reaches this share of the page's longer side beyond its lines' polygons."""


@dataclass(frozen=True)
class Segmentation:
    """The lines found on one page."""

    image: Path | None
    """The page image, where it was read from a file."""
    size: tuple[int, int]
    """(width, height) of the page image."""
    lines: list[FoundLine]
    """In reading order, in page pixels."""


@dataclass
class SegmentationModel:
    network: Segmenter
    threshold: float = THRESHOLD
    """A map pixel with this baseline probability or more is on a line."""
    zooms: tuple[float, ...] = (1.0, 1.25)
    """The page is read at each of these zooms of the network's input size, and the maps averaged
    (:func:`~hwr.segmentation.network.averaged_maps`): 0.011 more baseline and line F than one on the
    shared sets' valid pages (``datasets/segmentation/RESULTS.md``). A dense page is read once,
    larger, instead (:attr:`dense_pitch`)."""
    dense_pitch: float = 24.0
    """A page whose lines lie closer than this (:func:`~hwr.segmentation.lines.line_pitch`, in input
    pixels at the first zoom) is read again, once, at the zoom that brings them ``pitch_target``
    apart (at most :data:`MAX_ENLARGEMENT` times the first): the network learned lines mostly 23-45
    pixels apart, and it reads CREMMA's densest pages (13-23) as merged lines
    (``datasets/segmentation/RESULTS.md``)."""
    pitch_target: float = 30.0
    """How far apart (input pixels) a dense page's lines are brought by reading it larger."""

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ConfigError(f"segmentation threshold {self.threshold} is not in (0, 1)")
        if not self.zooms or not all(0.25 <= zoom <= 4 for zoom in self.zooms):
            raise ConfigError(f"segmentation zooms {self.zooms} are not in [0.25, 4]")
        if not 0 < self.dense_pitch <= self.pitch_target:
            raise ConfigError(
                f"segmentation dense_pitch {self.dense_pitch} and pitch_target {self.pitch_target}: "
                "need 0 < dense_pitch <= pitch_target"
            )

    @property
    def config(self) -> SegmenterConfig:
        return self.network.config

    def segment(self, image: str | Path | np.ndarray) -> Segmentation:
        """The lines of a page image (a file, or an array as OpenCV reads it), in reading order;
        raises :class:`~hwr.errors.ImageError` naming a file that cannot be read."""
        path = None if isinstance(image, np.ndarray) else Path(image)
        gray = read_gray(path, PAGE_MAX_PIXELS) if path is not None else to_gray(image, max_pixels=PAGE_MAX_PIXELS)  # type: ignore[arg-type]
        size = (gray.shape[1], gray.shape[0])
        scale = self.config.map_scale(size)
        first = maps_at(self.network, gray, self.zooms[0])
        first_lines = find_lines(*first, scale * self.zooms[0], self.threshold)
        sheet = self._sheet(gray, first_lines)
        if sheet is not None:
            return Segmentation(path, size, [_on_page(line, size) for line in self._sheet_lines(gray, *sheet)])
        enlargement = self._enlargement(first_lines, size)
        if enlargement > 1:  # one reading, larger: two would double a dense page's time
            zooms = (self.zooms[0] * enlargement,)
            readings = [(zooms[0], maps_at(self.network, gray, zooms[0]))]
        else:
            zooms = self.zooms
            readings = [(zooms[0], first)] + [(zoom, maps_at(self.network, gray, zoom)) for zoom in zooms[1:]]
        maps = averaged_maps(readings)
        lines = find_lines(*maps, scale * zooms[0], self.threshold, ink_map(gray, maps[0].shape))
        return Segmentation(path, size, [_on_page(line, size) for line in lines])

    def _sheet(self, gray: np.ndarray, lines: list[FoundLine]) -> tuple[tuple[int, int, int, int], float] | None:
        """The box (left, top, right, bottom) of a small sheet on the page (:data:`SHEET_AREA`) and the
        zoom to read it alone at, which brings its rows of ink ``pitch_target`` apart; None for a page."""
        size = (gray.shape[1], gray.shape[0])
        box = _box(lines, size)
        if box is None or (box[2] - box[0]) * (box[3] - box[1]) >= SHEET_AREA * size[0] * size[1]:
            return None
        pitch = ink_pitch(gray[box[1] : box[3], box[0] : box[2]])
        if not pitch * self.config.input_scale(size) * self.zooms[0] < SHEET_PITCH:  # nan too
            return None
        input_scale = self.config.input_scale((box[2] - box[0], box[3] - box[1]))
        zoom = self.pitch_target / (pitch * input_scale)
        return box, float(np.clip(zoom, self.zooms[0], self.zooms[0] * MAX_ENLARGEMENT))

    def _sheet_lines(self, gray: np.ndarray, box: tuple[int, int, int, int], zoom: float) -> list[FoundLine]:
        """The lines of the sheet in ``box``, read alone at ``zoom``, in page pixels."""
        left, top, right, bottom = box
        sheet = gray[top:bottom, left:right]
        maps = maps_at(self.network, sheet, zoom)
        scale = self.config.map_scale((right - left, bottom - top)) * zoom
        return [
            _moved(line, left, top) for line in find_lines(*maps, scale, self.threshold, ink_map(sheet, maps[0].shape))
        ]

    def _enlargement(self, lines: list[FoundLine], size: tuple[int, int]) -> float:
        """How much larger than its zooms to read a page whose ``lines`` (found at the first zoom)
        lie closer than :attr:`dense_pitch`; 1 for any other page."""
        pitch = line_pitch([line.baseline for line in lines]) * self.config.input_scale(size) * self.zooms[0]
        if not pitch < self.dense_pitch:  # nan too: fewer than two lines
            return 1.0
        return min(self.pitch_target / pitch, MAX_ENLARGEMENT)


def _box(lines: list[FoundLine], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the part of a page that holds all its ``lines``, with a margin
    (:data:`SHEET_MARGIN`); None without lines."""
    if not lines:
        return None
    points = np.concatenate([line.polygon for line in lines])
    margin = SHEET_MARGIN * max(size)
    left, top = np.maximum(np.floor(points.min(axis=0) - margin), 0).astype(int)
    right, bottom = np.minimum(np.ceil(points.max(axis=0) + margin), size).astype(int)
    return int(left), int(top), int(right), int(bottom)


def _moved(line: FoundLine, left: int, top: int) -> FoundLine:
    """``line`` found on a part of a page whose corner is at (left, top), on the page."""
    offset = np.array([left, top], np.float64)
    return FoundLine(line.baseline + offset, line.polygon + offset, line.confidence)


def _on_page(line: FoundLine, size: tuple[int, int]) -> FoundLine:
    """``line`` with its points moved onto the page, where a map pixel at its edge reached past it."""
    edge = np.array(size, np.float64) - 1
    return FoundLine(np.clip(line.baseline, 0, edge), np.clip(line.polygon, 0, edge), line.confidence)


def save_segmenter(
    path: str | Path,
    model: SegmentationModel,
    extra_header: dict[str, Any] | None = None,
    extra_tensors: dict[str, Tensor] | None = None,
) -> None:
    """Write ``model`` (plus optional extra JSON fields and tensors, a checkpoint's) to ``path`` atomically."""
    header = {
        **(extra_header or {}),
        "format": SEGMENTER_FORMAT,
        "version": VERSION,
        "segmenter": model.config.to_dict(),
        "threshold": model.threshold,
        "zooms": list(model.zooms),
        "dense_pitch": model.dense_pitch,
        "pitch_target": model.pitch_target,
    }
    tensors = {NETWORK_PREFIX + name: t for name, t in model.network.state_dict().items()}
    write_checked(path, header, {**tensors, **(extra_tensors or {})})


def read_segmenter_file(path: str | Path) -> tuple[SegmentationModel, dict[str, Any], dict[str, Tensor]]:
    """The segmenter, the whole JSON header and the tensors that are not its weights."""
    header, tensors = read_checked(path, SEGMENTER_FORMAT)
    weights = {k[len(NETWORK_PREFIX) :]: t for k, t in tensors.items() if k.startswith(NETWORK_PREFIX)}
    extra = {k: t for k, t in tensors.items() if not k.startswith(NETWORK_PREFIX)}
    try:
        network = Segmenter(SegmenterConfig.from_dict(header["segmenter"]))
        network.load_state_dict(weights)
        dense = {k: float(header[k]) for k in ("dense_pitch", "pitch_target") if k in header}  # older files: defaults
        model = SegmentationModel(network, float(header["threshold"]), tuple(header["zooms"]), **dense)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: inconsistent segmentation model file ({exc})") from None
    network.eval()
    return model, header, extra


def load_segmenter(path: str | Path) -> SegmentationModel:
    """Read a segmenter (or a segmenter's checkpoint) file; any problem raises :class:`ModelFileError`."""
    return read_segmenter_file(path)[0]
