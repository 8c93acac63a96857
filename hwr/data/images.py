"""Reading line images with OpenCV and normalising them for the network.

The network wants ink as high values on a zero background (padding is zero), a
fixed height and the width that keeps the aspect ratio.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from hwr.errors import ConfigError, ImageError
from hwr.settings import checked_fields

MAX_PIXELS = 50_000_000
"""Larger line images are refused before decoding (a line image is far smaller; this guards memory)."""
PAGE_MAX_PIXELS = 400_000_000
"""Larger page images are refused before decoding: 20,000 x 20,000 pixels, 0.4 GB in 8-bit gray."""


@dataclass(frozen=True)
class Preprocessing:
    """How a line image becomes network input; stored in the model file."""

    height: int = 32
    """Rows of the normalised line (32 suits the default network's blocks)."""
    scale: float | None = None
    """None: the whole crop is resized to ``height`` rows, keeping its aspect ratio.
    A number: the line is resized by this fixed factor, then ``height`` rows are cut
    around its densest band of ink (zero-padded where the crop is lower). Crops of one
    collection differ in height with the neighbouring lines they take in, not with the
    writing, so a fixed factor keeps the letters one size where fitting the crop to
    ``height`` would vary it (Joseph Hooker: 3.5x between the 5th and 95th percentile of
    lines, against 1.75x for the writing itself)."""

    def __post_init__(self) -> None:
        if self.height < 1:
            raise ConfigError(f"height must be at least 1, got {self.height}")
        if self.scale is not None and not 0 < self.scale <= 8:
            raise ConfigError(f"scale must be in (0, 8], got {self.scale}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(**checked_fields(cls, data, "preprocessing"))


def read_gray(path: str | Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image at ``path`` as 8-bit grayscale (colour averaged, alpha composited on white, 16-bit
    scaled); one of more than ``max_pixels`` is refused (pages: :data:`PAGE_MAX_PIXELS`)."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise ImageError(f"{path}: cannot read image ({getattr(exc, 'strerror', None) or exc})") from None
    if data.size == 0:
        raise ImageError(f"{path}: empty file, not an image")
    return decode_gray(data, path, max_pixels)


def _declared_size(source: io.BytesIO | Path) -> tuple[int, int] | None:
    """(width, height) from the image header, without decoding the pixels; None if unreadable. Pillow
    reads as far into ``source`` as its format needs (a JPEG's size may follow megabytes of EXIF)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = None  # hwr applies its own limit, MAX_PIXELS, to the declared size
        try:
            with Image.open(source) as image:
                return image.size
        except (OSError, ValueError, SyntaxError):
            return None


def image_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from the header of the image file at ``path``, without decoding its pixels;
    None where it is missing or no image."""
    return _declared_size(Path(path))


def decode_gray(data: np.ndarray, path: str | Path = "<bytes>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, TIFF, ...) to 8-bit grayscale; see :func:`read_gray`.

    The size in the header is checked first, so a huge image is refused before
    its pixels take memory.
    """
    size = _declared_size(io.BytesIO(data.tobytes()))
    if size is not None and size[0] * size[1] > max_pixels:
        raise ImageError(f"{path}: image too large ({size[0]}x{size[1]} pixels, at most {max_pixels:,})")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise ImageError(f"{path}: cannot decode image ({exc.msg.strip() if hasattr(exc, 'msg') else exc})") from None
    if image is None:
        raise ImageError(f"{path}: not an image or corrupt (OpenCV cannot decode it)")
    return to_gray(image, path, max_pixels)


def to_gray(image: np.ndarray, path: str | Path = "<array>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A decoded image (gray, BGR or BGRA as OpenCV gives them; any dtype) as 8-bit grayscale."""
    if image.ndim not in (2, 3) or image.size == 0:
        raise ImageError(f"{path}: not an image array (shape {image.shape})")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise ImageError(f"{path}: image too large ({image.shape[1]}x{image.shape[0]} pixels, at most {max_pixels:,})")
    if image.dtype != np.uint8:
        image = _to_uint8(image)
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = (image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.shape[2] == 3 else image[:, :, 0]
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ImageError(f"{path}: image too small ({image.shape[1]}x{image.shape[0]} pixels)")
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    image = image.astype(np.float64)
    lo, hi = float(np.nanmin(image)), float(np.nanmax(image))
    scaled = (image - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(image)
    return np.nan_to_num(scaled).astype(np.uint8)


def normalize_line(gray: np.ndarray, preprocessing: Preprocessing) -> np.ndarray:
    """8-bit grayscale line -> uint8 ``(height, width)``, ink high, background ~0, contrast stretched.

    Most pixels of a line are paper, so a light median means dark ink on light
    paper, which is inverted; then the paper level (median) maps to 0 and the
    strongest ink to 255.
    """
    image = gray.astype(np.float32)
    if np.median(image) >= 128:
        image = 255.0 - image
    paper = float(np.median(image))
    ink = float(np.percentile(image, 99.5))
    if ink - paper < 1:
        ink = paper + 1
    image = np.clip((image - paper) * (255.0 / (ink - paper)), 0, 255)
    h, w = image.shape
    factor = preprocessing.height / h if preprocessing.scale is None else preprocessing.scale
    height = preprocessing.height if preprocessing.scale is None else max(1, round(h * factor))
    width = max(1, round(w * factor))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    image = cv2.resize(image, (width, height), interpolation=interpolation)
    if preprocessing.scale is not None:
        image = _ink_band(image, preprocessing.height)
    return image.astype(np.uint8)


def _ink_band(image: np.ndarray, height: int) -> np.ndarray:
    """``height`` rows of ``image`` centred on the ink of its densest ``height // 3`` rows, zero-padded.

    The density is weighted by a Gaussian prior (sigma a quarter of the crop's height)
    around the crop's middle row: a crop is the bounding box of its own line, so that
    line sits near the middle, while a neighbouring line cut in at the top or bottom may
    hold more ink (Hooker, letter JDH_2_16_80, closely spaced lines: without the prior
    the cut often took the neighbour, and that letter's CER rose by 8 points).
    """
    profile = image.sum(axis=1, dtype=np.float64)
    window = max(1, min(height // 3, len(profile)))
    density = np.convolve(profile, np.ones(window), mode="valid")
    offsets = np.arange(len(density)) + (window - 1) / 2 - (len(profile) - 1) / 2
    start = int(np.argmax(density * np.exp(-0.5 * (offsets / (len(profile) / 4)) ** 2)))
    band = profile[start : start + window]
    centre = start + (band @ np.arange(window) / band.sum() if band.sum() > 0 else (window - 1) / 2)
    top = round(centre + 0.5 - height / 2)
    out = np.zeros((height, image.shape[1]), image.dtype)
    src = image[max(top, 0) : top + height]
    out[max(-top, 0) : max(-top, 0) + len(src)] = src
    return out


PAGE_LINES = 3
"""An image as high as this many normalised lines (at a fixed scale) is taken for a page."""
PAGE_SIDE = 400
"""Pixels: an image higher than wide is taken for a page from this height on."""


def looks_like_a_page(size: tuple[int, int], preprocessing: Preprocessing) -> bool:
    """Whether an image of ``size`` (width, height) is more likely a page or a block of lines than a
    line: higher than wide and at least :data:`PAGE_SIDE` high (a line of one letter may be higher
    than wide), or (where the model reads at a fixed scale) higher than :data:`PAGE_LINES` of its lines."""
    width, height = size
    if height > width and height >= PAGE_SIDE:
        return True
    return preprocessing.scale is not None and height * preprocessing.scale > PAGE_LINES * preprocessing.height


def auto_scale(heights: list[int], preprocessing: Preprocessing) -> float:
    """The scale at which lines of these crop ``heights`` (pixels) are read as the model's were: the
    median crop as high as its normalised lines (its recipes scale their sets' median crop to
    ``preprocessing.height``)."""
    if not heights:
        raise ImageError("no line heights to choose a scale from")
    return min(8.0, max(0.01, preprocessing.height / float(np.median(heights))))
