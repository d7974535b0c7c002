"""Per-image random resized crops (Szegedy et al., 2015), the ImageNet crop."""

import math

import tensorflow as tf

from recipekit.augment._checks import check_images
from recipekit.augment._seed import make_seed

_TRIES = 10


def _check_range(name, value, low):
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not all(isinstance(v, int | float) for v in value)
        or not low < value[0] <= value[1]
    ):
        raise ValueError(
            f"Argument `{name}` must be (min, max) with {low} < min <= max. "
            f"Received: {name}={value!r}"
        )
    return (float(value[0]), float(value[1]))


def _sample_axis(images, start, end, out_size, axis):
    """Bilinear resampling of one axis at `out_size` points from start to end.

    `start`, `end`: (B,) box edges as fractions of the axis; points are spaced
    like `tf.image.crop_and_resize` (both edges included).
    """
    size = tf.shape(images)[axis]
    last = tf.cast(size - 1, tf.float32)
    steps = tf.range(out_size, dtype=tf.float32) / max(out_size - 1, 1)
    pos = (start[:, None] + (end - start)[:, None] * steps[None, :]) * last
    low = tf.clip_by_value(tf.floor(pos), 0.0, last)
    frac = pos - low
    low = tf.cast(low, tf.int32)
    high = tf.minimum(low + 1, size - 1)
    a = tf.gather(images, low, axis=axis, batch_dims=1)
    b = tf.gather(images, high, axis=axis, batch_dims=1)
    shape = [-1, out_size, 1, 1] if axis == 1 else [-1, 1, out_size, 1]
    frac = tf.reshape(frac, shape)
    return a + (b - a) * frac


def crop_resize(images, top, left, bottom, right, size):
    """Per-image bilinear crop-and-resize of boxes given as fractions (B,).

    Same sampling as `tf.image.crop_and_resize`, built from gathers so that it
    compiles with XLA and runs on TPUs (CropAndResize does neither).
    """
    rows = _sample_axis(images, top, bottom, size[0], axis=1)
    return _sample_axis(rows, left, right, size[1], axis=2)


def check_resized_crop_args(size, scale, ratio):
    """Validates and normalises the arguments of `random_resized_crop`."""
    if (
        not isinstance(size, tuple | list)
        or len(size) != 2
        or not all(isinstance(v, int) and v > 0 for v in size)
    ):
        raise ValueError(
            "Argument `size` must be (height, width) with positive integers. "
            f"Received: size={size!r}"
        )
    scale = _check_range("scale", scale, 0)
    ratio = _check_range("ratio", ratio, 0)
    if scale[1] > 1:
        raise ValueError(f"Argument `scale` must be at most 1. Received: {scale!r}")
    return tuple(size), scale, ratio


def random_resized_crop(
    images, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), seed=None
):
    """Crops a random box of each image and resizes it to `size` (bilinear).

    Per image, the box covers a fraction of the area drawn from `scale` and has
    an aspect ratio drawn log-uniformly from `ratio`; of 10 candidate boxes the
    first that fits is used, else the whole image (the Inception / torchvision
    rule, vectorised over the batch with one `crop_and_resize`).

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        size: output `(height, width)`.
        scale: (min, max) fraction of the image area.
        ratio: (min, max) aspect ratio, width / height.
        seed: None, an int, or a shape-[2] integer tensor.

    Returns:
        A batch `(B, height, width, C)`, same dtype.
    """
    size, scale, ratio = check_resized_crop_args(size, scale, ratio)
    images = check_images(images)
    shape = tf.shape(images)
    batch = shape[0]
    height = tf.cast(shape[1], tf.float32)
    width = tf.cast(shape[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(make_seed(seed), 4)
    area = tf.random.stateless_uniform([batch, _TRIES], seeds[0], scale[0], scale[1])
    log_ratio = tf.random.stateless_uniform(
        [batch, _TRIES], seeds[1], math.log(ratio[0]), math.log(ratio[1])
    )
    aspect = tf.exp(log_ratio)
    # Box sides as fractions of the image's height and width.
    box_w = tf.sqrt(area * aspect * height / width)
    box_h = tf.sqrt(area / aspect * width / height)
    fits = (box_w <= 1.0) & (box_h <= 1.0)
    first = tf.argmax(tf.cast(fits, tf.int32), axis=1)
    any_fit = tf.reduce_any(fits, axis=1)
    box_w = tf.where(any_fit, tf.gather(box_w, first, batch_dims=1), 1.0)
    box_h = tf.where(any_fit, tf.gather(box_h, first, batch_dims=1), 1.0)
    top = tf.random.stateless_uniform([batch], seeds[2]) * (1.0 - box_h)
    left = tf.random.stateless_uniform([batch], seeds[3]) * (1.0 - box_w)
    out = crop_resize(
        tf.cast(images, tf.float32), top, left, top + box_h, left + box_w, size
    )
    if images.dtype == tf.uint8:
        return tf.cast(tf.round(tf.clip_by_value(out, 0.0, 255.0)), tf.uint8)
    return tf.cast(out, images.dtype)
