"""Writing a synthetic data set: PNG line images and a ``lines.tsv`` manifest with a split column."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from hwr.atomic import write_bytes_atomically
from hwr.errors import ConfigError
from hwr.synth.render import available_fonts, missing_glyphs, render_line
from hwr.synth.text import CorpusSource, TextSource

SPLITS = ("train", "valid", "test")


def generate_dataset(
    out_dir: str | Path,
    lines: int,
    seed: int = 0,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    fonts: list[Path] | None = None,
    corpus: list[str] | None = None,
) -> Path:
    """Render ``lines`` distinct lines into ``out_dir``; returns the manifest path.

    Their texts are the project's English vocabulary, or runs of words of ``corpus`` (those with a
    character no font draws are left out). No text occurs in two splits, so valid and test CERs are
    measured on unseen text. The same ``seed`` gives the same images and manifest.
    """
    if lines < 1:
        raise ConfigError(f"need at least one line, got {lines}")
    if not 0 <= valid_fraction + test_fraction < 1:
        raise ConfigError("valid and test fractions must leave lines for training")
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    fonts = fonts or available_fonts()
    for font in fonts:
        try:
            missing_glyphs(font, "a")
        except OSError as exc:
            raise ConfigError(f"{font}: not a usable font file ({exc})") from None

    @functools.cache
    def fonts_for(text: str) -> list[Path]:
        """The fonts that draw every character of ``text``."""
        return [font for font in fonts if not missing_glyphs(font, text)]

    source = TextSource(seed) if corpus is None else CorpusSource(corpus, seed)
    texts = source.unique_lines(lines, lambda text: bool(fonts_for(text)))
    n_valid, n_test = round(lines * valid_fraction), round(lines * test_fraction)
    splits = ["valid"] * n_valid + ["test"] * n_test + ["train"] * (lines - n_valid - n_test)
    rows = []
    for k, (text, split) in enumerate(zip(texts, splits)):
        rng = np.random.default_rng([seed, k])
        usable = fonts_for(text)
        font = usable[int(rng.integers(len(usable)))]
        image = render_line(text, font, rng)
        name = f"images/{k:06d}.png"
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise RuntimeError(f"could not encode {name}")
        write_bytes_atomically(out_dir / name, png.tobytes())
        rows.append({"id": f"{k:06d}", "split": split, "image": name, "text": text, "font": font.stem})
    manifest = out_dir / "lines.tsv"
    table = pd.DataFrame(rows)
    write_bytes_atomically(manifest, table.to_csv(sep="\t", index=False).encode())
    return manifest
