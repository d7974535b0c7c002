"""AlexNet-style PCA lighting noise (Krizhevsky et al., 2012)."""

import numpy as np

from recipekit import _random
from recipekit._checks import check_factor
from recipekit._pixels import pixel_moments
from recipekit.augment._backend import ops_for
from recipekit.augment._color import layout
from recipekit.augment._images import (
    batch_size,
    check_images,
    check_unit_floats,
    check_value_range,
    to_unit,
)

# Eigenvalues and eigenvectors (columns) of the RGB covariance of ImageNet pixels
# scaled to [0, 1], as published with fb.resnet.torch and used by torchvision-era
# training scripts: `eigenvectors @ (alpha * eigenvalues)` is the RGB offset.
IMAGENET_PCA = (
    np.array([0.2175, 0.0188, 0.0045]),
    np.array(
        [
            [-0.5675, 0.7192, 0.4009],
            [-0.5808, -0.0045, -0.8140],
            [-0.5836, -0.6948, 0.4203],
        ]
    ),
)


def fit_pca_lighting(images_or_dataset, batch_size=1024, value_range=(0, 255)):
    """Eigen-decomposes the RGB covariance of a dataset's pixels (scaled to [0, 1]).

    Streams over batches with float64 sums of pixels and of their outer
    products, so the data never has to fit in memory. Pixels are read in
    `value_range`, the same default as `pca_lighting` and `PCALighting`, so
    fitting and applying agree; float pixels all within [0, 1] under the
    default (0, 255) get a warning to pass `value_range=(0, 1)`.

    Args:
        images_or_dataset: an array or tensor `(N, H, W, 3)`, or a
            `tf.data.Dataset` of images or of `(image, label)`, batched or not.
        batch_size: images per streamed batch when the input is not batched.
        value_range: `(low, high)` of the pixel values, `(0, 255)` (uint8
            must be) or e.g. `(0, 1)`.

    Returns:
        `(eigenvalues, eigenvectors)`: shape `(3,)` sorted from largest, and
        `(3, 3)` with eigenvector `i` in column `i`.

    Examples:

    >>> ds, _ = recipekit.data.load("cifar10_sample", split="train")
    >>> eigenvalues, eigenvectors = recipekit.augment.fit_pca_lighting(ds)
    """
    value_range = check_value_range(value_range)
    _, covariance, dtype, (low, high) = pixel_moments(
        images_or_dataset, batch_size, extremes=True
    )
    if covariance.shape != (3, 3):
        raise ValueError(
            "fit_pca_lighting() needs RGB images (3 channels). Received "
            f"{covariance.shape[0]} channels."
        )
    if dtype == np.uint8 and value_range != (0.0, 255.0):
        raise ValueError(
            "uint8 images hold values 0-255: pass value_range=(0, 255). "
            f"Received: value_range={value_range!r}"
        )
    check_unit_floats(value_range, dtype, low, high, where="images to fit")
    covariance = covariance / (value_range[1] - value_range[0]) ** 2
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    return np.maximum(eigenvalues[order], 0.0), eigenvectors[:, order]


def check_pca(eigenvalues, eigenvectors):
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    eigenvectors = np.asarray(eigenvectors, dtype=np.float64)
    if eigenvalues.shape != (3,):
        raise ValueError(
            "Argument `eigenvalues` must have shape (3,). Received shape "
            f"{eigenvalues.shape}"
        )
    if eigenvectors.shape != (3, 3):
        raise ValueError(
            "Argument `eigenvectors` must have shape (3, 3), one eigenvector per "
            f"column. Received shape {eigenvectors.shape}"
        )
    return eigenvalues, eigenvectors


def lighting_unit(ops, x, eigenvalues, eigenvectors, alpha_std, key):
    """`pca_lighting` on [0, 1] float32 images with an int32 `key`."""
    alpha = _random.normal(ops, key, (batch_size(ops, x), 3), alpha_std)
    scaled = ops.multiply(alpha, eigenvalues.astype(np.float32))
    offsets = ops.matmul(scaled, eigenvectors.T.astype(np.float32))
    form = layout(ops)
    return form.join(form.add_rgb(form.split(x), offsets))


def pca_lighting(
    images, eigenvalues, eigenvectors, alpha_std=0.1, value_range=(0, 255), seed=None
):
    """Adds AlexNet's PCA lighting noise, per image (Krizhevsky et al., 2012).

    Each image gets the RGB offset `eigenvectors @ (alpha * eigenvalues)` with
    `alpha ~ N(0, alpha_std)` drawn per image and per component, added to every
    pixel: a random shift along the principal axes of natural color variation.
    Keras has no such layer. Runs in `keras.ops` on any backend, and in
    `tf.data` on TensorFlow tensors.

    Args:
        images: a batch `(B, H, W, 3)`, uint8 or float.
        eigenvalues: shape `(3,)` for pixels scaled to [0, 1], from
            `fit_pca_lighting` or `IMAGENET_PCA[0]`.
        eigenvectors: shape `(3, 3)`, one eigenvector per column.
        alpha_std: standard deviation of `alpha`, a finite number >= 0
            (AlexNet: 0.1).
        value_range: the `(low, high)` range of the pixel values, `(0, 255)`
            (the default) or `(0, 1)`; float images outside it are refused.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape, dtype and range (clipped).

    Examples:

    >>> values, vectors = recipekit.augment.IMAGENET_PCA
    >>> x = np.full((4, 8, 8, 3), 128, np.uint8)
    >>> y = recipekit.augment.pca_lighting(x, values, vectors, 0.1, seed=0)
    >>> tuple(y.shape)
    (4, 8, 8, 3)
    """
    alpha_std = check_factor("alpha_std", alpha_std)
    eigenvalues, eigenvectors = check_pca(eigenvalues, eigenvectors)
    ops = ops_for(images, seed)
    value_range = check_value_range(value_range, images)
    images = check_images(ops, images, channels=3)
    if not alpha_std or images.shape[0] == 0:
        return images
    x, restore = to_unit(ops, images, value_range)
    key = _random.make_key(ops, seed)
    return restore(lighting_unit(ops, x, eigenvalues, eigenvectors, alpha_std, key))
