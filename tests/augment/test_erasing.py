"""Random erasing (Zhong et al.) and fixed-size Cutout: boxes, draws, fills."""

import keras
import numpy as np
import pytest

import recipekit


def _gray(n, h=32, w=32):
    return np.full((n, h, w, 3), 128, np.uint8)


def _boxes(before, after):
    """Each image's changed pixels as (top, left, height, width), or None;
    asserts that they form one filled rectangle."""
    boxes = []
    for changed in (after != before).any(axis=-1):
        rows, cols = np.nonzero(changed)
        if not len(rows):
            boxes.append(None)
            continue
        top, left = rows.min(), cols.min()
        height, width = rows.max() - top + 1, cols.max() - left + 1
        # Random fill can repeat the old value in a pixel; nearly all differ.
        assert changed[top : top + height, left : left + width].mean() > 0.95
        assert changed.sum() == changed[top : top + height, left : left + width].sum()
        boxes.append((top, left, height, width))
    return boxes


def test_each_erased_box_follows_the_papers_area_and_aspect_draws():
    x = _gray(400)
    out = np.asarray(recipekit.augment.random_erasing(x, probability=1.0, seed=1))
    assert out.shape == x.shape and out.dtype == np.uint8
    boxes = _boxes(x, out)
    assert all(box is not None for box in boxes)
    heights = np.array([b[2] for b in boxes], float)
    widths = np.array([b[3] for b in boxes], float)
    # Sides are rounded to whole pixels: area and ratio within the rounding.
    area = heights * widths / 1024
    assert ((heights - 0.5) * (widths - 0.5) / 1024 <= 0.4).all()
    assert ((heights + 0.5) * (widths + 0.5) / 1024 >= 0.02).all()
    assert ((heights + 0.5) / (widths - 0.5) >= 0.3).all()
    assert ((heights - 0.5) / (widths + 0.5) <= 1 / 0.3).all()
    # Boxes that would not fit are redrawn (the authors' rule: h, w < 32).
    assert heights.max() < 32 and widths.max() < 32
    # The paper draws the ratio uniformly in [0.3, 3.33], not log-uniformly
    # (torchvision): 77% of the draws are taller than wide.
    assert 0.65 < (heights > widths).mean() < 0.85
    assert (widths > heights).mean() > 0.1
    assert area.min() < 0.05 and area.max() > 0.3
    # Positions are uniform over the room each box leaves: both edges reached.
    tops = np.array([b[0] for b in boxes])
    bottoms = tops + heights
    assert tops.min() == 0 and bottoms.max() == 32


def test_probability_decides_per_image_and_the_fill_is_uniform_noise():
    x = _gray(2000, 8, 8)
    out = np.asarray(recipekit.augment.random_erasing(x, probability=0.5, seed=2))
    erased = (out != x).any(axis=(1, 2, 3))
    # Binomial(2000, 0.5): 4 standard deviations are 89 images.
    assert abs(erased.sum() - 1000) < 89
    values = out[out != x].astype(float)
    assert abs(values.mean() - 127.5) < 3
    assert (values == 0).mean() < 0.01 and values.max() > 250
    np.testing.assert_array_equal(
        recipekit.augment.random_erasing(x, probability=0.0, seed=2), x
    )


def test_keras_random_erasing_fills_half_the_box_with_zeros():
    """Why recipekit has its own: Keras 3.15's `RandomErasing` fills with
    Gaussian noise times 255 clipped to [0, 255], so about half the erased
    pixels become black, where the paper fills with uniform noise."""
    x = np.full((64, 32, 32, 3), 128.0, np.float32)
    layer = keras.layers.RandomErasing(factor=1.0, seed=0)
    out = np.asarray(layer(x, training=True))
    values = out[out != 128.0]
    assert 0.4 < (values == 0).mean() < 0.6
    ours = np.asarray(recipekit.augment.random_erasing(x, probability=1.0, seed=0))
    assert (ours[ours != 128.0] == 0).mean() < 0.01


