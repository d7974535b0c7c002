"""Random translation: the pad-and-crop of the CIFAR recipes, as one gather."""

import keras
from keras import ops

from recipekit.augment._crop import shift_windows


def translate(images, pixels, seed=None, offsets=None):
    """Shifts each image by up to `pixels` in x and y, reflect-padded (keras.ops).

    Every image gets its own offset, uniform over the `(2 * pixels + 1) ** 2`
    positions of a crop from the reflect-padded batch: the "pad and crop" of the
    CIFAR recipes, on any backend and inside a compiled step.

    Args:
        images: `(B, H, W, C)` tensor.
        pixels: the largest shift, an int >= 0 (smaller than H and W).
        seed: a `keras.random.SeedGenerator` or an int (for random offsets).
        offsets: or the int `(B, 2)` offsets themselves, each in
            `[0, 2 * pixels]` (row, column of the crop in the padded image).

    Returns:
        The shifted batch, same shape and dtype.

    Examples:

    >>> x = np.zeros((4, 8, 8, 3), "float32")
    >>> tuple(translate(x, 2, seed=0).shape)
    (4, 8, 8, 3)
    """
    if not pixels:
        return images
    if offsets is None:
        batch = ops.shape(images)[0]
        offsets = keras.random.randint((batch, 2), 0, 2 * pixels + 1, seed=seed)
    return shift_windows(ops, images, pixels, offsets)
