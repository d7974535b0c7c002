"""Random erasing (Zhong et al., 2020) and fixed-size Cutout (DeVries and
Taylor, 2017), per image, on whole batches."""

from recipekit import _random
from recipekit._checks import check_number, is_number
from recipekit.augment._images import batch_size, check_value_range, run_on_unit
from recipekit.augment._resized_crop import _check_range

# The authors' code tries up to 100 boxes before leaving an image as it is.
_TRIES = 100


def check_fill(value, value_range, allow_random=True):
    """`"random"`, a number, or one number per channel, within `value_range`."""
    if allow_random and value == "random":
        return "random"
    values = list(value) if isinstance(value, tuple | list) else [value]
    low, high = value_range
    if not values or not all(is_number(v) and low <= v <= high for v in values):
        kinds = '"random", ' if allow_random else ""
        raise ValueError(
            f"Argument `value` must be {kinds}a number or one number per channel, "
            f"within value_range={value_range!r}. Received: value={value!r}"
        )
    return float(values[0]) if len(values) == 1 else tuple(float(v) for v in values)


def _fill_unit(ops, x, value, value_range, key):
    """What erased pixels become, in [0, 1]: uniform noise or a constant."""
    if value == "random":
        return _random.uniform(ops, key, (batch_size(ops, x), *x.shape[1:]))
    low, high = value_range
    values = value if isinstance(value, tuple) else (value,)
    if len(values) not in (1, x.shape[-1]):
        raise ValueError(
            f"Argument `value` has {len(values)} numbers for images with "
            f"{x.shape[-1]} channels. Received: value={value!r}"
        )
    unit = [(v - low) / (high - low) for v in values]
    return ops.convert_to_tensor(unit, "float32")


def _box_mask(ops, x, top, left, height, width):
    """(B, H, W, 1) booleans: inside each image's box (int32 (B,) edges)."""
    rows = ops.arange(x.shape[1], dtype="int32")[None, :]
    cols = ops.arange(x.shape[2], dtype="int32")[None, :]
    in_rows = ops.logical_and(
        ops.greater_equal(rows, top[:, None]), ops.less(rows, (top + height)[:, None])
    )
    in_cols = ops.logical_and(
        ops.greater_equal(cols, left[:, None]),
        ops.less(cols, (left + width)[:, None]),
    )
    return ops.logical_and(in_rows[:, :, None, None], in_cols[:, None, :, None])


def _offsets(ops, key, room, batch):
    """Uniform integers in `[0, room]` per image (`room`: int32 (B,), >= 0)."""
    unit = _random.uniform(ops, key, (batch,))
    offset = ops.cast(ops.floor(unit * ops.cast(room + 1, "float32")), "int32")
    return ops.minimum(offset, room)


def erase_unit(ops, x, probability, scale, ratio, value, value_range, key):
    """Random erasing of [0, 1] floats `x` with an int32 `key`.

    Per image and try: an area fraction uniform in `scale`, an aspect ratio
    (height / width) uniform in `ratio`, sides rounded to pixels; the first box
    that fits inside the image is erased, at a uniform position, with
    probability `probability`.
    """
    batch = batch_size(ops, x)
    height, width = x.shape[1], x.shape[2]

    def draw(stream, shape, low=0.0, high=1.0):
        return _random.uniform(ops, _random.subkey(ops, key, stream), shape, low, high)

    area = draw(0, (batch, _TRIES), *scale) * float(height * width)
    aspect = draw(1, (batch, _TRIES), *ratio)
    box_h = ops.cast(ops.round(ops.sqrt(area * aspect)), "int32")
    box_w = ops.cast(ops.round(ops.sqrt(area / aspect)), "int32")
    fits = ops.logical_and(ops.less(box_h, height), ops.less(box_w, width))
    fits = ops.logical_and(fits, ops.logical_and(box_h > 0, box_w > 0))
    first = ops.argmax(ops.cast(fits, "int32"), axis=1)
    chosen = ops.equal(
        ops.arange(_TRIES, dtype="int32")[None, :], ops.cast(first, "int32")[:, None]
    )
    chosen = ops.logical_and(chosen, fits)
    box_h = ops.sum(ops.where(chosen, box_h, 0), axis=1)
    box_w = ops.sum(ops.where(chosen, box_w, 0), axis=1)
    top = _offsets(ops, _random.subkey(ops, key, 2), height - box_h, batch)
    left = _offsets(ops, _random.subkey(ops, key, 3), width - box_w, batch)
    erase = ops.less(draw(4, (batch,)), probability)
    mask = ops.logical_and(
        _box_mask(ops, x, top, left, box_h, box_w), erase[:, None, None, None]
    )
    fill = _fill_unit(ops, x, value, value_range, _random.subkey(ops, key, 5))
    return ops.where(mask, fill, x)


