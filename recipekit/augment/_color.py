"""Per-image color jitter: brightness, contrast and saturation."""

import keras
import numpy as np

from recipekit import _random
from recipekit._checks import check_factor
from recipekit.augment._backend import ops_for
from recipekit.augment._images import (
    batch_size,
    check_images,
    check_value_range,
    to_unit,
)

# ITU-R 601 luma weights, as PIL and torchvision use for grayscale.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


class _Interleaved:
    """The color math on `(B, H, W, 3)` as it is; gray by a channel reduction."""

    spatial = (1, 2, 3)

    def __init__(self, ops):
        self.ops = ops

    def split(self, x):
        return x

    def join(self, x):
        return x

    def luma(self, x):
        return self.ops.sum(self.ops.multiply(x, LUMA), axis=-1, keepdims=True)

    def per_image(self, factors):
        return self.ops.reshape(self.ops.cast(factors, "float32"), (-1, 1, 1, 1))

    def each(self, fn, x):
        return fn(x)

    def add_rgb(self, x, rgb):
        return x + rgb[:, None, None, :]


class _Planes(_Interleaved):
    """The same math on three `(B, H, W)` planes, red, green and blue."""

    spatial = (1, 2)

    def split(self, x):
        return [x[..., 0], x[..., 1], x[..., 2]]

    def join(self, planes):
        return self.ops.stack(planes, axis=-1)

    def luma(self, planes):
        red, green, blue = (float(w) for w in LUMA)
        return planes[0] * red + planes[1] * green + planes[2] * blue

    def per_image(self, factors):
        return self.ops.reshape(self.ops.cast(factors, "float32"), (-1, 1, 1))

    def each(self, fn, planes):
        return [fn(plane) for plane in planes]

    def add_rgb(self, planes, rgb):
        return [plane + rgb[:, c, None, None] for c, plane in enumerate(planes)]


def layout(ops):
    """How the color math holds the channels on this backend's compiler.

    The same elementwise graph compiles very differently: XLA in TensorFlow
    2.21 runs it faster on the interleaved `(B, H, W, 3)` tensor, XLA in JAX
    0.10 on planes (`benchmarks/augment_layouts.py` at commit dc191ae). The
    formulas are written once, for either.
    """
    if ops is keras.ops and keras.backend.backend() == "jax":
        return _Planes(ops)
    return _Interleaved(ops)


def adjust_color(ops, images, brightness, contrast, saturation):
    """Applies given per-image factors, each of shape (B,), to [0, 1] floats.

    The deterministic half of `color_jitter`: brightness scales the pixels,
    contrast blends with the image's mean gray level, saturation with each
    pixel's gray level; the result is clipped to [0, 1] after every step (as
    torchvision does). A factor of 1 leaves the image unchanged; None skips.
    """
    form = layout(ops)
    x = form.split(ops.convert_to_tensor(images))

    def blend(base, factor):
        factor = form.per_image(factor)
        return form.each(lambda p: ops.clip(base + (p - base) * factor, 0.0, 1.0), x)

    if brightness is not None:
        factor = form.per_image(brightness)
        x = form.each(lambda p: ops.clip(p * factor, 0.0, 1.0), x)
    if contrast is not None:
        x = blend(ops.mean(form.luma(x), axis=form.spatial, keepdims=True), contrast)
    if saturation is not None:
        x = blend(form.luma(x), saturation)
    return form.join(x)


def jitter_unit(ops, x, brightness, contrast, saturation, key):
    """`color_jitter` on [0, 1] float32 images with an int32 `key`."""
    strengths = np.array([brightness, contrast, saturation], np.float32)
    low = np.maximum(0.0, 1.0 - strengths)
    # One (B, 3) draw scaled by a matmul: XLA does not fuse a dot into the
    # pixel loops, so the factors are computed once per image. Drawn
    # elementwise, JAX's XLA recomputed the hash inside every pixel's loop
    # (benchmarks/augment_layouts.py --factors elementwise, commit dc191ae).
    unit = _random.uniform(ops, key, (batch_size(ops, x), 3))
    factors = ops.matmul(unit, np.diag(1.0 + strengths - low)) + low
    return adjust_color(
        ops, x, *(factors[:, i] if strengths[i] > 0 else None for i in range(3))
    )


def color_jitter(
    images,
    brightness=0.4,
    contrast=0.4,
    saturation=0.4,
    value_range=(0, 255),
    seed=None,
):
    """Randomly changes brightness, contrast and saturation, per image.

    Each strength `s` draws a factor uniformly from `[max(0, 1 - s), 1 + s]` for
    every image (the torchvision convention); the three are applied in the fixed
    order brightness, contrast, saturation. Keras's `RandomColorJitter` has its
    own factor conventions; this keeps torchvision's, so a recipe ported from
    PyTorch means the same numbers. Runs in `keras.ops` on any backend, and in
    `tf.data` on TensorFlow tensors.

    Args:
        images: a batch `(B, H, W, 3)`, uint8 or float.
        brightness: strength >= 0; 0 leaves brightness alone.
        contrast: strength >= 0.
        saturation: strength >= 0.
        value_range: the `(low, high)` range of the pixel values, `(0, 255)`
            (the default, as in Keras's own layers) or `(0, 1)`; float images
            outside it are refused.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape, dtype and range (clipped).

    Examples:

    >>> x = np.random.default_rng(0).uniform(0, 1, (8, 32, 32, 3))
    >>> y = recipekit.augment.color_jitter(x, 0.4, 0.4, 0.4, (0, 1), seed=0)
    >>> tuple(y.shape)
    (8, 32, 32, 3)
    """
    strengths = [
        check_factor("brightness", brightness),
        check_factor("contrast", contrast),
        check_factor("saturation", saturation),
    ]
    ops = ops_for(images, seed)
    value_range = check_value_range(value_range, images)
    images = check_images(ops, images, channels=3)
    if not any(strengths) or images.shape[0] == 0:
        return images
    x, restore = to_unit(ops, images, value_range)
    key = _random.make_key(ops, seed)
    return restore(jitter_unit(ops, x, *strengths, key))
