"""`ColorJitter`: per-image brightness, contrast and saturation as a Keras layer."""

import keras

from recipekit._checks import check_factor
from recipekit.augment._color import jitter_unit
from recipekit.augment._layer_base import UnitRangeLayer


@keras.saving.register_keras_serializable(package="recipekit")
class ColorJitter(UnitRangeLayer):
    """Random brightness, contrast and saturation, drawn per image.

    The layer form of `recipekit.augment.color_jitter` (factors uniform in
    `[max(0, 1 - s), 1 + s]`, applied as brightness, contrast, saturation).
    Keras 3 has `RandomColorJitter` (brightness, contrast, saturation, hue,
    each with Keras's own factor conventions); this one keeps torchvision's and
    timm's convention, `[1 - s, 1 + s]` per image in a fixed order, so a
    recipe ported from PyTorch means the same numbers.

    Args:
        brightness: strength >= 0 (0 = off).
        contrast: strength >= 0 (0 = off).
        saturation: strength >= 0 (0 = off).
        value_range: the `(low, high)` range of the inputs, `(0, 255)` for pixel
            values (the default, as in Keras's preprocessing layers) or `(0, 1)`.
        seed: an int for repeatable draws, or None.

    Call arguments:
        inputs: RGB images `(H, W, 3)` or `(B, H, W, 3)`.
        training: jitter when True, identity when False.

    Examples:

    >>> layer = recipekit.augment.ColorJitter(0.4, 0.4, 0.4, seed=0)
    >>> x = np.full((2, 8, 8, 3), 100, np.uint8)
    >>> tuple(layer(x).shape)
    (2, 8, 8, 3)
    """

    def __init__(
        self,
        brightness=0.4,
        contrast=0.4,
        saturation=0.4,
        value_range=(0, 255),
        seed=None,
        **kwargs,
    ):
        super().__init__(value_range=value_range, seed=seed, **kwargs)
        self.brightness = check_factor("brightness", brightness)
        self.contrast = check_factor("contrast", contrast)
        self.saturation = check_factor("saturation", saturation)

    def augment_unit(self, ops, x, key):
        strengths = (self.brightness, self.contrast, self.saturation)
        return jitter_unit(ops, x, *strengths, key)

    def get_config(self):
        return {
            **super().get_config(),
            "brightness": self.brightness,
            "contrast": self.contrast,
            "saturation": self.saturation,
        }