def cutout_unit(ops, x, size, value, value_range, key):
    """A `size` x `size` square, inside the image at a uniform position, set to
    `value` in every image of [0, 1] floats `x`."""
    batch = batch_size(ops, x)
    height, width = x.shape[1], x.shape[2]
    if size > min(height, width):
        raise ValueError(
            f"Argument `size` ({size}) must fit in the images, which are "
            f"{height}x{width}."
        )
    ones = ops.ones((batch,), "int32")
    top = _offsets(ops, _random.subkey(ops, key, 0), ones * (height - size), batch)
    left = _offsets(ops, _random.subkey(ops, key, 1), ones * (width - size), batch)
    mask = _box_mask(ops, x, top, left, ones * size, ones * size)
    return ops.where(mask, _fill_unit(ops, x, value, value_range, key), x)


def check_erasing_args(probability, scale, ratio, value, value_range):
    """Validates and normalises the arguments of `random_erasing`."""
    probability = check_number("probability", probability, "[0, 1]")
    scale = _check_range("scale", scale, 0)
    if scale[1] > 1:
        raise ValueError(f"Argument `scale` must be at most 1. Received: {scale!r}")
    ratio = _check_range("ratio", ratio, 0)
    value_range = check_value_range(value_range)
    return probability, scale, ratio, check_fill(value, value_range), value_range


def check_cutout_args(size, value, value_range):
    """Validates the arguments of `cutout`; `value=None` is the middle of the
    range."""
    size = check_number("size", size, "[1, inf)", integer=True)
    value_range = check_value_range(value_range)
    if value is None:
        value = sum(value_range) / 2
    return size, check_fill(value, value_range, allow_random=False), value_range


def random_erasing(
    images,
    probability=0.5,
    scale=(0.02, 0.4),
    ratio=(0.3, 1 / 0.3),
    value="random",
    value_range=(0, 255),
    seed=None,
):
    """Erases a random box of each image, with probability `probability`.

    Random erasing as Zhong et al. (2020) define it: per image, an area
    fraction uniform in `scale` and an aspect ratio (height / width) uniform in
    `ratio` (the paper's defaults: p = 0.5, s in [0.02, 0.4], r in [0.3, 1/0.3]);
    of up to 100 candidate boxes the first that fits is placed at a uniform
    position and filled with uniform random values (the paper's best fill).
    Keras 3's `RandomErasing` draws the two sides independently (no aspect
    ratio) and fills with clipped Gaussian noise, which sets about half the
    erased pixels to 0 (`tests/augment/test_erasing.py` shows both). Runs in
    `keras.ops` on any backend, and in `tf.data` on TensorFlow tensors.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        probability: the chance that an image is erased.
        scale: (min, max) fraction of the image area erased.
        ratio: (min, max) aspect ratio of the box, height / width.
        value: `"random"` (uniform noise over `value_range`), a number, or one
            number per channel, in the images' value range.
        value_range: `(low, high)` of the pixel values, `(0, 255)` (default)
            or `(0, 1)`.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape and dtype.

    Examples:

    >>> x = np.full((8, 32, 32, 3), 128, np.uint8)
    >>> y = recipekit.augment.random_erasing(x, probability=1.0, seed=0)
    >>> bool((np.asarray(y) != 128).any(axis=(1, 2, 3)).all())
    True
    """
    probability, scale, ratio, value, value_range = check_erasing_args(
        probability, scale, ratio, value, value_range
    )
    args = (probability, scale, ratio, value, value_range)
    return run_on_unit(
        images, value_range, seed, lambda ops, x, key: erase_unit(ops, x, *args, key)
    )


def cutout(images, size, value=None, value_range=(0, 255), seed=None):
    """Sets a `size` x `size` square of every image to `value` (Cutout).

    The square lies wholly inside the image at a uniform position, as in
    airbench96 (DeVries and Taylor's Cutout centres it anywhere and clips it at
    the border); airbench96 cuts 12 x 12 from CIFAR's 32 x 32 images and fills
    with zero after normalising, which is the mean color; `value=None` fills
    with the middle of `value_range`, close to CIFAR's mean color.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        size: side of the square in pixels, at most the image's smaller side.
        value: a number or one per channel in the images' range; None for the
            middle of `value_range`.
        value_range: `(low, high)` of the pixel values, `(0, 255)` (default)
            or `(0, 1)`.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape and dtype.

    Examples:

    >>> x = np.zeros((4, 32, 32, 3), np.uint8)
    >>> y = np.asarray(recipekit.augment.cutout(x, 12, seed=0))
    >>> (y[..., 0] > 0).sum(axis=(1, 2)).tolist()
    [144, 144, 144, 144]
    """
    size, value, value_range = check_cutout_args(size, value, value_range)
    args = (size, value, value_range)
    return run_on_unit(
        images, value_range, seed, lambda ops, x, key: cutout_unit(ops, x, *args, key)
    )
