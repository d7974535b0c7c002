"""Seeds for the stateless random ops behind every augmentation.

An op's `seed` is None (a fresh seed from TensorFlow's global generator, which
`tf.random.set_seed` makes repeatable), a Python int, or a shape-[2] integer
tensor such as the per-batch seeds `recipekit.data.pipeline` hands out.
"""

import tensorflow as tf


def make_seed(seed) -> tf.Tensor:
    """Returns a shape-[2] int64 seed for `tf.random.stateless_*` ops."""
    if seed is None:
        return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
    if isinstance(seed, int):
        return tf.constant([seed, 0], dtype=tf.int64)
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank != 1 or (seed.shape[0] is not None and seed.shape[0] != 2):
        raise ValueError(
            "Argument `seed` must be None, an int or a shape-[2] integer tensor. "
            f"Received: seed with shape {seed.shape}"
        )
    if not seed.dtype.is_integer:
        raise ValueError(
            f"Argument `seed` must hold integers. Received dtype {seed.dtype.name}"
        )
    return tf.cast(seed, tf.int64)


def split_seed(seed, num: int) -> list[tf.Tensor]:
    """Splits one seed into `num` independent seeds (a list of shape-[2] tensors)."""
    seeds = tf.random.experimental.stateless_split(make_seed(seed), num)
    return [seeds[i] for i in range(num)]
