"""Automatic augmentation policies: RandAugment, TrivialAugmentWide and AugMix.

Every image draws its own ops and strengths (the papers' rule), on whole
batches; the ops are those of `_auto_ops`, with the published op lists and
magnitude ranges.
"""

import re

from recipekit import _random
from recipekit._checks import check_number
from recipekit.augment._auto_ops import ALL_OPS, apply_ops
from recipekit.augment._images import batch_size, run_on_unit

# RandAugment (Cubuk et al., 2020) at magnitude 10: AutoAugment's ranges
# (shear 0.3, translate 150 of 331 pixels, rotate 30 degrees, enhance
# factors 1 +- 0.9, posterize down to 4 bits, solarize threshold down to 0).
RAND_RANGES = {
    "shear": 0.3,
    "translate": 150 / 331,
    "rotate": 30.0,
    "enhance": 0.9,
    "posterize": 4,
    "solarize": 1.0,
}
# TrivialAugmentWide (Muller and Hutter, 2021): the wide ranges (translate 32
# pixels of a 32-pixel CIFAR image), 31 strength bins.
WIDE_RANGES = {
    "shear": 0.99,
    "translate": 1.0,
    "rotate": 135.0,
    "enhance": 0.99,
    "posterize": 6,
    "solarize": 1.0,
}
WIDE_BINS = 31
# AugMix (Hendrycks et al., 2020): no color, contrast, brightness or
# sharpness (they overlap ImageNet-C's corruptions); translate a third of the
# side; posterize from 4 bits; strengths uniform in [0.1, severity] / 10.
AUGMIX_OPS = (
    "autocontrast",
    "equalize",
    "posterize",
    "rotate",
    "solarize",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)
AUGMIX_RANGES = {
    "shear": 0.3,
    "translate": 1 / 3,
    "rotate": 30.0,
    "posterize": 4,
    "bits": 4,
    "solarize": 1.0,
}


def _signs(ops, key, batch):
    coins = _random.randint(ops, key, (batch,), 2)
    return ops.cast(coins, "float32") * 2.0 - 1.0


def _one_op(ops, x, names, level, ranges, key):
    """Every image applies one op of `names`, drawn uniformly, at `level`."""
    batch = batch_size(ops, x)
    index = _random.randint(ops, _random.subkey(ops, key, 0), (batch,), len(names))
    signs = _signs(ops, _random.subkey(ops, key, 1), batch)
    return apply_ops(ops, x, names, index, level, signs, ranges)


def rand_augment_unit(ops, x, num_ops, magnitude, key):
    """RandAugment of [0, 1] floats: `num_ops` ops, each drawn per image from
    the paper's 14 (identity included), at strength `magnitude / 10`."""
    level = ops.ones((batch_size(ops, x),), "float32") * (magnitude / 10.0)
    for step in range(num_ops):
        x = _one_op(ops, x, ALL_OPS, level, RAND_RANGES, _random.subkey(ops, key, step))
    return x


def trivial_augment_unit(ops, x, key):
    """TrivialAugmentWide of [0, 1] floats: one op per image, at one of 31
    strengths, uniformly."""
    batch = batch_size(ops, x)
    bins = _random.randint(ops, _random.subkey(ops, key, 0), (batch,), WIDE_BINS)
    level = ops.cast(bins, "float32") / (WIDE_BINS - 1)
    return _one_op(ops, x, ALL_OPS, level, WIDE_RANGES, _random.subkey(ops, key, 1))


