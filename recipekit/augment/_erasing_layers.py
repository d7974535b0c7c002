"""`RandomErasing` and `Cutout` as Keras layers."""

import keras

from recipekit.augment._erasing import (
    check_cutout_args,
    check_erasing_args,
    cutout_unit,
    erase_unit,
)
from recipekit.augment._layer_base import UnitRangeLayer


@keras.saving.register_keras_serializable(package="recipekit")
class RandomErasing(UnitRangeLayer):
    """Erases a random box of each image (Zhong et al., 2020), in training.

    The layer form of `recipekit.augment.random_erasing`: the paper's area and
    aspect-ratio draws and uniform-noise fill. Keras 3's own `RandomErasing`
    draws the sides independently and fills with clipped Gaussian noise (about
    half the erased pixels become 0); this one follows the paper.

    Args:
        probability: the chance that an image is erased.
        scale: (min, max) fraction of the image area erased.
        ratio: (min, max) aspect ratio of the box, height / width.
        value: `"random"`, a number, or one number per channel, in
            `value_range`.
        value_range: `(low, high)` of the inputs, `(0, 255)` (default) or `(0, 1)`.
        seed: an int for repeatable draws, or None.

    Call arguments:
        inputs: images `(H, W, C)` or `(B, H, W, C)`.
        training: erase when True, identity when False.

    Examples:

    >>> layer = recipekit.augment.RandomErasing(probability=1.0, seed=0)
    >>> x = np.full((2, 32, 32, 3), 128, np.uint8)
    >>> bool((np.asarray(layer(x)) != 128).any())
    True
    """

    def __init__(
        self,
        probability=0.5,
        scale=(0.02, 0.4),
        ratio=(0.3, 1 / 0.3),
        value="random",
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        args = check_erasing_args(probability, scale, ratio, value, value_range)
        self.probability, self.scale, self.ratio, self.value, _ = args

    def augment_unit(self, ops, x, key):
        args = (self.probability, self.scale, self.ratio, self.value)
        return erase_unit(ops, x, *args, self.value_range, key)

    def get_config(self):
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {
            **super().get_config(),
            "probability": self.probability,
            "scale": list(self.scale),
            "ratio": list(self.ratio),
            "value": value,
        }


@keras.saving.register_keras_serializable(package="recipekit")
class Cutout(UnitRangeLayer):
    """Sets a `size` x `size` square of each image to `value`, in training.

    The layer form of `recipekit.augment.cutout` (the square wholly inside the
    image, as airbench96 cuts it). Keras 3 has no fixed-size Cutout.

    Args:
        size: side of the square in pixels.
        value: a number or one per channel in `value_range`; None for the
            middle of the range.
        value_range: `(low, high)` of the inputs, `(0, 255)` (default) or `(0, 1)`.
        seed: an int for repeatable draws, or None.

    Call arguments:
        inputs: images `(H, W, C)` or `(B, H, W, C)`.
        training: cut when True, identity when False.

    Examples:

    >>> layer = recipekit.augment.Cutout(12, seed=0)
    >>> x = np.zeros((2, 32, 32, 3), np.uint8)
    >>> (np.asarray(layer(x))[..., 0] > 0).sum(axis=(1, 2)).tolist()
    [144, 144]
    """

    def __init__(self, size, value=None, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.size, self.value, _ = check_cutout_args(size, value, value_range)

    def augment_unit(self, ops, x, key):
        return cutout_unit(ops, x, self.size, self.value, self.value_range, key)

    def get_config(self):
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {**super().get_config(), "size": self.size, "value": value}
