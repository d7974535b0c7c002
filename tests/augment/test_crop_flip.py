import keras
import numpy as np
import pytest

import recipekit
from recipekit.augment._crop import shift_windows
from recipekit.augment._images import dtype_name


def _batch(n=64, h=6, w=5, c=3, dtype=np.uint8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, h, w, c)).astype(dtype)


def test_shift_windows_match_numpy_slices_of_the_padded_batch():
    images = _batch(4, 8, 8)
    offsets = np.array([[0, 0], [1, 3], [4, 2], [3, 4]], np.int32)
    out = np.asarray(shift_windows(keras.ops, images, 2, offsets, "symmetric"))
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="symmetric")
    for i, (top, left) in enumerate(offsets):
        np.testing.assert_array_equal(out[i], padded[i, top : top + 8, left : left + 8])


@pytest.mark.parametrize(
    "mode, np_mode",
    [("reflect", "reflect"), ("constant", "constant"), ("symmetric", "symmetric")],
)
def test_each_image_is_a_window_of_its_padded_copy(mode, np_mode):
    images = _batch(200, 6, 5)
    out = np.asarray(
        recipekit.augment.pad_random_crop(images, padding=2, mode=mode, seed=3)
    )
    assert out.shape == images.shape and out.dtype == np.uint8
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)], mode=np_mode)
    offsets = []
    for i in range(len(images)):
        found = [
            (t, left)
            for t in range(5)
            for left in range(5)
            if np.array_equal(out[i], padded[i, t : t + 6, left : left + 5])
        ]
        assert found, f"image {i} is not a crop of its padded copy"
        offsets.append(found[0])
    # Offsets are drawn per image and cover all 25 positions.
    assert len(set(offsets)) == 25


def test_crop_repeats_with_a_seed_and_keeps_float_dtype():
    images = _batch(16).astype(np.float32) / 255
    a = recipekit.augment.pad_random_crop(images, seed=7)
    b = recipekit.augment.pad_random_crop(images, seed=7)
    c = recipekit.augment.pad_random_crop(images, seed=8)
    assert dtype_name(a) == "float32"
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    np.testing.assert_array_equal(
        np.asarray(recipekit.augment.pad_random_crop(images, padding=0)), images
    )


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"padding": -1}, "padding.*>= 0.*-1"),
        ({"padding": 1.5}, "padding.*integer"),
        ({"mode": "wrap"}, "mode.*wrap"),
        ({"padding": 6}, "too large for reflect"),
    ],
)
def test_crop_argument_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        recipekit.augment.pad_random_crop(_batch(2), **kwargs)


def test_ops_reject_unbatched_or_integer_input():
    with pytest.raises(ValueError, match=r"shape \(batch, height, width, channels\)"):
        recipekit.augment.random_flip(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8.*or float.*int32"):
        recipekit.augment.random_flip(np.zeros((1, 4, 4, 3), np.int32))


def test_flip_is_per_image_mirror():
    images = _batch(1000, 3, 4, 1)
    out = np.asarray(recipekit.augment.random_flip(images, seed=1))
    same = np.array([np.array_equal(o, i) for o, i in zip(out, images, strict=True)])
    mirrored = np.array(
        [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images, strict=True)]
    )
    assert np.all(same ^ mirrored)
    # 1000 fair coin flips: 500 +- 4 standard deviations (63).
    assert 437 < mirrored.sum() < 563
    again = recipekit.augment.random_flip(images, seed=1)
    np.testing.assert_array_equal(out, np.asarray(again))


@pytest.mark.tf_only
def test_cifar_policy_in_a_pipeline_repeats_with_seed_and_varies_per_epoch():
    import tensorflow as tf

    x = _batch(64, 8, 8)
    y = np.arange(64) % 2
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    policy = recipekit.augment.cifar_policy(padding=2)

    def epochs(seed):
        ds = recipekit.data.pipeline(
            dataset, 16, training=True, augment=policy, seed=seed
        )
        return [np.concatenate([b.numpy() for b, _ in ds]) for _ in range(2)]

    first, second = epochs(5), epochs(5)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])
    assert first[0].dtype == np.float32 and first[0].shape == (64, 8, 8, 3)
    with pytest.raises(ValueError, match="padding"):
        recipekit.augment.cifar_policy(padding=-2)
