"""The test-time views of a batch: mirror, 1-pixel shifts, ten crops.

Written in `keras.ops`, so they run on every backend and inside a model.
"""

import numpy as np
from keras import ops

from recipekit._checks import is_integer


def _mirror(images):
    return ops.flip(images, axis=2)


def ten_crop(images, crop_size):
    """The ten crops of AlexNet and torchvision: corners, center, and mirrored.

    Order: top-left, top-right, bottom-left, bottom-right, center of each image,
    then the same five crops of its mirror image. The center crop's offset is
    `round((H - h) / 2)`, `round((W - w) / 2)`. Written in `keras.ops`.

    Args:
        images: a batch `(B, H, W, C)` with static H and W.
        crop_size: `(h, w)`, at most `(H, W)`.

    Returns:
        A tensor `(10, B, h, w, C)`, same dtype.

    Examples:

    >>> crops = ten_crop(np.zeros((4, 40, 40, 3), "float32"), (32, 32))
    >>> tuple(crops.shape)
    (10, 4, 32, 32, 3)
    """
    images = ops.convert_to_tensor(images)
    height, width = images.shape[1], images.shape[2]
    h, w = _check_crop(crop_size, (height, width))
    top, left = int(round((height - h) / 2.0)), int(round((width - w) / 2.0))
    corners = [(0, 0), (0, width - w), (height - h, 0), (height - h, width - w)]
    corners.append((top, left))
    crops = [
        source[:, t : t + h, x : x + w, :]
        for source in (images, _mirror(images))
        for t, x in corners
    ]
    return ops.stack(crops)


def flip_translate_views(images, shift=1):
    """The image, its mirror, and both shifted by `shift` pixels each way.

    Returns `(6, B, H, W, C)`: the image, its mirror, the image and its mirror
    shifted up-left, then both shifted down-right, with reflect padding (the
    test-time views of airbench94, Jordan 2024). Written in `keras.ops`.

    Examples:

    >>> tuple(flip_translate_views(np.zeros((4, 32, 32, 3), "float32")).shape)
    (6, 4, 32, 32, 3)
    """
    images = ops.convert_to_tensor(images)
    height, width = images.shape[1], images.shape[2]
    if not is_integer(shift) or shift < 1:
        raise ValueError(
            f"Argument `shift` must be an integer >= 1. Received: shift={shift!r}"
        )
    if None not in (height, width) and shift >= min(height, width):
        raise ValueError(
            f"flip_translate shifts by {shift} pixel(s) with reflect padding, which "
            f"needs images larger than {shift}x{shift}; these are {height}x{width}. "
            "Use the 'flip' mode for images this small."
        )
    padded = ops.pad(
        images, [[0, 0], [shift, shift], [shift, shift], [0, 0]], mode="reflect"
    )
    up_left = padded[:, :height, :width]
    end = 2 * shift
    down_right = padded[:, end : end + height, end : end + width]
    views = [images, up_left, down_right]
    return ops.stack([v for view in views for v in (view, _mirror(view))])


def _check_crop(crop_size, image_size):
    if (
        not isinstance(crop_size, tuple | list)
        or len(crop_size) != 2
        or not all(isinstance(v, int | np.integer) and v > 0 for v in crop_size)
    ):
        raise ValueError(
            "Argument `crop_size` must be (height, width) with positive integers. "
            f"Received: crop_size={crop_size!r}"
        )
    if None in image_size:
        raise ValueError("ten_crop() needs images with a static height and width.")
    if crop_size[0] > image_size[0] or crop_size[1] > image_size[1]:
        raise ValueError(
            f"Argument `crop_size`={tuple(crop_size)} is larger than the images "
            f"({image_size[0]}x{image_size[1]}). Pass a smaller crop, or `pad` "
            "to crop from padded images."
        )
    return int(crop_size[0]), int(crop_size[1])
