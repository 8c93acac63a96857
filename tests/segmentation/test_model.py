"""Segmenter files (checksummed, never pickles, refused where a recognizer is expected and the
reverse), and a segmenter's results on pages of every kind of image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwr.errors import ConfigError, ModelFileError
from hwr.model_file import load_model
from hwr.segmentation.config import SegmenterConfig
from hwr.segmentation.lines import FoundLine
from hwr.segmentation.model import (
    MAX_ENLARGEMENT,
    SegmentationModel,
    load_segmenter,
    read_segmenter_file,
    save_segmenter,
)
from hwr.segmentation.network import Segmenter, predict_maps
from hwr.shipped import resolve_model

CONFIG = SegmenterConfig(input_size=256, channels=(4, 6, 8), hidden_size=3)


@pytest.fixture
def segmenter() -> SegmentationModel:
    torch.manual_seed(0)
    return SegmentationModel(Segmenter(CONFIG).eval(), threshold=0.4, zooms=(1.0, 1.25))


def test_a_segmenter_file_round_trips_with_its_config_and_extra_fields(tmp_path, segmenter):
    page = np.random.default_rng(0).integers(0, 256, (300, 200), dtype=np.uint8)
    save_segmenter(tmp_path / "s.safetensors", segmenter, {"training": {"epoch": 3}}, {"state.x": torch.ones(2)})
    loaded, header, extra = read_segmenter_file(tmp_path / "s.safetensors")
    assert loaded.config == CONFIG and loaded.threshold == 0.4 and loaded.zooms == (1.0, 1.25)
    assert (loaded.dense_pitch, loaded.pitch_target) == (segmenter.dense_pitch, segmenter.pitch_target)
    assert header["training"] == {"epoch": 3}
    assert torch.equal(extra["state.x"], torch.ones(2))
    for ours, theirs in zip(predict_maps(segmenter.network, page), predict_maps(loaded.network, page)):
        np.testing.assert_array_equal(ours, theirs)


def test_a_tampered_segmenter_file_is_refused(tmp_path, segmenter):
    path = tmp_path / "s.safetensors"
    save_segmenter(path, segmenter)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        load_segmenter(path)


def test_a_segmenter_is_not_taken_for_a_recognizer_nor_the_reverse(tmp_path, segmenter):
    save_segmenter(tmp_path / "s.safetensors", segmenter)
    with pytest.raises(ModelFileError, match="is a segmentation model, not a recognition model"):
        load_model(tmp_path / "s.safetensors")
    with pytest.raises(ModelFileError, match="is a recognition model, not a segmentation model"):
        load_segmenter(resolve_model("base"))


def _page(height: int, width: int) -> np.ndarray:
    """A light page with dark strokes in lines."""
    page = np.full((height, width), 225, np.uint8)
    step = max(4, height // 12)
    for y in range(step, height - step, step):
        page[y - step // 5 : y, width // 10 : width * 9 // 10 : 3] = 30
    return page


@pytest.mark.parametrize(
    "image",
    [
        np.full((1600, 1200), 255, np.uint8),  # blank
        np.zeros((1600, 1200), np.uint8),  # black
        _page(200, 150),  # tiny
        _page(40, 3000),  # a strip
        np.stack([_page(900, 700)] * 3, axis=2),  # colour
        _page(900, 700).astype(np.uint16) * 257,  # 16-bit
        np.dstack([np.stack([_page(900, 700)] * 3, axis=2), np.full((900, 700), 128, np.uint8)]),  # alpha
    ],
    ids=["blank", "black", "tiny", "strip", "colour", "16-bit", "alpha"],
)
def test_any_page_gives_lines_on_the_page(segmenter, image):
    found = segmenter.segment(image)
    height, width = image.shape[:2]
    assert found.size == (width, height)
    for line in found.lines:
        assert 0 < line.confidence <= 1 and len(line.polygon) >= 3 and len(line.baseline) >= 2
        assert line.polygon.min() >= -1 and (line.polygon.max(axis=0) <= [width + 1, height + 1]).all()


def test_maps_read_at_several_zooms_are_averaged_at_the_first_ones_size(segmenter):
    page = _page(900, 700)
    one = predict_maps(segmenter.network, page)
    two = predict_maps(segmenter.network, page, (1.0, 1.25))
    larger = predict_maps(segmenter.network, page, (1.25,))
    assert all(a.shape == b.shape for a, b in zip(one, two)) and larger[0].shape != one[0].shape
    np.testing.assert_array_equal(one[0], predict_maps(segmenter.network, page, (1.0,))[0])
    assert not np.array_equal(one[0], two[0])


def _lines_apart(pitch: float, count: int = 5) -> list[FoundLine]:
    baselines = [np.array([[10.0, 20 + k * pitch], [200.0, 20 + k * pitch]]) for k in range(count)]
    return [FoundLine(b, np.concatenate([b - [0, 5], b[::-1] + [0, 5]]), 0.9) for b in baselines]


def test_a_page_of_close_lines_is_read_larger_to_bring_them_apart(segmenter):
    size = (512, 512)  # input 256: page pixels are read at half
    assert segmenter._enlargement(_lines_apart(2 * 25), size) == 1.0  # 25 input pixels apart
    assert segmenter._enlargement(_lines_apart(2 * 19), size) == pytest.approx(30 / 19)
    assert segmenter._enlargement(_lines_apart(2 * 4), size) == MAX_ENLARGEMENT
    assert segmenter._enlargement(_lines_apart(2 * 4, count=1), size) == 1.0  # no pitch from one line
    with pytest.raises(ConfigError):
        SegmentationModel(segmenter.network, dense_pitch=40.0, pitch_target=30.0)
