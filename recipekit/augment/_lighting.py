"""AlexNet-style PCA lighting noise (Krizhevsky et al., 2012)."""

import numpy as np
import tensorflow as tf

from recipekit.augment._checks import check_factor, check_images, to_unit_float
from recipekit.augment._seed import make_seed
from recipekit.data._stats import pixel_moments

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


def fit_pca_lighting(images_or_dataset, batch_size=1024):
    """Eigen-decomposes the RGB covariance of a dataset's pixels (scaled to [0, 1]).

    Streams over batches with float64 sums of pixels and of their outer
    products, so the data never has to fit in memory.

    Args:
        images_or_dataset: an array or tensor `(N, H, W, 3)`, or a
            `tf.data.Dataset` of images or of `(image, label)`, batched or not.
            uint8 is read as 0-255, floats as 0-1.
        batch_size: images per streamed batch when the input is not batched.

    Returns:
        `(eigenvalues, eigenvectors)`: shape `(3,)` sorted from largest, and
        `(3, 3)` with eigenvector `i` in column `i`.

    Example:

    >>> ds, _ = recipekit.data.load("cifar10_sample", split="train")
    >>> eigenvalues, eigenvectors = recipekit.augment.fit_pca_lighting(ds)
    """
    _, covariance, dtype = pixel_moments(images_or_dataset, batch_size)
    if covariance.shape != (3, 3):
        raise ValueError(
            "fit_pca_lighting() needs RGB images (3 channels). Received "
            f"{covariance.shape[0]} channels."
        )
    if dtype == np.uint8:
        covariance = covariance / 255.0**2
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


def lighting_offsets(alpha, eigenvalues, eigenvectors):
    """RGB offsets `eigenvectors @ (alpha * eigenvalues)` for alphas (B, 3)."""
    scaled = alpha * tf.constant(eigenvalues, alpha.dtype)[None, :]
    return tf.matmul(scaled, tf.constant(eigenvectors, alpha.dtype), transpose_b=True)


def pca_lighting(images, eigenvalues, eigenvectors, alpha_std=0.1, seed=None):
    """Adds AlexNet's PCA lighting noise, per image (Krizhevsky et al., 2012).

    Each image gets the RGB offset `eigenvectors @ (alpha * eigenvalues)` with
    `alpha ~ N(0, alpha_std)` drawn per image and per component, added to every
    pixel: a random shift along the principal axes of natural color variation.
    Keras has no such layer.

    Args:
        images: a batch `(B, H, W, 3)`, uint8 (0-255) or float (0-1).
        eigenvalues: shape `(3,)`, from `fit_pca_lighting` or `IMAGENET_PCA[0]`.
        eigenvectors: shape `(3, 3)`, one eigenvector per column.
        alpha_std: standard deviation of `alpha`, >= 0 (AlexNet: 0.1).
        seed: None, an int, or a shape-[2] integer tensor.

    Returns:
        The batch, same shape, dtype and range (clipped).

    Example:

    >>> values, vectors = recipekit.augment.IMAGENET_PCA
    >>> y = recipekit.augment.pca_lighting(x, values, vectors, 0.1, seed=0)
    """
    alpha_std = check_factor("alpha_std", alpha_std)
    eigenvalues, eigenvectors = check_pca(eigenvalues, eigenvectors)
    images = check_images(images, channels=3)
    x, restore = to_unit_float(images)
    alpha = tf.random.stateless_normal(
        [tf.shape(x)[0], 3], make_seed(seed), stddev=alpha_std
    )
    offsets = lighting_offsets(alpha, eigenvalues, eigenvectors)
    return restore(x + offsets[:, None, None, :])
