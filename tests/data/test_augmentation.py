"""Augmentation keeps the height, stays deterministic for a seed and changes the image;
each optional transform does what it says and nothing when its strength is 0."""

from __future__ import annotations

import numpy as np
import pytest

from hwr.data.augmentation import Augmentation, augment, augmented_width


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


ONLY = dict(probability=1.0, slant=0.0, scale=0.0, rotation=0.0, elastic=0.0, noise=0.0)
"""Every default transform at strength 0 (the stroke-width change has no strength and stays)."""


def thick_line_image(ink=255):
    """Strokes 3 pixels wide, which survive the erosion of the stroke-width change."""
    image = np.zeros((32, 120), np.uint8)
    for x in range(10, 110, 7):
        image[10:22, x : x + 3] = ink
    return image


def ink_rows(image):
    rows = np.nonzero(image.max(axis=1) > 0)[0]
    return rows[0], rows[-1]


def test_vertical_scale_and_shift_move_the_writing_within_their_bounds():
    image = thick_line_image()
    top, bottom = ink_rows(image)
    for seed in range(20):
        out = augment(image, Augmentation(**ONLY), np.random.default_rng(seed))
        assert abs(ink_rows(out)[0] - top) <= 1 and abs(ink_rows(out)[1] - bottom) <= 1
    tops = []
    for seed in range(20):
        out = augment(image, Augmentation(**ONLY, shift=0.25), np.random.default_rng(seed))
        new_top, new_bottom = ink_rows(out)
        assert abs((new_bottom - new_top) - (bottom - top)) <= 2
        tops.append(new_top - top)
    assert max(np.abs(tops)) <= 0.25 * 32 + 1 and max(tops) >= 3 and min(tops) <= -3
    spans = []
    for seed in range(20):
        new_top, new_bottom = ink_rows(augment(image, Augmentation(**ONLY, vertical=0.5), np.random.default_rng(seed)))
        spans.append(new_bottom - new_top + 1)
    # 12 rows of ink scaled by 0.5-1.5, give or take the stroke-width change and interpolation.
    assert max(spans) <= 1.5 * 12 + 2 and min(spans) >= 0.5 * 12 - 2 and max(spans) - min(spans) >= 6


def test_contrast_changes_ink_but_not_paper_and_blur_spreads_ink():
    image = thick_line_image(ink=128)
    values = set()
    for seed in range(10):
        out = augment(image, Augmentation(**ONLY, contrast=0.8), np.random.default_rng(seed))
        assert out[0].max() == 0 and out[:, 0].max() == 0
        values.update(np.unique(out[out > 0]).tolist())
    assert min(values) < 100 and max(values) > 160
    plain = [(augment(image, Augmentation(**ONLY), np.random.default_rng(s)) > 0).sum() for s in range(10)]
    blurred = [(augment(image, Augmentation(**ONLY, blur=2.0), np.random.default_rng(s)) > 0).sum() for s in range(10)]
    assert np.mean(blurred) > 1.5 * np.mean(plain)


def test_negative_strengths_are_refused():
    with pytest.raises(ValueError, match="elastic must not be negative"):
        Augmentation(elastic=-1.0)
    with pytest.raises(ValueError, match="vertical must be below 1"):
        Augmentation(vertical=1.0)


def test_augmented_width_is_the_width_augment_gives_without_the_image():
    config = Augmentation(probability=0.7, vertical=0.15, shift=0.08, contrast=0.5, blur=0.7, elastic=3)
    widths = set()
    for k in range(60):
        image = np.zeros((48, 200 + 3 * k), np.uint8)
        width = augment(image, config, np.random.default_rng([5, k])).shape[1]
        assert augmented_width(*image.shape, config, np.random.default_rng([5, k])) == width
        widths.add(width - image.shape[1])
    assert len(widths) > 10  # the widths do change
