"""Per-image random resized crops (Szegedy et al., 2015), the ImageNet crop."""

import math

import numpy as np

from recipekit import _random
from recipekit.augment._backend import ops_for
from recipekit.augment._images import batch_size, check_images, dtype_name

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


def _sample_rows(ops, images, start, end, out_size):
    """Bilinear resampling of axis 1 at `out_size` points from start to end.

    `start`, `end`: (B,) box edges as fractions of the axis; points are spaced
    like `tf.image.crop_and_resize` (both edges included). Rows are gathered
    from the batch flattened to `(B * H, W, C)`: one `take`, any backend.
    """
    size = images.shape[1]
    last = float(size - 1)
    steps = np.arange(out_size, dtype=np.float32) / max(out_size - 1, 1)
    pos = (start[:, None] + ops.multiply((end - start)[:, None], steps[None, :])) * last
    low = ops.clip(ops.floor(pos), 0.0, last)
    frac = ops.reshape(pos - low, (-1, out_size, 1, 1))
    low = ops.cast(low, "int32")
    high = ops.minimum(low + 1, size - 1)
    batch = batch_size(ops, images)
    first_row = ops.arange(batch, dtype="int32")[:, None] * size
    flat = ops.reshape(images, (-1, *images.shape[2:]))

    def rows(index):
        picked = ops.take(flat, ops.reshape(index + first_row, (-1,)), axis=0)
        return ops.reshape(picked, (-1, out_size, *images.shape[2:]))

    a = rows(low)
    return a + (rows(high) - a) * frac


def crop_resize(ops, images, top, left, bottom, right, size):
    """Per-image bilinear crop-and-resize of float32 boxes given as fractions (B,).

    Same sampling as `tf.image.crop_and_resize`, built from gathers so that it
    runs on every backend, compiles with XLA and runs on TPUs (CropAndResize
    does neither).
    """
    rows = _sample_rows(ops, images, top, bottom, size[0])
    columns = _sample_rows(ops, ops.transpose(rows, (0, 2, 1, 3)), left, right, size[1])
    return ops.transpose(columns, (0, 2, 1, 3))


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
    rule, vectorised over the batch). Runs in `keras.ops` on any backend, and in
    `tf.data` on TensorFlow tensors.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        size: output `(height, width)`.
        scale: (min, max) fraction of the image area.
        ratio: (min, max) aspect ratio, width / height.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        A batch `(B, height, width, C)`, same dtype.
    """
    size, scale, ratio = check_resized_crop_args(size, scale, ratio)
    ops = ops_for(images, seed)
    images = check_images(ops, images)
    if images.shape[0] == 0:
        return ops.zeros((0, *size, images.shape[-1]), dtype_name(images))
    return resized_crop(ops, images, size, scale, ratio, _random.make_key(ops, seed))


def cast_like(ops, x, dtype):
    """float32 results cast to `dtype`, rounded and clipped for uint8."""
    if dtype == "uint8":
        x = ops.round(ops.clip(x, 0.0, 255.0))
    return ops.cast(x, dtype)


def resized_crop(ops, images, size, scale, ratio, key):
    """`random_resized_crop` with an int32 `key`; keeps the dtype."""
    dtype = dtype_name(images)
    images = ops.cast(images, "float32")
    batch = batch_size(ops, images)
    height, width = images.shape[1], images.shape[2]

    def draw(stream, shape, low=0.0, high=1.0):
        return _random.uniform(ops, _random.subkey(ops, key, stream), shape, low, high)

    area = draw(0, (batch, _TRIES), scale[0], scale[1])
    log_ratio = draw(1, (batch, _TRIES), math.log(ratio[0]), math.log(ratio[1]))
    aspect = ops.exp(log_ratio)
    # Box sides as fractions of the image's height and width.
    box_w = ops.sqrt(area * aspect * (height / width))
    box_h = ops.sqrt(area / aspect * (width / height))
    fits = ops.logical_and(ops.less_equal(box_w, 1.0), ops.less_equal(box_h, 1.0))
    first = ops.argmax(ops.cast(fits, "int32"), axis=1)
    chosen = ops.logical_and(
        ops.equal(
            ops.arange(_TRIES, dtype="int32")[None, :],
            ops.cast(first, "int32")[:, None],
        ),
        fits,
    )
    # The first box that fits, else the whole image.
    box_w = ops.sum(ops.where(chosen, box_w, 0.0), axis=1)
    box_h = ops.sum(ops.where(chosen, box_h, 0.0), axis=1)
    any_fit = ops.any(fits, axis=1)
    box_w = ops.where(any_fit, box_w, 1.0)
    box_h = ops.where(any_fit, box_h, 1.0)
    top = draw(2, (batch,)) * (1.0 - box_h)
    left = draw(3, (batch,)) * (1.0 - box_w)
    out = crop_resize(ops, images, top, left, top + box_h, left + box_w, size)
    return cast_like(ops, out, dtype)
