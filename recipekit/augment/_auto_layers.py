"""`RandAugment`, `TrivialAugmentWide` and `AugMix` as Keras layers."""

import keras

from recipekit.augment._auto import (
    aug_mix_unit,
    check_aug_mix_args,
    check_rand_args,
    parse_auto,
    rand_augment_unit,
    trivial_augment_unit,
)
from recipekit.augment._layer_base import UnitRangeLayer


@keras.saving.register_keras_serializable(package="recipekit")
class RandAugment(UnitRangeLayer):
    """RandAugment (Cubuk et al., 2020), drawn per image, in training.

    The layer form of `recipekit.augment.rand_augment`: `num_ops` ops per
    image from the paper's 14, at strength `magnitude` (0-10). Keras 3's
    `RandAugment` draws its ops once for the whole batch.

    Args:
        num_ops: ops per image, N.
        magnitude: M, in [0, 10].
        value_range: `(low, high)` of the inputs, `(0, 255)` (default) or `(0, 1)`.
        seed: an int for repeatable draws, or None.

    Call arguments:
        inputs: RGB images `(H, W, 3)` or `(B, H, W, 3)`.
        training: augment when True, identity when False.

    Examples:

    >>> layer = recipekit.augment.RandAugment(2, 9, seed=0)
    >>> x = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), np.uint8)
    >>> tuple(layer(x).shape)
    (2, 32, 32, 3)
    """

    def __init__(
        self, num_ops=2, magnitude=9, value_range=(0, 255), seed=None, **kwargs
    ):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.num_ops, self.magnitude = check_rand_args(num_ops, magnitude)

    def augment_unit(self, ops, x, key):
        return rand_augment_unit(ops, x, self.num_ops, self.magnitude, key)

    def get_config(self):
        config = {"num_ops": self.num_ops, "magnitude": self.magnitude}
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="recipekit")
class TrivialAugmentWide(UnitRangeLayer):
    """TrivialAugmentWide (Muller and Hutter, 2021), per image, in training.

    The layer form of `recipekit.augment.trivial_augment`: one op and one of
    31 strengths per image, on the wide ranges. Keras 3 has no TrivialAugment.

    Args:
        value_range: `(low, high)` of the inputs, `(0, 255)` (default) or `(0, 1)`.
        seed: an int for repeatable draws, or None.

    Call arguments:
        inputs: RGB images `(H, W, 3)` or `(B, H, W, 3)`.
        training: augment when True, identity when False.

    Examples:

    >>> layer = recipekit.augment.TrivialAugmentWide(seed=0)
    >>> x = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), np.uint8)
    >>> tuple(layer(x).shape)
    (2, 32, 32, 3)
    """

    def augment_unit(self, ops, x, key):
        return trivial_augment_unit(ops, x, key)


@keras.saving.register_keras_serializable(package="recipekit")
class AugMix(UnitRangeLayer):
    """AugMix (Hendrycks et al., 2020), per image, in training.

    The layer form of `recipekit.augment.aug_mix`: `width` chains of 1-3 ops
    (or `depth`), mixed by Dirichlet(alpha) weights and blended with the
    image by a Beta(alpha, alpha) weight.

    Args:
        severity: the strength bound on the 0-10 scale.
        width: chains per image.
        depth: ops per chain, or 0 for 1-3 at random.
        alpha: the Dirichlet and Beta parameter.
        value_range: `(low, high)` of the inputs, `(0, 255)` (default) or `(0, 1)`.
        seed: an int for repeatable draws, or None.

    Call arguments:
        inputs: RGB images `(H, W, 3)` or `(B, H, W, 3)`.
        training: augment when True, identity when False.

    Examples:

    >>> layer = recipekit.augment.AugMix(seed=0)
    >>> x = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), np.uint8)
    >>> tuple(layer(x).shape)
    (2, 32, 32, 3)
    """

    def __init__(
        self,
        severity=3,
        width=3,
        depth=0,
        alpha=1.0,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        args = check_aug_mix_args(severity, width, depth, alpha)
        self.severity, self.width, self.depth, self.alpha = args

    def augment_unit(self, ops, x, key):
        args = (self.severity, self.width, self.depth, self.alpha)
        return aug_mix_unit(ops, x, *args, key)

    def get_config(self):
        return {
            **super().get_config(),
            "severity": self.severity,
            "width": self.width,
            "depth": self.depth,
            "alpha": self.alpha,
        }


def auto_augment_layer(spec, value_range=(0, 255), seed=None):
    """The layer an automatic-policy name stands for.

    `spec` is `"rand"` (RandAugment, or with settings `"rand-n2-m9"`),
    `"trivial"` (TrivialAugmentWide) or `"augmix"` (`"augmix-s3-w3-d0-a1"`:
    severity, width, depth, alpha), the names `cifar_policy(auto=...)` and
    the recipes' `--auto-augment` take.

    Examples:

    >>> layer = recipekit.augment.auto_augment_layer("rand-n1-m5", seed=0)
    >>> (type(layer).__name__, layer.num_ops, layer.magnitude)
    ('RandAugment', 1, 5.0)
    """
    name, kwargs = parse_auto(spec)
    layer = {"rand": RandAugment, "trivial": TrivialAugmentWide, "augmix": AugMix}
    return layer[name](**kwargs, value_range=value_range, seed=seed)
