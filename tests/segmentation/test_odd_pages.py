"""Odd pages through ``hwr segment`` and ``hwr transcribe`` with the shipped segmenter: blank, no
text, a double page, rotated, huge and tiny, colour, 16-bit, alpha, in every image format. Each
gets a layout and a reading (or, where it cannot be decoded at all, one line naming it), never a
traceback, and the others are not lost."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from hwr.data.layout import read_layout
from tests.shared_data import SHARED

runner = CliRunner()
PAGE = SHARED / "joseph_hooker_htr/pages/test"


def _odd_pages(folder) -> list[str]:
    """Variants of a real page written into ``folder``; returns their names."""
    page = cv2.imread(str(sorted(PAGE.glob("*.webp"))[0]), cv2.IMREAD_GRAYSCALE)
    height, width = page.shape
    rng = np.random.default_rng(0)
    colour = cv2.applyColorMap(page, cv2.COLORMAP_BONE)
    variants = {
        "blank.png": np.full_like(page, 255),
        "no_text.jpg": rng.normal(200, 12, page.shape).clip(0, 255).astype(np.uint8),
        "double.jpg": np.hstack([page, np.full((height, 40), 90, np.uint8), page]),
        "rotated.png": cv2.rotate(page, cv2.ROTATE_90_CLOCKWISE),
        "huge.png": cv2.resize(page, (round(width * 20000 / height), 20000), interpolation=cv2.INTER_NEAREST),
        "tiny.png": cv2.resize(page, (round(width * 200 / height), 200), interpolation=cv2.INTER_AREA),
        "colour.tif": colour,
        "sixteen_bit.png": page.astype(np.uint16) * 257,
        "alpha.png": np.dstack([colour, np.full(page.shape, 200, np.uint8)]),
        "page.jp2": page,
        "page.webp": page,
        "page.jpeg": page,
    }
    for name, image in variants.items():
        assert cv2.imwrite(str(folder / name), image), name
    (folder / "truncated.jpg").write_bytes((folder / "page.jpeg").read_bytes()[:2000])
    return sorted(variants)


def _written(folder, name: str):
    """The layout written for the image ``name``: NAME.xml, or NAME.EXT.xml where names clash."""
    plain = folder / (name.rsplit(".", 1)[0] + ".xml")
    return read_layout(plain if plain.exists() and read_layout(plain).image.name == name else folder / (name + ".xml"))


@pytest.mark.skipif(not PAGE.is_dir(), reason="the shared Joseph Hooker pages are not on this machine")
def test_odd_pages_get_a_layout_and_a_reading_and_a_bad_one_a_line(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    names = _odd_pages(scans)
    result = runner.invoke(app, ["segment", str(scans), "-o", str(tmp_path / "layouts")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "truncated.jpg" in result.output and "1 of 13 pages skipped" in result.output
    assert "3 images share a name but for its suffix" in result.output  # page.jp2, .jpeg and .webp
    written = {name: _written(tmp_path / "layouts", name) for name in names}
    for name, layout in written.items():
        assert layout.image.name == name
    found = {name: len(layout.lines) for name, layout in written.items()}
    assert found["blank.png"] == 0 and found["page.webp"] > 10 and found["double.jpg"] > found["page.webp"]
    read = runner.invoke(
        app, ["transcribe", str(scans), "--segment", "always", "-f", "alto", "-o", str(tmp_path / "out")]
    )
    assert read.exit_code == 1 and "Traceback" not in read.output, read.output
    assert len(list((tmp_path / "out").iterdir())) == len(names)
