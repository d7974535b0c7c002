import keras
import numpy as np
import pytest

import recipekit
from recipekit import _random
from recipekit.augment._color import adjust_color
from recipekit.augment._images import dtype_name


def _images(n=6, seed=0):
    return (
        np.random.default_rng(seed).uniform(0.1, 0.9, (n, 5, 4, 3)).astype(np.float32)
    )


def _numpy_adjust(x, b, c, s):
    luma = np.array([0.299, 0.587, 0.114])
    out = []
    for img, fb, fc, fs in zip(x.astype(np.float64), b, c, s, strict=True):
        img = np.clip(img * fb, 0, 1)
        mean = (img @ luma).mean()
        img = np.clip(mean + (img - mean) * fc, 0, 1)
        gray = (img @ luma)[..., None]
        out.append(np.clip(gray + (img - gray) * fs, 0, 1))
    return np.stack(out)


def test_adjust_color_matches_numpy_reference():
    x = _images()
    b, c, s = (
        [1.3, 0.7, 1.0, 1.1, 0.6, 1.4],
        [0.6, 1.4, 1.0, 1.2, 1.0, 0.9],
        [0.0, 1.5, 1.0, 0.8, 1.3, 1.0],
    )
    factors = [np.array(f, np.float32) for f in (b, c, s)]
    out = np.asarray(adjust_color(keras.ops, x, *factors))
    np.testing.assert_allclose(out, _numpy_adjust(x, b, c, s), atol=1e-6)
    # Factors of 1 are the identity; saturation 0 gives gray images.
    np.testing.assert_allclose(out[2], x[2], atol=1e-6)
    gray = out[0]
    np.testing.assert_allclose(gray[..., 0], gray[..., 2], atol=1e-6)


def test_brightness_factor_is_per_image_and_in_range():
    x = np.full((400, 2, 2, 3), 0.5, np.float32)
    out = np.asarray(
        recipekit.augment.color_jitter(
            x, brightness=0.4, contrast=0, saturation=0, value_range=(0, 1), seed=3
        )
    )
    factors = out[:, 0, 0, 0] / 0.5
    assert factors.min() >= 0.6 - 1e-6 and factors.max() <= 1.4 + 1e-6
    assert len(np.unique(factors.round(5))) > 390  # One draw per image.
    # Uniform on [0.6, 1.4]: mean 1, std 0.231; 400 draws, tolerance 4 sigma.
    assert abs(factors.mean() - 1.0) < 4 * 0.231 / 20
    np.testing.assert_array_equal(np.ptp(out, axis=(1, 2, 3)), 0)


