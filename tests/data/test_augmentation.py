"""Augmentation keeps the height, stays deterministic for a seed and changes the image."""

from __future__ import annotations

import numpy as np
import pytest

from hwr.data.augmentation import Augmentation, augment


def line_image():
    image = np.zeros((32, 120), np.uint8)
    image[10:22, 10:110:7] = 255
    return image


def test_height_kept_dtype_kept_and_seeded():
    image = line_image()
    config = Augmentation(probability=1.0)
    outputs = [augment(image, config, np.random.default_rng(s)) for s in range(5)]
    for out in outputs:
        assert out.shape[0] == 32 and out.dtype == np.uint8
        assert abs(out.shape[1] - 120) <= 120 * config.scale + config.slant * 32 + 1
        assert not np.array_equal(out, image)
    again = augment(image, config, np.random.default_rng(0))
    assert np.array_equal(again, outputs[0])


def test_probability_zero_is_the_identity():
    image = line_image()
    assert np.array_equal(augment(image, Augmentation(probability=0.0), np.random.default_rng(1)), image)


def test_a_probability_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="probability must be in \\[0, 1\\], got 1.5"):
        Augmentation(probability=1.5)
