"""Per-channel pixel moments, streamed in float64 (for `data.channel_stats`
and `augment.fit_pca_lighting`). A bottom module: it imports only others."""

import numpy as np

from recipekit._keras_utils import is_tf_dataset


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
