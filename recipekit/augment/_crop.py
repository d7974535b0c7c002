"""Per-image random crops from a padded copy: the CIFAR "pad 4, crop 32" recipe."""

from recipekit import _random
from recipekit._checks import is_integer
from recipekit.augment._backend import ops_for
from recipekit.augment._images import batch_size, check_images

PAD_MODES = ("reflect", "symmetric", "constant")


def check_padding(padding, mode, image_size=None):
    """Validates `padding` (an int >= 0) and `mode` (one of PAD_MODES); reflect
    padding must be smaller than both sides of `image_size` (height, width)."""
    if not is_integer(padding) or padding < 0:
        raise ValueError(
            f"Argument `padding` must be an integer >= 0. Received: padding={padding!r}"
        )
    if mode not in PAD_MODES:
        raise ValueError(
            f"Argument `mode` must be one of {PAD_MODES}. Received: mode={mode!r}"
        )
    if mode != "constant" and image_size is not None:
        limit = padding + (mode == "reflect")  # A mirror bounces once.
        if any(d is not None and d < limit for d in image_size):
            bound = "smaller than" if mode == "reflect" else "at most"
            raise ValueError(
                f"Argument `padding`={padding} is too large for {mode} padding of "
                f"{image_size[0]}x{image_size[1]} images: it must be {bound} "
                "both sides."
            )


def shift_windows(ops, images, padding, offsets, mode="reflect"):
    """Crops each padded image back to its size at its own `offsets` (B, 2).

    `offsets` are int32 (row, column) of the window in the image padded by
    `padding` on each side, each in `[0, 2 * padding]`. The padded copy is
    never built: each output pixel's source is computed (mirrored at the
    borders, or marked outside for "constant"), and one gather from the
    batch flattened to `(B * H * W, C)` fetches them all (under XLA on a
    CPU, faster than a padded copy plus gathers, and far faster than a select
    per possible offset).
    """
    if not padding:
        return images
    height, width, channels = images.shape[1:]
    offsets = ops.cast(offsets, "int32")
    rows = offsets[:, 0:1] + ops.arange(-padding, height - padding, dtype="int32")
    columns = offsets[:, 1:2] + ops.arange(-padding, width - padding, dtype="int32")
    first = ops.arange(batch_size(ops, images), dtype="int32") * height
    if mode == "constant":
        inside = ops.logical_and(
            _inside(ops, rows, height)[:, :, None],
            _inside(ops, columns, width)[:, None],
        )
        rows, columns = ops.clip(rows, 0, height - 1), ops.clip(columns, 0, width - 1)
    else:
        rows, columns = (
            _mirror(ops, rows, height, mode),
            _mirror(ops, columns, width, mode),
        )
    index = (first[:, None, None] + rows[:, :, None]) * width + columns[:, None, :]
    pixels = ops.take(
        ops.reshape(images, (-1, channels)), ops.reshape(index, (-1,)), axis=0
    )
    pixels = ops.reshape(pixels, (-1, height, width, channels))
    if mode == "constant":
        pixels = ops.where(inside[..., None], pixels, ops.zeros_like(pixels))
    return pixels


def _inside(ops, index, size):
    return ops.logical_and(ops.greater_equal(index, 0), ops.less(index, size))


def _mirror(ops, index, size, mode):
    """Indices outside [0, size) mirrored back in (one bounce: |shift| <= size)."""
    if mode == "reflect":  # ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...
        return (size - 1) - ops.abs((size - 1) - ops.abs(index))
    below = ops.less(index, 0)  # symmetric: ... 1 0 | 0 1 ... n-1 | n-1 n-2 ...
    index = ops.where(below, -1 - index, index)
    return ops.where(ops.greater_equal(index, size), 2 * size - 1 - index, index)


def random_offsets(ops, key, batch, padding):
    """int32 (B, 2) offsets uniform over the `(2 * padding + 1) ** 2` windows."""
    return _random.randint(ops, key, (batch, 2), 2 * padding + 1)


def pad_random_crop(images, padding=4, mode="reflect", seed=None):
    """Pads every image by `padding` pixels, then crops it back at a random offset.

    Each image gets its own offset, drawn uniformly from the
    `(2 * padding + 1) ** 2` positions, so the output has the input's size
    (He et al., 2016). Keras's `RandomCrop` crops one window for the whole batch
    and has no padding; this is the per-image version. Runs in `keras.ops` on
    any backend, and in `tf.data` on TensorFlow tensors.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        padding: pixels added on each side, an int >= 0.
        mode: how the border is filled: `"reflect"` (mirror without repeating
            the edge pixel), `"symmetric"` (mirror with it) or `"constant"` (zeros).
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The cropped batch, same shape and dtype.

    Examples:

    >>> x = np.zeros([8, 32, 32, 3], np.uint8)
    >>> tuple(recipekit.augment.pad_random_crop(x, padding=4, seed=0).shape)
    (8, 32, 32, 3)
    """
    ops = ops_for(images, seed)
    images = check_images(ops, images)
    check_padding(padding, mode, images.shape[1:3])
    if not padding or images.shape[0] == 0:
        return images
    key = _random.make_key(ops, seed)
    offsets = random_offsets(ops, key, batch_size(ops, images), padding)
    return shift_windows(ops, images, padding, offsets, mode)
