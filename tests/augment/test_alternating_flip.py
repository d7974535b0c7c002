import keras
import numpy as np
import pytest

import recipekit


def _images(n):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 4, 5, 3)).astype(np.uint8)


def _flipped(out, images):
    """Which outputs are the mirror image (the test images are not symmetric)."""
    mirrored = images[:, :, ::-1]
    flags = [np.array_equal(o, m) for o, m in zip(out, mirrored, strict=True)]
    kept = [np.array_equal(o, i) for o, i in zip(out, images, strict=True)]
    assert all(f != k for f, k in zip(flags, kept, strict=True))
    return np.array(flags)


def test_each_image_alternates_between_epochs():
    images, ids = _images(400), np.arange(400)
    epochs = [
        _flipped(np.asarray(recipekit.augment.alternating_flip(images, ids, e)), images)
        for e in range(4)
    ]
    assert 0.4 < epochs[0].mean() < 0.6
    np.testing.assert_array_equal(epochs[1], ~epochs[0])
    np.testing.assert_array_equal(epochs[2], epochs[0])
    np.testing.assert_array_equal(epochs[3], ~epochs[0])


def test_decision_follows_the_image_id_not_its_place_in_the_batch():
    images, ids = _images(64), np.arange(100, 164)
    order = np.random.default_rng(1).permutation(64)
    out = np.asarray(recipekit.augment.alternating_flip(images, ids, 3, seed=5))
    shuffled = np.asarray(
        recipekit.augment.alternating_flip(
            images[order], keras.ops.convert_to_tensor(ids[order]), 3, seed=5
        )
    )
    np.testing.assert_array_equal(shuffled, out[order])
    other_seed = np.asarray(recipekit.augment.alternating_flip(images, ids, 3, seed=6))
    assert not np.array_equal(_flipped(out, images), _flipped(other_seed, images))


def test_bad_arguments_are_reported():
    images = _images(4)
    with pytest.raises(ValueError, match="one id per image"):
        recipekit.augment.alternating_flip(images, np.zeros(4, np.float32), 0)
    with pytest.raises(ValueError, match="`seed` must be an int"):
        recipekit.augment.alternating_flip(images, np.arange(4), 0, seed=None)
