"""The image operations of the automatic policies, on [0, 1] float batches.

Each op takes per-image parameters, so one batch can hold a different op and
strength for every image: the geometric ops become one affine map per image
(one gather), the pixel ops are computed for the batch and each image keeps
the one it drew. The definitions follow PIL's `ImageOps`/`ImageEnhance`, as
the published policies (and torchvision) apply them.
"""

import math

import numpy as np

from recipekit.augment._color import LUMA
from recipekit.augment._images import batch_size

GEOMETRIC = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
ENHANCE = ("brightness", "color", "contrast", "sharpness")
ALL_OPS = (
    "identity",
    *GEOMETRIC,
    *ENHANCE,
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)

# What uncovered pixels become after a geometric op: mid-gray, as timm fills
# with the mean color (torchvision fills with black).
FILL = 0.5

# PIL's SMOOTH kernel, which ImageEnhance.Sharpness blends with.
_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13.0


def _per_image(ops, values):
    return ops.reshape(ops.cast(values, "float32"), (-1, 1, 1, 1))


def affine(ops, x, matrix, shift, fill=FILL):
    """Nearest-neighbour resampling of each image by an inverse affine map.

    `matrix`: four (B,) tensors `(a, b, c, d)`; `shift`: two (B,) tensors
    `(ty, tx)`. The output pixel at `(y, x)`, measured from the image centre,
    takes the input pixel at `(a y + b x - ty, c y + d x - tx)`; pixels that
    map outside the image become `fill`.
    """
    height, width = x.shape[1], x.shape[2]
    ys = (np.arange(height, dtype=np.float32) + 0.5 - height / 2)[None, :, None]
    xs = (np.arange(width, dtype=np.float32) + 0.5 - width / 2)[None, None, :]
    a, b, c, d = (ops.reshape(m, (-1, 1, 1)) for m in matrix)
    ty, tx = (ops.reshape(t, (-1, 1, 1)) for t in shift)
    src_y = ops.floor(a * ys + b * xs - ty + height / 2)
    src_x = ops.floor(c * ys + d * xs - tx + width / 2)
    inside = ops.logical_and(
        ops.logical_and(src_y >= 0, src_y <= height - 1),
        ops.logical_and(src_x >= 0, src_x <= width - 1),
    )
    src_y = ops.cast(ops.clip(src_y, 0, height - 1), "int32")
    src_x = ops.cast(ops.clip(src_x, 0, width - 1), "int32")
    first = ops.arange(batch_size(ops, x), dtype="int32")[:, None, None]
    index = (first * height + src_y) * width + src_x
    flat = ops.reshape(x, (-1, x.shape[-1]))
    out = ops.take(flat, ops.reshape(index, (-1,)), axis=0)
    out = ops.reshape(out, (-1, height, width, x.shape[-1]))
    return ops.where(inside[..., None], out, fill)


def _luma(ops, x):
    return ops.sum(ops.multiply(x, LUMA), axis=-1, keepdims=True)


def _blend(ops, base, x, factor):
    """PIL's `ImageEnhance`: `base + factor (x - base)`, clipped."""
    return ops.clip(base + (x - base) * _per_image(ops, factor), 0.0, 1.0)


def smooth(ops, x):
    """PIL's SMOOTH filter on the interior; the border pixels stay as they are
    (ImageEnhance.Sharpness's degenerate image)."""
    height, width = x.shape[1], x.shape[2]
    inner = 0.0
    for i in range(3):
        for j in range(3):
            window = x[:, i : i + height - 2, j : j + width - 2, :]
            inner = inner + float(_SMOOTH[i, j]) * window
    inner = ops.pad(inner, [(0, 0), (1, 1), (1, 1), (0, 0)])
    border = np.ones((1, height, width, 1), bool)
    border[:, 1:-1, 1:-1] = False
    return ops.where(border, x, inner)


def posterize(ops, x, bits):
    """Keeps the top `bits` (per image, 1-8) bits of each 8-bit value."""
    step = ops.power(2.0, 8.0 - _per_image(ops, bits))
    return ops.floor(ops.round(x * 255.0) / step) * step / 255.0


def solarize(ops, x, threshold):
    """Inverts the values at or above `threshold` (per image, in [0, 1])."""
    return ops.where(ops.greater_equal(x, _per_image(ops, threshold)), 1.0 - x, x)


def autocontrast(ops, x):
    """Stretches each channel of each image to span [0, 1]."""
    low = ops.min(x, axis=(1, 2), keepdims=True)
    high = ops.max(x, axis=(1, 2), keepdims=True)
    span = high - low
    stretched = (x - low) / ops.where(span > 0, span, 1.0)
    return ops.where(span > 0, stretched, x)