def aug_mix_unit(ops, x, severity, width, depth, alpha, key):
    """AugMix of [0, 1] floats: `width` chains of `depth` ops (1-3 per image
    when `depth` is 0), mixed with Dirichlet(alpha) weights, then blended with
    the image by a Beta(alpha, alpha) weight."""
    batch = batch_size(ops, x)
    weights = _random.gamma(ops, _random.subkey(ops, key, 0), (batch, width), alpha)
    weights = weights / ops.sum(weights, axis=1, keepdims=True)
    g = _random.gamma(ops, _random.subkey(ops, key, 1), (batch, 2), alpha)
    blend = ops.reshape(g[:, 0] / (g[:, 0] + g[:, 1]), (-1, 1, 1, 1))
    mixed = 0.0
    for chain in range(width):
        chain_key = _random.subkey(ops, key, 2 + chain)
        if depth:
            length = ops.ones((batch,), "int32") * depth
        else:
            length = _random.randint(
                ops, _random.subkey(ops, chain_key, 0), (batch,), 3
            )
            length = length + 1
        y = x
        for step in range(depth or 3):
            step_key = _random.subkey(ops, chain_key, 1 + step)
            level = _random.uniform(
                ops, _random.subkey(ops, step_key, 2), (batch,), 0.1, severity
            )
            z = _one_op(ops, y, AUGMIX_OPS, level / 10.0, AUGMIX_RANGES, step_key)
            y = ops.where(ops.reshape(step < length, (-1, 1, 1, 1)), z, y)
        mixed = mixed + ops.reshape(weights[:, chain], (-1, 1, 1, 1)) * y
    return (1.0 - blend) * x + blend * mixed


def check_rand_args(num_ops, magnitude):
    num_ops = check_number("num_ops", num_ops, "[1, inf)", integer=True)
    return num_ops, check_number("magnitude", magnitude, "[0, 10]")


def check_aug_mix_args(severity, width, depth, alpha):
    severity = check_number("severity", severity, "[1, 10]")
    width = check_number("width", width, "[1, inf)", integer=True)
    depth = check_number("depth", depth, "[0, inf)", integer=True)
    return severity, width, depth, check_number("alpha", alpha, "(0, inf)")


def _run(images, value_range, seed, fn):
    return run_on_unit(images, value_range, seed, fn, channels=3)


def rand_augment(images, num_ops=2, magnitude=9, value_range=(0, 255), seed=None):
    """RandAugment (Cubuk et al., 2020): `num_ops` random ops per image.

    Each image draws each of its `num_ops` ops uniformly from the paper's 14
    (identity, auto-contrast, equalize, rotate, solarize, color, posterize,
    contrast, brightness, sharpness, shear x/y, translate x/y), at the one
    strength `magnitude` on the paper's 0-10 scale (AutoAugment's ranges at
    10), with a random sign. Keras 3's `RandAugment` draws the ops once per
    batch (every image gets the same ones) and the strength at random, without
    identity; `tests/augment/test_auto.py` shows the first. Runs in
    `keras.ops` on any backend, and in `tf.data` on TensorFlow tensors.

    Args:
        images: RGB batch `(B, H, W, 3)`, uint8 or float.
        num_ops: ops per image, N (the paper's ImageNet setting is 2).
        magnitude: M, in [0, 10] (ImageNet: 9).
        value_range: `(low, high)` of the pixel values, `(0, 255)` or `(0, 1)`.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape and dtype.

    Examples:

    >>> x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
    >>> tuple(recipekit.augment.rand_augment(x, 2, 9, seed=0).shape)
    (4, 32, 32, 3)
    """
    num_ops, magnitude = check_rand_args(num_ops, magnitude)
    return _run(
        images,
        value_range,
        seed,
        lambda ops, x, key: rand_augment_unit(ops, x, num_ops, magnitude, key),
    )


def trivial_augment(images, value_range=(0, 255), seed=None):
    """TrivialAugmentWide (Muller and Hutter, 2021): one random op per image.

    Each image draws one of the 14 RandAugment ops and one of 31 strengths
    uniformly, on the wide ranges (shear 0.99, translate 32 pixels of a
    32-pixel image, rotate 135 degrees, enhance factors 1 +- 0.99, posterize
    down to 2 bits), with a random sign. Nothing to tune. Keras 3 has no
    TrivialAugment.

    Args:
        images: RGB batch `(B, H, W, 3)`, uint8 or float.
        value_range: `(low, high)` of the pixel values, `(0, 255)` or `(0, 1)`.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape and dtype.

    Examples:

    >>> x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
    >>> tuple(recipekit.augment.trivial_augment(x, seed=0).shape)
    (4, 32, 32, 3)
    """
    return _run(images, value_range, seed, trivial_augment_unit)


