"""`ColorJitter`: per-image brightness, contrast and saturation as a Keras layer."""

import keras

from recipekit.augment._checks import check_factor
from recipekit.augment._color import color_jitter
from recipekit.augment._layer_base import (
    AugmentLayer,
    check_value_range,
    scale_to_unit,
)


@keras.saving.register_keras_serializable(package="recipekit")
class ColorJitter(AugmentLayer):
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

    Example:

    >>> layer = recipekit.augment.ColorJitter(0.4, 0.4, 0.4)
    >>> train = train.map(lambda x, y: (layer(x), y))
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
        super().__init__(seed=seed, **kwargs)
        self.brightness = check_factor("brightness", brightness)
        self.contrast = check_factor("contrast", contrast)
        self.saturation = check_factor("saturation", saturation)
        self.value_range = check_value_range(value_range)

    def augment(self, images, seed):
        x, restore = scale_to_unit(images, self.value_range)
        x = color_jitter(x, self.brightness, self.contrast, self.saturation, seed=seed)
        return restore(x)

    def get_config(self):
        return {
            **super().get_config(),
            "brightness": self.brightness,
            "contrast": self.contrast,
            "saturation": self.saturation,
            "value_range": list(self.value_range),
        }