def test_constant_and_per_channel_fills_in_the_images_range():
    x = np.full((6, 16, 16, 3), 0.5, np.float32)
    out = np.asarray(
        recipekit.augment.random_erasing(
            x, 1.0, value=(0.0, 0.25, 1.0), value_range=(0, 1), seed=0
        )
    )
    changed = (out != x).any(axis=-1)
    assert changed.any(axis=(1, 2)).all()
    np.testing.assert_array_equal(
        out[changed], np.tile([0.0, 0.25, 1.0], (changed.sum(), 1))
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_a_seed_repeats_and_tf_data_gives_the_same_batch(dtype):
    x = np.random.default_rng(0).integers(0, 256, (16, 12, 10, 3)).astype(dtype)
    first = np.asarray(recipekit.augment.random_erasing(x, 1.0, seed=7))
    np.testing.assert_array_equal(
        first, np.asarray(recipekit.augment.random_erasing(x, 1.0, seed=7))
    )
    assert not np.array_equal(
        first, np.asarray(recipekit.augment.random_erasing(x, 1.0, seed=8))
    )
    cut = np.asarray(recipekit.augment.cutout(x, 4, seed=7))
    tf = pytest.importorskip("tensorflow")
    in_tf = recipekit.augment.random_erasing(tf.constant(x), 1.0, seed=7).numpy()
    np.testing.assert_allclose(in_tf, first, atol=1e-4 if dtype == np.float32 else 0)
    np.testing.assert_array_equal(
        recipekit.augment.cutout(tf.constant(x), 4, seed=7).numpy(), cut
    )


def test_cutout_cuts_one_square_of_the_size_anywhere_inside():
    x = np.zeros((500, 32, 32, 3), np.uint8)
    out = np.asarray(recipekit.augment.cutout(x, 12, seed=3))
    boxes = _boxes(x, out)
    assert {box[2:] for box in boxes} == {(12, 12)}
    tops = {box[0] for box in boxes}
    lefts = {box[1] for box in boxes}
    # 21 positions each way, all used, none outside.
    assert tops == set(range(21)) and lefts == set(range(21))
    # The default fill is the middle of the range; a chosen one per channel.
    assert set(np.unique(out).tolist()) == {0, 128}
    red = np.asarray(recipekit.augment.cutout(x, 2, value=(255, 0, 0), seed=0))
    np.testing.assert_array_equal(
        np.unique(red.reshape(-1, 3), axis=0), [[0, 0, 0], [255, 0, 0]]
    )


def test_erasing_and_cutout_argument_errors():
    x = _gray(2, 8, 8)
    erase = recipekit.augment.random_erasing
    with pytest.raises(ValueError, match=r"`probability` must be a number in \[0, 1\]"):
        erase(x, probability=1.5)
    with pytest.raises(ValueError, match="`scale` must be"):
        erase(x, scale=(0.5, 0.2))
    with pytest.raises(ValueError, match="`scale` must be at most 1"):
        erase(x, scale=(0.5, 2.0))
    with pytest.raises(ValueError, match="`ratio` must be"):
        erase(x, ratio=(0, 1))
    with pytest.raises(ValueError, match='`value` must be "random", a number'):
        erase(x, value="noise")
    with pytest.raises(ValueError, match="within value_range"):
        erase(x, value=300)
    with pytest.raises(ValueError, match="2 numbers for images with 3 channels"):
        erase(x, 1.0, value=(1, 2))
    with pytest.raises(ValueError, match="must fit in the images, which are 8x8"):
        recipekit.augment.cutout(x, 9)
    with pytest.raises(ValueError, match="`size` must be an integer"):
        recipekit.augment.Cutout(0)
    with pytest.raises(ValueError, match="`value` must be a number"):
        recipekit.augment.Cutout(4, value="random")
    with pytest.raises(ValueError, match="value_range"):
        recipekit.augment.RandomErasing(value_range=(1, 0))
    empty = np.zeros((0, 8, 8, 3), np.uint8)
    assert np.asarray(erase(empty, seed=0)).shape == (0, 8, 8, 3)
