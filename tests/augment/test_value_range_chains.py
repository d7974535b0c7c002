"""One value range through the chains users write: fit, then apply."""

import warnings

import keras
import numpy as np
import pytest

import recipekit
from recipekit.augment import _images


@pytest.fixture(autouse=True)
def _warn_again():
    _images._WARNED.clear()  # each test sees its own first warning
    yield
    _images._WARNED.clear()


def unit_images():
    rng = np.random.default_rng(0)
    return rng.uniform(0.2, 0.8, (16, 8, 8, 3)).astype("float32")


def test_fit_then_apply_with_the_defaults_on_unit_floats_warns_and_stays_in_range():
    x = unit_images()
    with pytest.warns(UserWarning, match=r"pass value_range=\(0, 1\)"):
        values, vectors = recipekit.augment.fit_pca_lighting(x)
    with pytest.warns(UserWarning, match=r"pass value_range=\(0, 1\)"):
        out = recipekit.augment.pca_lighting(x, values, vectors, 0.1, seed=0)
    # Fitted and applied under one range: no pixel pushed out of [0, 1]
    # (the old defaults moved them by up to 1.16, to 1.9).
    out = keras.ops.convert_to_numpy(out)
    assert np.abs(out - x).max() < 0.01 and out.max() <= 1.0


def test_fit_then_apply_in_unit_range_matches_uint8_in_255_range():
    x = unit_images()
    as_uint8 = np.round(x * 255).astype("uint8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when the range is given
        unit = recipekit.augment.fit_pca_lighting(x, value_range=(0, 1))
    bytes_ = recipekit.augment.fit_pca_lighting(as_uint8)
    np.testing.assert_allclose(unit[0], bytes_[0], rtol=0.02)
    shifted = recipekit.augment.pca_lighting(x, *unit, 0.1, value_range=(0, 1), seed=0)
    shifted_255 = recipekit.augment.pca_lighting(
        as_uint8.astype("float32"), *bytes_, 0.1, seed=0
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(shifted) * 255,
        keras.ops.convert_to_numpy(shifted_255),
        atol=1.5,
    )


def test_uint8_must_be_read_as_0_255_and_the_warning_comes_once():
    with pytest.raises(ValueError, match=r"uint8 images hold values 0-255"):
        recipekit.augment.fit_pca_lighting(
            np.zeros((2, 4, 4, 3), "uint8"), value_range=(0, 1)
        )
    x = unit_images()
    with pytest.warns(UserWarning) as record:
        for _ in range(3):
            recipekit.augment.color_jitter(x, 0.1, 0.1, 0.1, seed=0)
    ours = [w for w in record if "pass value_range=(0, 1)" in str(w.message)]
    assert len(ours) == 1  # (PyTorch may add warnings of its own)
