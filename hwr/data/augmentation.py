"""Training-time augmentation of normalised line images (ink high, uint8).

Each transform is applied with some probability and mild strength, so the
result stays readable: a small random affine map (slant, horizontal scale,
rotation; optionally vertical scale and shift), an elastic distortion (smoothed
random displacements), a change of stroke width (dilation or erosion), optionally
a change of ink contrast and a blur, and pixel noise. The height is kept.

The optional transforms are off by default (strength 0). They target what differs
between the letters of one writer written decades apart (pen, ink, letter size,
position in the crop) rather than the shapes within a line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from hwr.errors import ConfigError
from hwr.settings import checked_fields


@dataclass(frozen=True)
class Augmentation:
    """Strengths of each transform; ``probability`` is per transform."""

    probability: float = 0.5
    slant: float = 0.3
    """Largest horizontal shear (x shift per row of height)."""
    scale: float = 0.12
    """Largest relative change of the width."""
    rotation: float = 1.5
    """Largest rotation, degrees."""
    elastic: float = 1.5
    """Largest elastic displacement, pixels at height 64 (scaled with the height)."""
    noise: float = 0.06
    """Largest noise standard deviation, as a fraction of full ink."""
    vertical: float = 0.0
    """Largest relative change of the writing's height (scaled about the middle row)."""
    shift: float = 0.0
    """Largest vertical shift, as a fraction of the height."""
    contrast: float = 0.0
    """Largest change of the ink's gamma: intensities are raised to exp(u), |u| <= this."""
    blur: float = 0.0
    """Largest Gaussian blur sigma, pixels at height 64 (scaled with the height)."""

    def __post_init__(self) -> None:
        if not 0 <= self.probability <= 1:
            raise ConfigError(f"augmentation probability must be in [0, 1], got {self.probability}")
        for name, value in asdict(self).items():
            if value < 0:
                raise ConfigError(f"augmentation {name} must not be negative, got {value}")
        if self.vertical >= 1:
            raise ConfigError(f"augmentation vertical must be below 1, got {self.vertical}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Augmentation:
        return cls(**checked_fields(cls, data, "augmentation"))


def augment(image: np.ndarray, config: Augmentation, rng: np.random.Generator) -> np.ndarray:
    """A randomly distorted copy of ``image`` (same height, width may change)."""
    p = config.probability
    if rng.random() < p:
        image = _affine(image, config, rng)
    if rng.random() < p:
        image = _elastic(image, config.elastic * image.shape[0] / 64, rng)
    if rng.random() < p:
        kernel = np.ones((2, 2), np.uint8)
        image = cv2.dilate(image, kernel) if rng.random() < 0.5 else cv2.erode(image, kernel)
    if config.contrast and rng.random() < p:
        gamma = np.exp(rng.uniform(-config.contrast, config.contrast))
        image = (255.0 * (image / 255.0) ** gamma).astype(np.uint8)
    if config.blur and rng.random() < p:
        sigma = rng.uniform(0, config.blur) * image.shape[0] / 64
        if sigma > 0.3:
            image = cv2.GaussianBlur(image, (0, 0), sigma)
    if rng.random() < p:
        sigma = rng.uniform(0, config.noise) * 255
        image = np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)
    return image


def augmented_width(height: int, width: int, config: Augmentation, rng: np.random.Generator) -> int:
    """The width :func:`augment` gives an image of this size with a generator in ``rng``'s state,
    without the image (``rng`` is used up): shares of a batch can be balanced before augmenting."""
    if rng.random() >= config.probability:
        return width
    slant, scale = _slant_and_scale(config, rng)
    return _affine_width(height, width, slant, scale)


def _slant_and_scale(config: Augmentation, rng: np.random.Generator) -> tuple[float, float]:
    return rng.uniform(-config.slant, config.slant), 1.0 + rng.uniform(-config.scale, config.scale)


def _affine_width(height: int, width: int, slant: float, scale: float) -> int:
    return max(1, round(width * scale + abs(slant) * height))


def _affine(image: np.ndarray, config: Augmentation, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    slant, scale = _slant_and_scale(config, rng)
    angle = np.deg2rad(rng.uniform(-config.rotation, config.rotation))
    # Drawn only when asked for, so runs without them keep their random stream.
    scale_y = 1.0 + rng.uniform(-config.vertical, config.vertical) if config.vertical else 1.0
    shift = rng.uniform(-config.shift, config.shift) * h if config.shift else 0.0
    cos, sin = np.cos(angle), np.sin(angle)
    # x' = scale*x - slant*(y - h/2), y' = scale_y*(y - h/2) + h/2 + shift,
    # then a rotation about the centre.
    shear = np.array([[scale, -slant, slant * h / 2], [0.0, scale_y, shift]])
    rotate = np.array([[cos, -sin], [sin, cos]])
    matrix = rotate @ shear
    out_w = _affine_width(h, w, slant, scale)
    centre_in = np.array([w / 2, h / 2])
    matrix = np.hstack([matrix[:, :2], (matrix[:, :2] @ -centre_in + rotate @ shear[:, 2])[:, None]])
    matrix[:, 2] += [out_w / 2, h / 2]
    return cv2.warpAffine(image, matrix, (out_w, h), flags=cv2.INTER_LINEAR, borderValue=0)


def _elastic(image: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    sigma = max(2.0, h / 8)
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    for d in (dx, dy):
        d *= alpha / max(float(np.abs(d).max()), 1e-6)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=0)
