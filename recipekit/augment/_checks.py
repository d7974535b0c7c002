"""Argument checks shared by the augmentation ops."""

import tensorflow as tf


def check_images(images, name="images", channels=None) -> tf.Tensor:
    """Converts to a tensor and checks it is an NHWC batch of uint8 or floats."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(
            f"Argument `{name}` must be a batch of images of shape (batch, height, "
            f"width, channels). Received shape {images.shape}"
        )
    if not (images.dtype == tf.uint8 or images.dtype.is_floating):
        raise ValueError(
            f"Argument `{name}` must be uint8 (0-255) or float (0-1). Received "
            f"dtype {images.dtype.name}"
        )
    if channels is not None and images.shape[-1] != channels:
        raise ValueError(
            f"Argument `{name}` must have {channels} channels. Received shape "
            f"{images.shape}"
        )
    return images


def to_unit_float(images):
    """Returns `(float32 images in [0, 1], restore)`; `restore` maps back to the
    input's dtype and range, clipping (uint8 is rounded)."""
    dtype = images.dtype
    if dtype == tf.uint8:

        def restore(x):
            return tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.uint8)

        return tf.cast(images, tf.float32) / 255.0, restore

    def restore(x):
        return tf.cast(tf.clip_by_value(x, 0.0, 1.0), dtype)

    return tf.cast(images, tf.float32), restore


def check_factor(name, value, upper=None):
    """A jitter strength: a number >= 0 (and <= `upper` if given)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or (upper is not None and value > upper)
    ):
        bound = f"in [0, {upper}]" if upper is not None else ">= 0"
        raise ValueError(
            f"Argument `{name}` must be a number {bound}. Received: {name}={value!r}"
        )
    return float(value)
