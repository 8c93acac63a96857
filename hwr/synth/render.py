"""Rendering a text line in a hand-drawn font, then distorting it like a scan of real writing.

Characters are drawn one by one with jittered spacing, size and baseline (a font
alone is too regular), then the line gets a slant, a stroke width, blur, paper
tone and noise. The result is dark ink on light paper, like a real line image.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Debian's handwriting fonts (apt-get install fonts-dancingscript fonts-dkg-handwriting fonts-breip
# fonts-ecolier-court fonts-comic-neue), used when present. Amatic SC (PyPI) is left out on purpose:
# its lower case is small capitals, so the case of a letter can't be read from its shape.
DEBIAN_FONTS = ("DancingScript-Regular.otf", "dkg.ttf", "Breip.ttf", "Ecolier-court.ttf", "ComicNeue-Regular.otf")
DEBIAN_FONT_DIR = Path("/usr/share/fonts")


def available_fonts() -> list[Path]:
    """Hand-drawn fonts: Intuitive (the PyPI package font-intuitive, always first) and Debian's, if installed."""
    import font_intuitive

    fonts = [Path(font_intuitive.font_files["Intuitive"])]
    for name in DEBIAN_FONTS:
        fonts.extend(sorted(DEBIAN_FONT_DIR.glob(f"**/{name}"))[:1])
    return fonts


def undrawable(characters: str, fonts: list[Path]) -> str:
    """Characters that none of ``fonts`` has a glyph for."""
    return "".join(c for c in characters if all(missing_glyphs(font, c) for font in fonts))


def missing_glyphs(font: Path, characters: str) -> str:
    """Characters that ``font`` has no glyph for (they would render as its 'missing' box)."""
    face = _font(str(font), 32)
    missing = bytes(face.getmask("\ufffe"))
    return "".join(c for c in characters if not c.isspace() and bytes(face.getmask(c)) == missing)


@functools.lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def render_line(text: str, font: Path, rng: np.random.Generator) -> np.ndarray:
    """``text`` in ``font`` as a uint8 grayscale image (ink dark), distorted at random."""
    size = int(rng.integers(36, 52))
    face = _font(str(font), size)
    ascent, descent = face.getmetrics()
    margin = size // 2
    advance_total = sum(face.getlength(c) for c in text) * 1.3 + 2 * margin + size
    canvas = Image.new("L", (int(advance_total), ascent + descent + 2 * margin), 0)
    draw = ImageDraw.Draw(canvas)
    x = float(margin)
    spacing = rng.uniform(-0.04, 0.12) * size
    wobble_phase, wobble_amp = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.06) * size
    for k, char in enumerate(text):
        char_size = max(8, round(size * rng.uniform(0.92, 1.08)))
        char_face = _font(str(font), char_size)
        y = margin + ascent - char_face.getmetrics()[0]
        y += wobble_amp * np.sin(wobble_phase + 0.35 * k) + rng.normal(0, 0.015 * size)
        draw.text((x, y), char, font=char_face, fill=255)
        x += char_face.getlength(char) + spacing * (0.5 if char == " " else 1) + rng.normal(0, 0.03 * size)
    ink = np.asarray(canvas)
    ink = _distort(ink, rng)
    rows, cols = np.nonzero(ink > 40)
    if len(rows):
        pad = int(rng.integers(2, 10))
        top, bottom = max(rows.min() - pad, 0), rows.max() + pad + 1
        left, right = max(cols.min() - pad, 0), cols.max() + pad + 1
        ink = ink[top:bottom, left:right]
    return _on_paper(ink, rng)


def _distort(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slant, stroke width and a slight rotation, on an ink-high image."""
    h, w = ink.shape
    slant = rng.uniform(-0.35, 0.35)
    angle = np.deg2rad(rng.uniform(-1.5, 1.5))
    matrix = np.array([[1.0, -slant, slant * h / 2], [0.0, 1.0, 0.0]])
    rotation = cv2.getRotationMatrix2D((w / 2, h / 2), np.rad2deg(angle), 1.0)
    matrix = rotation[:, :2] @ matrix
    matrix[:, 2] += rotation[:, 2]
    extra = int(abs(slant) * h) + 4
    matrix[0, 2] += extra / 2
    ink = cv2.warpAffine(ink, matrix, (w + extra, h), flags=cv2.INTER_LINEAR)
    stroke = int(rng.choice([-1, 0, 0, 0, 1, 1]))
    if stroke:
        kernel = np.ones((abs(stroke) + 1, abs(stroke) + 1), np.uint8)
        ink = cv2.dilate(ink, kernel) if stroke > 0 else cv2.erode(ink, kernel[:2, :2])
    return ink


def _on_paper(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dark ink on light, slightly uneven, noisy paper."""
    paper = rng.uniform(190, 250)
    darkness = rng.uniform(0.6, 1.0) * paper
    image = paper - darkness * (ink.astype(np.float32) / 255.0)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.2))
    gradient = np.linspace(0, rng.uniform(-25, 25), image.shape[1], dtype=np.float32)
    image = image + gradient[None, :] + rng.normal(0, rng.uniform(2, 10), image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)
