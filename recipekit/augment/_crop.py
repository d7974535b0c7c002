"""Per-image random crops from a padded copy: the CIFAR "pad 4, crop 32" recipe."""

import tensorflow as tf

from recipekit.augment._checks import check_images
from recipekit.augment._seed import make_seed

PAD_MODES = ("reflect", "symmetric", "constant")


def check_padding(padding, mode):
    """Validates `padding` (an int >= 0) and `mode` (one of PAD_MODES)."""
    if not isinstance(padding, int) or isinstance(padding, bool) or padding < 0:
        raise ValueError(
            f"Argument `padding` must be an integer >= 0. Received: padding={padding!r}"
        )
    if mode not in PAD_MODES:
        raise ValueError(
            f"Argument `mode` must be one of {PAD_MODES}. Received: mode={mode!r}"
        )


def crop_windows(images, offsets, size):
    """Crops `size=(h, w)` windows at per-image `offsets` (B, 2) = (top, left).

    A deterministic gather: no resampling, dtype kept.
    """
    height, width = size
    rows = offsets[:, 0:1] + tf.range(height)[None, :]
    cols = offsets[:, 1:2] + tf.range(width)[None, :]
    images = tf.gather(images, rows, axis=1, batch_dims=1)
    return tf.gather(images, cols, axis=2, batch_dims=1)


def pad_random_crop(images, padding=4, mode="reflect", seed=None):
    """Pads every image by `padding` pixels, then crops it back at a random offset.

    Each image gets its own offset, drawn uniformly from the
    `(2 * padding + 1) ** 2` positions, so the output has the input's size
    (He et al., 2016). Keras's `RandomCrop` crops one window for the whole batch
    and has no padding; this is the per-image version, in one vectorised gather.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        padding: pixels added on each side, an int >= 0.
        mode: how the border is filled: `"reflect"` (mirror without repeating
            the edge pixel), `"symmetric"` (mirror with it) or `"constant"` (zeros).
        seed: None, an int, or a shape-[2] integer tensor.

    Returns:
        The cropped batch, same shape and dtype.

    Example:

    >>> x = tf.zeros([8, 32, 32, 3], tf.uint8)
    >>> recipekit.augment.pad_random_crop(x, padding=4, seed=0).shape
    TensorShape([8, 32, 32, 3])
    """
    check_padding(padding, mode)
    images = check_images(images)
    if padding == 0:
        return images
    shape = tf.shape(images)
    if mode == "reflect":
        static = images.shape[1:3]
        if any(d is not None and d <= padding for d in static):
            raise ValueError(
                f"Argument `padding`={padding} is too large for reflect padding of "
                f"{static[0]}x{static[1]} images: it must be smaller than both sides."
            )
    padded = tf.pad(
        images,
        [[0, 0], [padding, padding], [padding, padding], [0, 0]],
        mode=mode.upper(),
    )
    offsets = tf.random.stateless_uniform(
        [shape[0], 2],
        make_seed(seed),
        minval=0,
        maxval=2 * padding + 1,
        dtype=tf.int32,
    )
    return crop_windows(padded, offsets, (shape[1], shape[2]))
