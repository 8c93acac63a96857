"""The segmenter's shapes, its input, and training pages whose maps line up with their input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwr.segmentation.config import HEIGHT_UNIT, SegmenterConfig
from hwr.segmentation.data import random_crop, training_page
from hwr.segmentation.lines import find_lines
from hwr.segmentation.metrics import baseline_scores
from hwr.segmentation.network import Segmenter, maps_of_input, page_input
from tests.shared_data import SHARED


def test_the_input_is_ink_high_padded_to_the_grid_and_the_maps_half_its_size():
    gray = np.full((101, 203), 230, np.uint8)
    gray[40:60, 20:180] = 20
    config = SegmenterConfig(input_size=203, channels=(4, 4, 4), hidden_size=2)
    image = page_input(gray, config)
    assert image.shape == (112, 208) and image[50, 100] == 1.0 and image[5, 5] == 0.0 and image[110, 206] == 0
    out = Segmenter(config)(torch.from_numpy(image)[None, None])
    assert out.shape == (1, 3, 56, 104)
    probability, above, below = maps_of_input(Segmenter(config), image)
    assert probability.shape == (56, 104) and (above >= 0).all() and (below >= 0).all()


def test_a_config_round_trips_and_refuses_nonsense():
    config = SegmenterConfig(input_size=640, channels=(8, 16, 24), hidden_size=4)
    assert SegmenterConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError):
        SegmenterConfig(input_size=0)


def test_every_page_is_read_at_the_same_size_whatever_its_resolution():
    config = SegmenterConfig(input_size=160, channels=(4, 4, 4), hidden_size=2)
    small, large = np.full((100, 80), 255, np.uint8), np.full((2000, 1600), 255, np.uint8)
    assert page_input(small, config).shape == page_input(large, config).shape == (160, 128)
    assert config.map_scale((1600, 2000)) == 160 / 2000 / 2


def test_a_training_page_has_maps_that_give_back_its_lines():
    pages = sorted((SHARED / "copiste_dun_jour/pages/test").glob("*.xml"))
    if not pages:
        pytest.skip("the shared Copiste d'un jour pages are not on this machine")
    config = SegmenterConfig()
    page = training_page(pages[0], config)
    assert page.maps.shape == (3, page.image.shape[0] // 2, page.image.shape[1] // 2)
    found = find_lines(
        page.maps[0], page.maps[1] * HEIGHT_UNIT, page.maps[2] * HEIGHT_UNIT, config.map_scale(page.size)
    )
    scores = baseline_scores([f.baseline for f in found], [line.baseline for line in page.lines], page.size)
    assert scores.f > 0.99
    image, maps = random_crop(page, 256, np.random.default_rng(0))
    assert image.shape == (256, 256) and maps.shape == (3, 128, 128)
