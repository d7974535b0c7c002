"""Per-image random horizontal flips."""

import tensorflow as tf

from recipekit.augment._checks import check_images
from recipekit.augment._seed import make_seed


def random_flip(images, seed=None):
    """Mirrors each image left-right with probability 0.5, decided per image.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        seed: None, an int, or a shape-[2] integer tensor.

    Returns:
        The batch, same shape and dtype.

    Example:

    >>> x = tf.zeros([8, 32, 32, 3], tf.uint8)
    >>> recipekit.augment.random_flip(x, seed=0).shape
    TensorShape([8, 32, 32, 3])
    """
    images = check_images(images)
    flip = tf.random.stateless_uniform([tf.shape(images)[0]], make_seed(seed)) < 0.5
    return tf.where(flip[:, None, None, None], tf.reverse(images, axis=[2]), images)
