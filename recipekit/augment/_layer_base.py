"""The shared part of recipekit's augmentation layers: seeds, training, ranks."""

import keras
import tensorflow as tf


class AugmentLayer(keras.layers.Layer):
    """Runs a batched op in training, the identity at inference.

    Subclasses implement `augment(images, seed)` on a batch in the layer's value
    range. Accepts a single image `(H, W, C)` or a batch `(B, H, W, C)`, so the
    layer works inside a model and in `Dataset.map` before or after `.batch()`.
    Randomness comes from a `keras.random.SeedGenerator`, so a seeded layer
    repeats exactly.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and not isinstance(seed, int):
            raise ValueError(
                f"Argument `seed` must be None or an int. Received: {seed!r}"
            )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def augment(self, images, seed):
        raise NotImplementedError

    def call(self, inputs, training=True):
        if not training:
            return inputs
        inputs = tf.convert_to_tensor(inputs)
        if inputs.shape.rank not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} expects images of shape (height, width, "
                f"channels) or (batch, height, width, channels). Received shape "
                f"{inputs.shape}"
            )
        single = inputs.shape.rank == 3
        batch = inputs[None] if single else inputs
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        out = self.augment(batch, seed)
        return out[0] if single else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def scale_to_unit(images, value_range):
    """Maps a value range to [0, 1] floats; returns `(x, restore)`."""
    low, high = value_range
    dtype = images.dtype
    x = (tf.cast(images, tf.float32) - low) / (high - low)

    def restore(y):
        y = tf.cast(y, tf.float32) * (high - low) + low
        if dtype.is_integer:
            y = tf.round(y)
        return tf.cast(y, dtype)

    return x, restore


def check_value_range(value_range):
    if (
        not isinstance(value_range, tuple | list)
        or len(value_range) != 2
        or not value_range[0] < value_range[1]
    ):
        raise ValueError(
            "Argument `value_range` must be (low, high) with low < high, e.g. "
            f"(0, 255) or (0, 1). Received: value_range={value_range!r}"
        )
    return tuple(float(v) for v in value_range)
