"""Per-channel pixel statistics, streamed over a dataset (`recipekit._pixels`)."""

import numpy as np

from recipekit._pixels import pixel_moments


def channel_stats(dataset, batch_size=1024):
    """Returns the per-channel mean and standard deviation of a dataset's pixels.

    Streams over the data in batches (float64 sums), so it works on datasets
    larger than memory.

    Args:
        dataset: a `tf.data.Dataset` of `(image, label)` or of images, e.g.
            from `load()`, or an array `(N, H, W, C)`.
        batch_size: images per batch while streaming.

    Returns:
        `(mean, std)`, two float64 arrays of shape `(channels,)`, in the
        images' units (0-255 for uint8).

    Examples:

    >>> ds, _ = recipekit.data.load("cifar10_sample", split="train")
    >>> mean, std = recipekit.data.channel_stats(ds)
    """
    mean, covariance, _ = pixel_moments(dataset, batch_size)
    return mean, np.sqrt(np.maximum(np.diag(covariance), 0.0))
