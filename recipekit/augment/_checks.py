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