def aug_mix(
    images, severity=3, width=3, depth=0, alpha=1.0, value_range=(0, 255), seed=None
):
    """AugMix (Hendrycks et al., 2020): a blend of random augmentation chains.

    Per image: `width` chains, each of `depth` ops (1 to 3 at random when
    `depth` is 0) from AugMix's 9 (no color, contrast, brightness or sharpness,
    which overlap ImageNet-C's corruptions), each at a strength uniform in
    `[0.1, severity]` on the 0-10 scale; the chains are mixed with
    Dirichlet(alpha) weights and the mix blended with the image by a
    Beta(alpha, alpha) weight. The paper's Jensen-Shannon consistency loss is
    not part of it. Keras 3 has `AugMix`; this one draws per image, on
    recipekit's seeded streams, and is checked against the same op
    definitions as the other policies.

    Args:
        images: RGB batch `(B, H, W, 3)`, uint8 or float.
        severity: the strength bound on the 0-10 scale (the paper: 3).
        width: chains per image (3).
        depth: ops per chain, or 0 for 1-3 at random (the paper).
        alpha: the Dirichlet and Beta parameter (1).
        value_range: `(low, high)` of the pixel values, `(0, 255)` or `(0, 1)`.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape and dtype.

    Examples:

    >>> x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8)
    >>> tuple(recipekit.augment.aug_mix(x, seed=0).shape)
    (4, 32, 32, 3)
    """
    args = check_aug_mix_args(severity, width, depth, alpha)
    return _run(
        images,
        value_range,
        seed,
        lambda ops, x, key: aug_mix_unit(ops, x, *args, key),
    )


_SPEC = re.compile(r"^(rand|trivial|augmix)((?:-[a-z][0-9.]+)*)$")
_KEYS = {
    "rand": {"n": "num_ops", "m": "magnitude"},
    "trivial": {},
    "augmix": {"s": "severity", "w": "width", "d": "depth", "a": "alpha"},
}


def parse_auto(spec):
    """A policy name with optional settings, timm style, as `(name, kwargs)`.

    `"rand"` (`"rand-n2-m9"`: N and M), `"trivial"`, `"augmix"`
    (`"augmix-s3-w3-d0-a1"`: severity, width, depth, alpha).
    """
    match = _SPEC.match(spec) if isinstance(spec, str) else None
    if match is None:
        raise ValueError(
            'Argument `auto` must be None, "rand" (or e.g. "rand-n2-m9"), '
            '"trivial" or "augmix" (or e.g. "augmix-s3-w3-d0-a1"). '
            f"Received: auto={spec!r}"
        )
    name, tail = match.groups()
    kwargs = {}
    for part in filter(None, tail.split("-")):
        key, value = part[0], part[1:]
        if key not in _KEYS[name]:
            known = ", ".join(f"{k} ({v})" for k, v in _KEYS[name].items()) or "none"
            raise ValueError(
                f"Unknown setting {part!r} in auto={spec!r}: {name!r} takes {known}."
            )
        number = float(value)
        kwargs[_KEYS[name][key]] = int(number) if number.is_integer() else number
    if name == "rand":
        num_ops, magnitude = check_rand_args(
            kwargs.get("num_ops", 2), kwargs.get("magnitude", 9)
        )
        return name, {"num_ops": num_ops, "magnitude": magnitude}
    if name == "augmix":
        defaults = {"severity": 3, "width": 3, "depth": 0, "alpha": 1.0}
        args = check_aug_mix_args(**{**defaults, **kwargs})
        return name, dict(zip(defaults, args, strict=True))
    return name, {}


def auto_unit_op(spec):
    """The policy `spec` names, as `op(ops, x, key)` on [0, 1] floats."""
    name, kwargs = parse_auto(spec)
    if name == "rand":
        return lambda ops, x, key: rand_augment_unit(ops, x, key=key, **kwargs)
    if name == "augmix":
        return lambda ops, x, key: aug_mix_unit(ops, x, key=key, **kwargs)
    return trivial_augment_unit