def test_color_jitter_keeps_dtype_range_and_repeats():
    x = (np.random.default_rng(1).uniform(0, 255, (8, 4, 4, 3))).astype(np.uint8)
    a = recipekit.augment.color_jitter(x, 0.8, 0.8, 0.8, seed=5)
    b = recipekit.augment.color_jitter(x, 0.8, 0.8, 0.8, seed=5)
    assert dtype_name(a) == "uint8"
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), x)
    same = recipekit.augment.color_jitter(x, 0, 0, 0)
    np.testing.assert_array_equal(np.asarray(same), x)
    unit = x.astype(np.float32) / 255
    f = recipekit.augment.color_jitter(unit, 2.0, 0, 0, value_range=(0, 1), seed=1)
    assert dtype_name(f) == "float32" and float(np.max(np.asarray(f))) <= 1.0
    # Float pixels in 0-255 under the default range: the same result as uint8.
    g = recipekit.augment.color_jitter(x.astype(np.float32), 0.8, 0.8, 0.8, seed=5)
    np.testing.assert_allclose(np.asarray(g), np.asarray(a), atol=0.5 + 1e-3)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda x: recipekit.augment.color_jitter(x, brightness=-0.1),
            "brightness.*>= 0.*-0.1",
        ),
        (
            lambda x: recipekit.augment.color_jitter(x, contrast=float("inf")),
            "contrast.*finite.*inf",
        ),
        (
            lambda x: recipekit.augment.pca_lighting(
                x, *recipekit.augment.IMAGENET_PCA, alpha_std=float("nan")
            ),
            "alpha_std.*finite.*nan",
        ),
        (
            lambda x: recipekit.augment.color_jitter(x * 255, value_range=(0, 1)),
            r"values in \[.*\], outside value_range=\(0.0, 1.0\).*\(0, 255\)",
        ),
        (
            lambda x: recipekit.augment.color_jitter(
                (x * 255).astype(np.uint8), value_range=(0, 1)
            ),
            r"uint8 images.*value_range=\(0, 255\)",
        ),
        (
            lambda x: recipekit.augment.color_jitter(x, value_range=(0, float("nan"))),
            "value_range",
        ),
        (lambda x: recipekit.augment.color_jitter(x[..., :1]), "3 channels"),
        (
            lambda x: recipekit.augment.pca_lighting(x, [1, 2], np.eye(3)),
            r"eigenvalues.*\(3,\)",
        ),
        (
            lambda x: recipekit.augment.pca_lighting(x, [1, 2, 3], np.eye(2)),
            r"eigenvectors.*\(3, 3\)",
        ),
        (
            lambda x: recipekit.augment.pca_lighting(x, [1, 2, 3], np.eye(3), -1),
            "alpha_std",
        ),
    ],
)
def test_bad_arguments(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call(_images() * 255)


@pytest.mark.parametrize(
    "op",
    [
        lambda x: recipekit.augment.pad_random_crop(x, seed=0),
        lambda x: recipekit.augment.random_flip(x, seed=0),
        lambda x: recipekit.augment.color_jitter(x, seed=0),
        lambda x: recipekit.augment.pca_lighting(x, *recipekit.augment.IMAGENET_PCA),
        lambda x: recipekit.augment.cifar_policy(brightness=0.1)(x, seed=0),
    ],
)
def test_an_empty_batch_gives_an_empty_batch(op):
    out = op(np.zeros((0, 32, 32, 3), np.uint8))
    assert tuple(out.shape) == (0, 32, 32, 3) and dtype_name(out) == "uint8"
    crop = recipekit.augment.imagenet_policy((8, 8))(np.zeros((0, 9, 9, 3), np.uint8))
    assert tuple(crop.shape) == (0, 8, 8, 3)


def test_pca_offset_direction_and_spread():
    vectors = np.linalg.qr(np.random.default_rng(2).normal(size=(3, 3)))[0]
    x = np.full((2000, 1, 1, 3), 0.5, np.float32)
    out = recipekit.augment.pca_lighting(
        x, [0.5, 0.0, 0.0], vectors, alpha_std=0.1, value_range=(0, 1), seed=0
    )
    offsets = np.asarray(out)[:, 0, 0, :] - 0.5
    # All offsets lie along the first eigenvector (column 0).
    along = offsets @ vectors[:, 0]
    np.testing.assert_allclose(offsets, np.outer(along, vectors[:, 0]), atol=1e-6)
    # along = 0.5 * alpha, alpha ~ N(0, 0.1): std 0.05, within 5% for 2000 draws.
    assert abs(along.std() - 0.05) < 0.0025 and abs(along.mean()) < 0.005


def test_pca_lighting_uint8_scales_offset_to_pixels():
    x = np.full((3, 2, 2, 3), 128, np.uint8)
    vectors = np.eye(3)
    out = recipekit.augment.pca_lighting(x, [1.0, 0, 0], vectors, 0.1, seed=4)
    out = np.asarray(out)
    key = _random.make_key(keras.ops, 4)
    alpha = np.asarray(_random.normal(keras.ops, key, (3, 3), 0.1))
    expected = np.clip(np.round(128 + 255 * alpha[:, 0]), 0, 255)
    np.testing.assert_array_equal(out[:, 0, 0, 0], expected)
    np.testing.assert_array_equal(out[..., 1:], 128)


def test_fit_pca_lighting_matches_numpy_and_streams():
    rng = np.random.default_rng(0)
    mix = np.array([[1.0, 0.5, 0.2], [0.0, 0.6, 0.3], [0.0, 0.0, 0.2]])
    pixels = np.clip(0.5 + rng.normal(0, 0.1, (40 * 16, 3)) @ mix, 0, 1)
    x = (pixels.reshape(40, 4, 4, 3) * 255).round().astype(np.uint8)
    reference = np.cov(x.reshape(-1, 3).T / 255.0, bias=True)
    ref_values = np.sort(np.linalg.eigvalsh(reference))[::-1]
    values, vectors = recipekit.augment.fit_pca_lighting(x, batch_size=7)
    np.testing.assert_allclose(values, ref_values, rtol=1e-9)
    np.testing.assert_allclose(
        vectors @ np.diag(values) @ vectors.T, reference, atol=1e-12
    )
    if keras.backend.backend() == "tensorflow":  # Streams a tf.data.Dataset too.
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices((x, np.zeros(40)))
        streamed, _ = recipekit.augment.fit_pca_lighting(dataset, batch_size=9)
        np.testing.assert_allclose(streamed, values, rtol=1e-9)


def test_imagenet_constant_is_orthonormal():
    values, vectors = recipekit.augment.IMAGENET_PCA
    assert values.tolist() == [0.2175, 0.0188, 0.0045]
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(3), atol=2e-3)
