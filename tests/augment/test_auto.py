"""RandAugment, TrivialAugmentWide and AugMix: the ops against PIL, the
per-image draws, seeds, tf.data, and the policies that carry them."""

import keras
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

import recipekit
from recipekit import _random
from recipekit.augment import _auto, _auto_ops


def _images(n=3, h=9, w=11, seed=0):
    x = np.random.default_rng(seed).integers(0, 256, (n, h, w, 3)).astype(np.uint8)
    x[1] = x[1] // 4 + 60  # a low-contrast image, where the stretch shows
    return x


def _unit(x):
    return keras.ops.convert_to_tensor(x.astype(np.float32) / 255)


def _pixels(out):
    return np.round(np.asarray(out) * 255).astype(int)


def _pil(image, fn):
    return np.asarray(fn(Image.fromarray(image))).astype(int)


def test_pixel_ops_match_pil():
    x = _images()
    unit = _unit(x)
    ops = keras.ops
    equalized = _pixels(_auto_ops.equalize(ops, unit))
    posterized = _pixels(_auto_ops.posterize(ops, unit, np.array([3.0, 5.0, 1.0])))
    solarized = _pixels(_auto_ops.solarize(ops, unit, np.array([0.5, 0.2, 1.0])))
    stretched = _pixels(_auto_ops.autocontrast(ops, unit))
    for i, image in enumerate(x):
        np.testing.assert_array_equal(equalized[i], _pil(image, ImageOps.equalize))
        bits = [3, 5, 1][i]
        np.testing.assert_array_equal(
            posterized[i], _pil(image, lambda im, b=bits: ImageOps.posterize(im, b))
        )
        threshold = [128, 51, 255][i]
        np.testing.assert_array_equal(
            solarized[i], _pil(image, lambda im, t=threshold: ImageOps.solarize(im, t))
        )
        # PIL truncates its lookup table; the float stretch rounds.
        expected = _pil(image, ImageOps.autocontrast)
        assert np.abs(stretched[i] - expected).max() <= 1


@pytest.mark.parametrize("name", ["brightness", "color", "contrast", "sharpness"])
def test_enhance_ops_match_pil_within_rounding(name):
    x = _images()
    factors = np.array([0.3, 1.7, 1.0], np.float32)
    out = _auto_ops.apply_ops(
        keras.ops, _unit(x), _auto_ops.ALL_OPS,
        np.full(3, _auto_ops.ALL_OPS.index(name), np.int32),
        np.ones(3, np.float32), factors - 1.0, {**_auto.RAND_RANGES, "enhance": 1.0},
    )  # fmt: skip
    enhance = getattr(ImageEnhance, name.capitalize())
    for i, image in enumerate(x):
        expected = _pil(image, lambda im, f=float(factors[i]): enhance(im).enhance(f))
        assert np.abs(_pixels(out)[i] - expected).max() <= 1


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_geometric_ops_match_pil_nearest_with_gray_fill(sign):
    x = _images(2, 10, 10)
    ranges = {**_auto.RAND_RANGES, "rotate": 90.0, "shear": 0.6, "translate": 0.4}

    def run(name, level):
        index = np.full(2, _auto_ops.ALL_OPS.index(name), np.int32)
        out = _auto_ops.apply_ops(
            keras.ops, _unit(x), _auto_ops.ALL_OPS, index,
            np.full(2, level, np.float32), np.full(2, sign, np.float32), ranges,
        )  # fmt: skip
        return _pixels(out)[0]

    gray = (128, 128, 128)
    rotated = _pil(x[0], lambda im: im.rotate(27 * sign, Image.NEAREST, fillcolor=gray))
    np.testing.assert_array_equal(run("rotate", 0.3), rotated)
    np.testing.assert_array_equal(run("rotate", 1.0), np.rot90(x[0], sign))
    shear = 0.3 * sign  # PIL's map, moved to be about the centre
    sheared = _pil(
        x[0],
        lambda im: im.transform(
            (10, 10), Image.AFFINE, (1, shear, -shear * 5, 0, 1, 0),
            Image.NEAREST, fillcolor=gray,
        ),
    )  # fmt: skip
    np.testing.assert_array_equal(run("shear_x", 0.5), sheared)
    moved = run("translate_x", 0.5)  # 2 pixels
    if sign > 0:
        np.testing.assert_array_equal(moved[:, 2:], x[0][:, :-2])
        assert (moved[:, :2] == 128).all()
    else:
        np.testing.assert_array_equal(moved[:, :-2], x[0][:, 2:])


def test_each_image_draws_its_own_ops_unlike_keras_rand_augment():
    """Keras 3.15's RandAugment draws `num_ops` op indices for the whole batch;
    recipekit's draws them per image, as the paper does."""
    layer = keras.layers.RandAugment(num_ops=2, seed=0)
    batch = np.zeros((8, 16, 16, 3), np.float32)
    drawn = layer.get_random_transformation(batch, training=True)
    assert tuple(keras.ops.shape(drawn["layer_idxes"])) == (2,)
    # Ours: with magnitude 10 on a batch of one repeated image, the ops that
    # leave no pixel alike tell the draws apart; 64 images take many outputs.
    x = np.repeat(_images(2, 16, 16)[:1], 64, axis=0)
    out = np.asarray(recipekit.augment.rand_augment(x, 1, 10, seed=3))
    distinct = {image.tobytes() for image in out}
    assert len(distinct) > 8
    assert any(np.array_equal(image, x[0]) for image in out)  # identity drawn


