"""Image batches as the augmentation ops take them: dtype, shape and value range.

Plain argument checks live in `recipekit._checks`, shared by every package.
"""

import math
import sys
import warnings

import keras
import numpy as np

from recipekit._checks import is_number


def dtype_name(images):
    return keras.backend.standardize_dtype(images.dtype)


def check_images(ops, images, name="images", channels=None):
    """Converts to a tensor and checks it is an NHWC batch of uint8 or floats."""
    images = ops.convert_to_tensor(images)
    shape = tuple(images.shape)
    if len(shape) != 4:
        raise ValueError(
            f"Argument `{name}` must be a batch of images of shape (batch, height, "
            f"width, channels). Received shape {shape}"
        )
    dtype = dtype_name(images)
    if dtype != "uint8" and "float" not in dtype:
        raise ValueError(
            f"Argument `{name}` must be uint8 or float. Received dtype {dtype}"
        )
    if channels is not None and shape[-1] != channels:
        raise ValueError(
            f"Argument `{name}` must have {channels} channels. Received shape {shape}"
        )
    return images


def check_value_range(value_range, images=None):
    """`(low, high)` with finite low < high; uint8 images need (0, 255).

    When `images` holds concrete values (NumPy, an eager tensor: not inside a
    traced function), floats outside the range are refused: float pixels in
    0-255 declared as (0, 1) would otherwise be clipped to white.
    """
    if (
        not isinstance(value_range, tuple | list)
        or len(value_range) != 2
        or not all(is_number(v) and math.isfinite(v) for v in value_range)
        or not value_range[0] < value_range[1]
    ):
        raise ValueError(
            "Argument `value_range` must be (low, high) with low < high, e.g. "
            f"(0, 255) or (0, 1). Received: value_range={value_range!r}"
        )
    value_range = (float(value_range[0]), float(value_range[1]))
    if images is None:
        return value_range
    if not hasattr(images, "dtype"):
        images = np.asarray(images)
    dtype = dtype_name(images)
    if dtype == "uint8" and value_range != (0.0, 255.0):
        raise ValueError(
            "uint8 images hold values 0-255: pass value_range=(0, 255). "
            f"Received: value_range={value_range!r}"
        )
    values = _concrete(images)
    if values is not None and values.size:
        low, high = float(np.min(values)), float(np.max(values))
        check_unit_floats(value_range, dtype, low, high)
        tolerance = 1e-3 * (value_range[1] - value_range[0])
        if low < value_range[0] - tolerance or high > value_range[1] + tolerance:
            hint = " (pixels 0-255: value_range=(0, 255))" if high > 1.5 else ""
            raise ValueError(
                f"The images hold values in [{low:g}, {high:g}], outside "
                f"value_range={value_range!r}. Pass the range they use{hint}."
            )
    return value_range


_WARNED = set()  # warn once per process and kind of call


def check_unit_floats(value_range, dtype, low, high, where="images"):
    """Warns, once, when float pixels all within [0, 1] meet value_range
    (0, 255): most likely [0, 1] pixels given the 0-255 default, which
    would scale every change 255 times too small or large."""
    floating = np.issubdtype(np.dtype(dtype), np.floating)
    if floating and value_range == (0.0, 255.0) and 0.0 <= low and high <= 1.0:
        if where in _WARNED:
            return
        _WARNED.add(where)
        warnings.warn(
            f"The {where} are floats within [{low:g}, {high:g}], but value_range "
            "is (0, 255), the default for pixels 0-255. If they are pixels in "
            "[0, 1], pass value_range=(0, 1).",
            stacklevel=4,
        )


def _concrete(images):
    """The values as NumPy when they are concrete and on the host, else None.

    Traced tensors (tf.data, tf.function, jax.jit) and PyTorch tensors (which
    would need a device sync on every training step) are not checked.
    """
    if isinstance(images, np.ndarray):
        return images
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        if isinstance(images, tf.Tensor):
            return images.numpy() if tf.executing_eagerly() else None
    if "jax" in sys.modules:
        import jax

        if isinstance(images, jax.Array):
            try:
                return np.asarray(images)
            except jax.errors.TracerArrayConversionError:
                return None
    return None


def to_unit(ops, images, value_range):
    """float32 images mapped from `value_range` to [0, 1], and `restore`, which
    clips to [0, 1] and maps back to the input's range and dtype (uint8
    rounded)."""
    low, high = value_range
    dtype = dtype_name(images)
    x = ops.cast(images, "float32")
    if (low, high) != (0.0, 1.0):
        x = (x - low) * (1.0 / (high - low))

    def restore(y):
        y = ops.clip(y, 0.0, 1.0)
        if (low, high) != (0.0, 1.0):
            y = y * (high - low) + low
        if dtype == "uint8":
            y = ops.round(y)
        return ops.cast(y, dtype)

    return x, restore


def batch_size(ops, images):
    """The batch size: a Python int when static, else a scalar tensor."""
    static = images.shape[0]
    return static if static is not None else ops.shape(images)[0]


def run_on_unit(images, value_range, seed, fn, channels=None):
    """A public op's common path: checks, [0, 1] floats, `fn(ops, x, key)`, and
    back to the images' range and dtype (an empty batch is returned as is)."""
    from recipekit import _random
    from recipekit.augment._backend import ops_for

    ops = ops_for(images, seed)
    value_range = check_value_range(value_range, images)
    images = check_images(ops, images, channels=channels)
    if images.shape[0] == 0:
        return images
    x, restore = to_unit(ops, images, value_range)
    return restore(fn(ops, x, _random.make_key(ops, seed)))