def equalize(ops, x):
    """PIL's `ImageOps.equalize` of each channel of each image, on 8-bit values.

    A channel's histogram comes from one scatter-add over the batch; the
    lookup table is PIL's: `(pixels below v + step // 2) // step`, with `step`
    the count of all but the brightest value's pixels, over 255.
    """
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    pixels = height * width
    values = ops.cast(ops.round(x * 255.0), "int32")
    rows = ops.reshape(ops.transpose(values, (0, 3, 1, 2)), (-1, pixels))
    count = batch_size(ops, x) * channels
    row = ops.arange(count, dtype="int32")[:, None]
    index = ops.reshape(row * 256 + rows, (-1, 1))
    ones = ops.ones_like(ops.reshape(rows, (-1,)), dtype="float32")
    histogram = ops.reshape(ops.scatter(index, ones, (count * 256,)), (-1, 256))
    below = ops.cumsum(histogram, axis=1) - histogram
    brightest = ops.max(rows, axis=1, keepdims=True)
    at_brightest = ops.take_along_axis(histogram, brightest, axis=1)
    step = ops.floor((pixels - at_brightest) / 255.0)
    table = ops.floor((below + ops.floor(step / 2.0)) / ops.maximum(step, 1.0))
    table = ops.clip(table, 0.0, 255.0)
    mapped = ops.take_along_axis(table, rows, axis=1)
    mapped = ops.where(step > 0, mapped, ops.cast(rows, "float32"))
    mapped = ops.reshape(mapped, (-1, channels, height, width))
    return ops.transpose(mapped, (0, 2, 3, 1)) / 255.0


def apply_ops(ops, x, names, index, level, sign, ranges):
    """Each image's op `names[index]` at strength `level` (in [0, 1]) times its
    range, with `sign` (+1 or -1) for the signed ops.

    `index`, `level`, `sign`: (B,) tensors. `ranges` maps "shear", "translate"
    (a fraction of the side), "rotate" (degrees), "enhance", "posterize" (the
    bits taken away at full strength, from `8` or from `ranges["bits"]`) and
    "solarize" (the threshold's fall from 1) to the op's largest strength.
    """
    level = ops.cast(level, "float32")
    signed = ops.cast(sign, "float32") * level

    def picked(name):
        return ops.equal(index, names.index(name)) if name in names else None

    out = x
    if any(name in names for name in GEOMETRIC):
        out = _geometric(ops, x, picked, signed, ranges)
    for name in names:
        if name == "identity" or name in GEOMETRIC:
            continue
        result = _pixel_op(ops, x, name, level, signed, ranges)
        out = ops.where(picked(name)[:, None, None, None], result, out)
    return out


def _geometric(ops, x, picked, signed, ranges):
    zero = signed * 0.0
    one = zero + 1.0

    def when(name, value, other):
        chosen = picked(name)
        return other if chosen is None else ops.where(chosen, value, other)

    shear = signed * ranges.get("shear", 0.0)
    angle = signed * (ranges.get("rotate", 0.0) * math.pi / 180)
    cos, sin = ops.cos(angle), ops.sin(angle)
    a = when("rotate", cos, one)
    b = when("rotate", sin, when("shear_y", shear, zero))
    c = when("rotate", -sin, when("shear_x", shear, zero))
    d = when("rotate", cos, one)
    move = signed * ranges.get("translate", 0.0)
    ty = when("translate_y", move * x.shape[1], zero)
    tx = when("translate_x", move * x.shape[2], zero)
    return affine(ops, x, (a, b, c, d), (ty, tx))


def _pixel_op(ops, x, name, level, signed, ranges):
    if name in ENHANCE:
        factor = 1.0 + signed * ranges["enhance"]
        if name == "brightness":
            return ops.clip(x * _per_image(ops, factor), 0.0, 1.0)
        if name == "color":
            return _blend(ops, _luma(ops, x), x, factor)
        if name == "contrast":
            mean = ops.mean(_luma(ops, x), axis=(1, 2, 3), keepdims=True)
            return _blend(ops, mean, x, factor)
        return _blend(ops, smooth(ops, x), x, factor)
    if name == "posterize":
        bits = ranges.get("bits", 8) - ops.round(level * ranges["posterize"])
        return posterize(ops, x, bits)
    if name == "solarize":
        return solarize(ops, x, 1.0 - level * ranges["solarize"])
    if name == "autocontrast":
        return autocontrast(ops, x)
    if name == "equalize":
        return equalize(ops, x)
    raise ValueError(f"Unknown augmentation op {name!r}")
