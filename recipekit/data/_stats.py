"""Per-channel pixel statistics, streamed over a dataset."""

import numpy as np


def is_tf_dataset(value):
    """True for a `tf.data.Dataset`, without importing TensorFlow otherwise."""
    module = type(value).__module__
    return module.startswith("tensorflow") and hasattr(value, "element_spec")


def pixel_moments(images_or_dataset, batch_size=1024, extremes=False):
    """Per-channel mean and covariance of all pixels, streamed in float64.

    Args:
        images_or_dataset: an array or tensor `(N, H, W, C)`, or a
            `tf.data.Dataset` of images or `(image, label)`, batched or not.
        batch_size: images per streamed batch when the input is not batched.
        extremes: also return the smallest and largest pixel value.

    Returns:
        `(mean, covariance, dtype)`: shapes `(C,)` and `(C, C)` in the images'
        units, and the images' numpy dtype; with `extremes`, `(low, high)` too.
    """
    if is_tf_dataset(images_or_dataset):
        dataset = images_or_dataset
        if isinstance(dataset.element_spec, tuple):
            dataset = dataset.map(lambda image, *rest: image)
        if dataset.element_spec.shape.rank == 3:
            dataset = dataset.batch(batch_size)
        batches = iter(dataset)
    else:
        array = images_or_dataset
        batches = (array[i : i + batch_size] for i in range(0, len(array), batch_size))
    count, total, outer, dtype = 0, 0.0, 0.0, None
    low, high = np.inf, -np.inf
    for batch in batches:
        batch = np.asarray(batch)
        if batch.ndim != 4:
            raise ValueError(
                "Expected images of shape (N, H, W, C). Received a batch of shape "
                f"{batch.shape}"
            )
        dtype = batch.dtype
        pixels = batch.reshape(-1, batch.shape[-1]).astype(np.float64)
        total += pixels.sum(axis=0)
        outer += pixels.T @ pixels
        count += len(pixels)
        if extremes and pixels.size:
            low, high = min(low, pixels.min()), max(high, pixels.max())
    if count < 2:
        raise ValueError("Pixel statistics need a dataset with at least two pixels.")
    mean = total / count
    moments = (mean, outer / count - np.outer(mean, mean), dtype)
    return (*moments, (float(low), float(high))) if extremes else moments


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