def test_trivial_augment_draws_ops_and_strength_bins_uniformly():
    key = _random.make_key(keras.ops, 5)
    ops = keras.ops
    calls = []

    def record(ops_, x, names, index, level, sign, ranges):
        calls.append((np.asarray(index), np.asarray(level), np.asarray(sign)))
        return x

    original = _auto.apply_ops
    _auto.apply_ops = record
    try:
        _auto.trivial_augment_unit(ops, ops.zeros((7000, 2, 2, 3)), key)
    finally:
        _auto.apply_ops = original
    index, level, sign = calls[0]
    counts = np.bincount(index, minlength=14)
    assert counts.min() > 380 and counts.max() < 620  # 500 each
    assert set(np.round(level * 30).astype(int)) == set(range(31))
    assert set(sign.tolist()) == {-1.0, 1.0} and abs(sign.mean()) < 0.05


def test_gamma_draws_behind_aug_mix_weights_have_their_moments():
    """AugMix's Dirichlet and Beta weights are ratios of these Gamma draws."""
    ops = keras.ops
    key = _random.make_key(ops, 1)
    draws = np.asarray(_random.gamma(ops, key, (100_000,), 1.0))
    np.testing.assert_allclose([draws.mean(), draws.var()], [1.0, 1.0], atol=0.02)
    small = np.asarray(_random.gamma(ops, key, (100_000,), 0.3))
    np.testing.assert_allclose([small.mean(), small.var()], [0.3, 0.3], atol=0.01)
    # Beta(1, 1) from two of them is uniform: mean 1/2, variance 1/12.
    pair = np.asarray(_random.gamma(ops, key, (100_000, 2), 1.0))
    beta = pair[:, 0] / pair.sum(axis=1)
    np.testing.assert_allclose([beta.mean(), beta.var()], [0.5, 1 / 12], atol=0.005)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, seed: recipekit.augment.rand_augment(x, 2, 9, seed=seed),
        lambda x, seed: recipekit.augment.trivial_augment(x, seed=seed),
        lambda x, seed: recipekit.augment.aug_mix(x, seed=seed),
    ],
)
def test_a_seed_repeats_and_tf_data_gives_the_same_batch(fn):
    x = _images(12, 16, 16)
    first = np.asarray(fn(x, 4))
    np.testing.assert_array_equal(first, np.asarray(fn(x, 4)))
    assert not np.array_equal(first, np.asarray(fn(x, 5)))
    assert not np.array_equal(first, x)
    tf = pytest.importorskip("tensorflow")
    in_tf = fn(tf.constant(x), 4).numpy()
    # Float rounding may move a value across .5 before the uint8 cast.
    assert np.abs(in_tf.astype(int) - first.astype(int)).max() <= 1
    assert (in_tf != first).mean() < 0.01


def test_policies_carry_the_automatic_policy_and_erasing():
    x = _images(16, 32, 32)
    plain = recipekit.augment.cifar_policy()
    cut = np.asarray(recipekit.augment.cifar_policy(cutout=8)(x, seed=0))
    assert ((cut == 128).all(axis=-1).sum(axis=(1, 2)) >= 64).all()
    policy = recipekit.augment.cifar_policy(auto="rand-n1-m5", cutout=8, erasing=0.5)
    config = policy.get_config()
    assert (config["auto"], config["cutout"], config["erasing"]) == (
        "rand-n1-m5",
        8,
        0.5,
    )
    out = np.asarray(policy(x, seed=0))
    assert out.shape == x.shape and not np.array_equal(
        out, np.asarray(plain(x, seed=0))
    )
    layers = policy.as_layers(seed=0)
    names = [type(layer).__name__ for layer in layers.layers]
    assert names == [
        "RandomPadCrop",
        "RandomFlip",
        "RandAugment",
        "Cutout",
        "RandomErasing",
    ]
    assert layers.layers[2].num_ops == 1 and layers.layers[2].magnitude == 5.0
    imagenet = recipekit.augment.imagenet_policy((24, 24), auto="augmix-s2-w2")
    assert np.asarray(imagenet(x, seed=0)).shape == (16, 24, 24, 3)
    assert type(imagenet.as_layers().layers[2]).__name__ == "AugMix"


def test_automatic_policy_argument_errors():
    x = _images()
    with pytest.raises(ValueError, match=r"`magnitude` must be a number in \[0, 10\]"):
        recipekit.augment.rand_augment(x, magnitude=11)
    with pytest.raises(ValueError, match="`num_ops` must be an integer"):
        recipekit.augment.RandAugment(num_ops=0)
    with pytest.raises(ValueError, match="`width` must be an integer"):
        recipekit.augment.AugMix(width=1.5)
    with pytest.raises(ValueError, match="`alpha` must be a number in"):
        recipekit.augment.aug_mix(x, alpha=0)
    with pytest.raises(ValueError, match="channels"):
        recipekit.augment.trivial_augment(np.zeros((2, 8, 8, 1), np.uint8))
    with pytest.raises(ValueError, match='Argument `auto` must be None, "rand"'):
        recipekit.augment.cifar_policy(auto="randaugment")
    with pytest.raises(ValueError, match=r"Unknown setting 'x3' in auto='rand-x3'"):
        recipekit.augment.cifar_policy(auto="rand-x3")
    with pytest.raises(ValueError, match="`erasing` must be a number"):
        recipekit.augment.cifar_policy(erasing=2)
    with pytest.raises(ValueError, match="`cutout` must be an integer"):
        recipekit.augment.imagenet_policy(cutout=-1)
