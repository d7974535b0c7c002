"""Per-image color jitter: brightness, contrast and saturation."""

import tensorflow as tf

from recipekit.augment._checks import check_factor, check_images, to_unit_float
from recipekit.augment._seed import split_seed

# ITU-R 601 luma weights, as PIL and torchvision use for grayscale.
LUMA = (0.299, 0.587, 0.114)


def _luma(x):
    return tf.reduce_sum(x * tf.constant(LUMA, x.dtype), axis=-1, keepdims=True)


def adjust_color(images, brightness, contrast, saturation):
    """Applies given per-image factors, each of shape (B,), to [0, 1] floats.

    The deterministic half of `color_jitter`: brightness scales the pixels,
    contrast blends with the image's mean gray level, saturation with each
    pixel's gray level; the result is clipped to [0, 1] after every step (as
    torchvision does). A factor of 1 leaves the image unchanged.
    """

    def per_image(f):
        return tf.reshape(tf.cast(f, images.dtype), [-1, 1, 1, 1])

    x = images
    if brightness is not None:
        x = tf.clip_by_value(x * per_image(brightness), 0.0, 1.0)
    if contrast is not None:
        mean = tf.reduce_mean(_luma(x), axis=[1, 2, 3], keepdims=True)
        x = tf.clip_by_value(mean + (x - mean) * per_image(contrast), 0.0, 1.0)
    if saturation is not None:
        gray = _luma(x)
        x = tf.clip_by_value(gray + (x - gray) * per_image(saturation), 0.0, 1.0)
    return x


def color_jitter(images, brightness=0.4, contrast=0.4, saturation=0.4, seed=None):
    """Randomly changes brightness, contrast and saturation, per image.

    Each strength `s` draws a factor uniformly from `[max(0, 1 - s), 1 + s]` for
    every image (the torchvision convention); the three are applied in the fixed
    order brightness, contrast, saturation. Keras's `RandomBrightness` and
    `RandomContrast` exist, but there is no saturation jitter in Keras and no
    single batched op for all three.

    Args:
        images: a batch `(B, H, W, 3)`, uint8 (0-255) or float (0-1).
        brightness: strength >= 0; 0 leaves brightness alone.
        contrast: strength >= 0.
        saturation: strength >= 0.
        seed: None, an int, or a shape-[2] integer tensor.

    Returns:
        The batch, same shape, dtype and range (clipped).

    Example:

    >>> x = tf.random.uniform([8, 32, 32, 3])
    >>> y = recipekit.augment.color_jitter(x, 0.4, 0.4, 0.4, seed=0)
    """
    strengths = {
        "brightness": check_factor("brightness", brightness),
        "contrast": check_factor("contrast", contrast),
        "saturation": check_factor("saturation", saturation),
    }
    images = check_images(images, channels=3)
    x, restore = to_unit_float(images)
    batch = tf.shape(x)[0]
    factors = {}
    for (name, strength), s in zip(strengths.items(), split_seed(seed, 3), strict=True):
        if strength > 0:
            factors[name] = tf.random.stateless_uniform(
                [batch], s, minval=max(0.0, 1.0 - strength), maxval=1.0 + strength
            )
        else:
            factors[name] = None
    return restore(adjust_color(x, **factors))
