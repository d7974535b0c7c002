"""Per-channel pixel statistics, streamed over a dataset."""

import numpy as np
import tensorflow as tf


def channel_stats(dataset, batch_size=1024):
    """Returns the per-channel mean and standard deviation of a dataset's pixels.

    Streams over the data in batches (float64 sums), so it works on datasets
    larger than memory.

    Args:
        dataset: a `tf.data.Dataset` of `(image, label)` or of images,
            unbatched, e.g. from `load()`.
        batch_size: images per batch while streaming.

    Returns:
        `(mean, std)`, two float64 arrays of shape `(channels,)`, in the
        images' units (0-255 for uint8).

    Example:

    >>> ds, _ = recipekit.data.load("cifar10_sample", split="train")
    >>> mean, std = recipekit.data.channel_stats(ds)
    """
    if isinstance(dataset.element_spec, tuple):
        dataset = dataset.map(lambda image, *rest: image)
    total = total_sq = None
    count = 0
    for batch in dataset.batch(batch_size).map(lambda x: tf.cast(x, tf.float64)):
        pixels = tf.reshape(batch, [-1, batch.shape[-1]])
        s = tf.reduce_sum(pixels, axis=0).numpy()
        sq = tf.reduce_sum(pixels * pixels, axis=0).numpy()
        total = s if total is None else total + s
        total_sq = sq if total_sq is None else total_sq + sq
        count += pixels.shape[0]
    if not count:
        raise ValueError("channel_stats() needs a non-empty dataset.")
    mean = total / count
    return mean, np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
