"""``hwr segment`` and ``hwr transcribe`` of page images without a layout: layouts written, a run
that resumes, bad pages reported in one line without stopping the others, and lines and pages
not mixed up; ``hwr train-segmenter`` on real pages, resumed and extended. The segmenters here are
small untrained ones: what they find is not judged (the shipped one is, in
tests/test_real_pages.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from cli.main import app
from hwr.data.layout import read_layout
from hwr.segmentation.config import SegmenterConfig
from hwr.segmentation.model import SegmentationModel, save_segmenter
from hwr.segmentation.network import Segmenter
from tests.shared_data import PAGE_SETS, SHARED

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def segmenter(tmp_path):
    torch.manual_seed(1)
    path = tmp_path / "segmenter.safetensors"
    save_segmenter(path, SegmentationModel(Segmenter(SegmenterConfig(256, (4, 6, 8), 3)), threshold=0.3))
    return path


@pytest.fixture
def scans(tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(3):
        page = np.full((800, 600), 230, np.uint8)
        for y in range(80, 720, 60):
            page[y - 15 : y, 60:540] = rng.integers(0, 230, (15, 480))
        cv2.imwrite(str(folder / f"page{k}.png"), page)
    return folder


def test_segment_writes_a_layout_per_page_and_a_second_run_resumes(tmp_path, segmenter, scans):
    out = tmp_path / "out"
    result = invoke("segment", scans, "-o", out, "--segmenter", segmenter, "-f", "alto")
    assert result.exit_code == 0, result.output
    for k in range(3):
        layout = read_layout(out / f"page{k}.xml")
        assert layout.format == "alto" and layout.image.resolve() == (scans / f"page{k}.png").resolve()
        assert f"page{k}.png: {len(layout.lines)} lines" in result.output
    (out / "page1.xml").unlink()
    again = invoke("segment", scans, "-o", out, "--segmenter", segmenter, "-f", "alto")
    assert again.exit_code == 0 and "page1.png" in again.output and "page0.png:" not in again.output
    assert "2 of 3 pages already done" in again.output
    redone = invoke("segment", scans, "-o", out, "--segmenter", segmenter, "-f", "alto", "--overwrite")
    assert redone.exit_code == 0 and "page0.png:" in redone.output


def test_a_bad_page_is_one_line_and_the_others_are_written(tmp_path, segmenter, scans):
    (scans / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = invoke("segment", scans, "-o", tmp_path / "out", "--segmenter", segmenter)
    assert result.exit_code == 1
    assert "broken.png" in result.output and "Traceback" not in result.output
    assert "1 of 4 pages skipped" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["page0.xml", "page1.xml", "page2.xml"]


def test_transcribe_segments_page_images_then_reads_them(tmp_path, segmenter, scans):
    result = invoke("transcribe", scans / "page0.png", "--segmenter", segmenter)
    assert result.exit_code == 0, result.output
    assert "page0.png:" in result.output and "-> stdout" in result.output
    out = tmp_path / "out"
    result = invoke("transcribe", scans, "--segmenter", segmenter, "-f", "page", "-o", out)
    assert result.exit_code == 0, result.output
    layout = read_layout(out / "page2.xml")
    assert all(line.text is not None for line in layout.lines)
    again = invoke("transcribe", scans, "--segmenter", segmenter, "-f", "page", "-o", out)
    assert "3 of 3 pages already done" in again.output


def test_pages_and_lines_are_not_mixed_up(tmp_path, segmenter, scans):
    cv2.imwrite(str(scans / "line.png"), np.full((60, 900), 200, np.uint8))
    result = invoke("transcribe", scans, "--segmenter", segmenter)
    assert result.exit_code == 1 and "look like pages" in result.output and "--segment" in result.output
    as_lines = invoke("transcribe", scans / "line.png", scans / "page0.png", "--segment", "never")
    assert as_lines.exit_code == 0 and "looks like a page" in as_lines.output
    as_pages = invoke("transcribe", scans, "--segment", "always", "--segmenter", segmenter, "-o", tmp_path / "o")
    assert as_pages.exit_code == 0 and (tmp_path / "o" / "line.txt").exists()


def test_train_segmenter_trains_on_real_pages_then_resumes_and_extends(tmp_path):
    pages = [path for name in PAGE_SETS for path in sorted((SHARED / name / "pages/train").glob("*.xml"))[:1]]
    if len(pages) < 4:
        pytest.skip("the shared page sets are not on this machine")
    out = tmp_path / "run"
    tiny = (
        "--input-size",
        192,
        "--channels",
        "4,6,8",
        "--hidden",
        3,
        "--crop",
        96,
        "--batch-size",
        2,
        "--zooms",
        "1.0",
    )
    result = invoke("train-segmenter", *pages[:3], "--valid", pages[3], "-o", out, "--epochs", 1, *tiny)
    assert result.exit_code == 0, result.output
    assert result.output.count("best: epoch 1, valid baseline F") == 1
    assert {"best.safetensors", "last.safetensors", "log.csv", "curves.png"} <= {p.name for p in out.iterdir()}
    again = invoke("train-segmenter", *pages[:3], "-o", out)
    assert again.exit_code == 1 and "--resume" in again.output
    mixed = invoke("train-segmenter", *pages[:3], "-o", out, "--resume")
    assert mixed.exit_code != 0 and "--resume continues a run as it is" in mixed.output
    extended = invoke("train-segmenter", "-o", out, "--resume", "--epochs", 2)
    assert extended.exit_code == 0, extended.output
    assert "resuming" in extended.output and "epoch 2:" in extended.output
