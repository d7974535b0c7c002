"""`RandomResizedCrop`: the per-image Inception crop as a Keras layer."""

import keras

from recipekit.augment._backend import ops_for
from recipekit.augment._images import dtype_name
from recipekit.augment._layer_base import AugmentLayer
from recipekit.augment._resized_crop import (
    cast_like,
    check_resized_crop_args,
    resized_crop,
)


@keras.saving.register_keras_serializable(package="recipekit")
class RandomResizedCrop(AugmentLayer):
    """Crops a random box per image and resizes it to `size` (training only).

    The layer form of `recipekit.augment.random_resized_crop`. At inference it
    resizes the whole image to `size` (bilinear), so the model's output shape
    does not depend on `training`. Keras 3 has no random resized crop layer.

    Args:
        size: output `(height, width)`.
        scale: (min, max) fraction of the image area kept.
        ratio: (min, max) aspect ratio of the box.
        seed: an int for repeatable crops, or None.

    Call arguments:
        inputs: `(H, W, C)` or `(B, H, W, C)`.
        training: random crops when True, a plain resize when False.

    Examples:

    >>> layer = recipekit.augment.RandomResizedCrop((224, 224))
    """

    def __init__(
        self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), seed=None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        self.size, self.scale, self.ratio = check_resized_crop_args(size, scale, ratio)

    def call(self, inputs, training=True):
        if training:
            return super().call(inputs, training=True)
        ops = ops_for(inputs)
        resized = ops.image.resize(inputs, self.size, interpolation="bilinear")
        return cast_like(ops, resized, dtype_name(inputs))

    def augment(self, ops, images, key):
        return resized_crop(ops, images, self.size, self.scale, self.ratio, key)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-3], *self.size, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "size": list(self.size),
            "scale": list(self.scale),
            "ratio": list(self.ratio),
        }
