"""`RandomPadCrop`: the per-image pad-and-crop as a Keras layer."""

import keras

from recipekit.augment._crop import check_padding, random_offsets, shift_windows
from recipekit.augment._images import batch_size
from recipekit.augment._layer_base import AugmentLayer


@keras.saving.register_keras_serializable(package="recipekit")
class RandomPadCrop(AugmentLayer):
    """Pads each image and crops it back to its size at a random offset.

    The CIFAR augmentation of He et al. (2016) as a layer. What Keras lacks:
    `keras.layers.RandomCrop` crops one window for the whole batch, has no
    padding, and center-crops at inference; this draws one offset per image and
    is the identity at inference.

    Args:
        padding: pixels added on each side before cropping, an int >= 0.
        mode: `"reflect"`, `"symmetric"` or `"constant"` (zeros).
        seed: an int for repeatable crops, or None.

    Call arguments:
        inputs: `(H, W, C)` or `(B, H, W, C)`, any numeric dtype.
        training: crop when True (the default outside `fit`), identity when False.

    Examples:

    >>> model = keras.Sequential([keras.Input((32, 32, 3)),
    ...     recipekit.augment.RandomPadCrop(4), keras.layers.RandomFlip("horizontal"),
    ...     ...])
    """

    def __init__(self, padding=4, mode="reflect", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        check_padding(padding, mode)
        self.padding = padding
        self.mode = mode

    def augment(self, ops, images, key):
        check_padding(self.padding, self.mode, images.shape[1:3])
        offsets = random_offsets(ops, key, batch_size(ops, images), self.padding)
        return shift_windows(ops, images, self.padding, offsets, self.mode)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "mode": self.mode}
