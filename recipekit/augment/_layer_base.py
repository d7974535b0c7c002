"""The shared part of recipekit's augmentation layers: seeds, training, ranks."""

import keras

from recipekit import _random
from recipekit._checks import is_integer
from recipekit.augment._backend import DataLayer, next_seed, ops_for
from recipekit.augment._images import check_value_range, to_unit


class AugmentLayer(DataLayer):
    """Runs a batched op in training, the identity at inference.

    Subclasses implement `augment(ops, images, key)` on a batch, with `ops`
    the namespace to run on and `key` an int32 random key. Accepts a single
    image `(H, W, C)` or a batch `(B, H, W, C)`, so the layer works inside a
    model and in `Dataset.map` before or after `.batch()`, on every backend
    (in `tf.data` it runs on TensorFlow, as Keras's own preprocessing layers
    do, and returns their compute dtype). Randomness comes from a
    `keras.random.SeedGenerator`, so a seeded layer repeats exactly.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (not is_integer(seed)):
            raise ValueError(
                f"Argument `seed` must be None or an int. Received: {seed!r}"
            )
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def augment(self, ops, images, key):
        raise NotImplementedError

    def call(self, inputs, training=True):
        if not training:
            return inputs
        ops = ops_for(inputs)
        rank = len(inputs.shape)
        if rank not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} expects images of shape (height, width, "
                f"channels) or (batch, height, width, channels). Received shape "
                f"{tuple(inputs.shape)}"
            )
        batch = inputs[None] if rank == 3 else inputs
        key = _random.make_key(ops, next_seed(self))
        out = self.augment(ops, batch, key)
        return out[0] if rank == 3 else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class UnitRangeLayer(AugmentLayer):
    """An augmentation of pixel values, computed in [0, 1] and mapped back to
    the declared `value_range` and the input's dtype."""

    def __init__(self, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.value_range = check_value_range(value_range)

    def augment(self, ops, images, key):
        x, restore = to_unit(ops, images, self.value_range)
        return restore(self.augment_unit(ops, x, key))

    def augment_unit(self, ops, x, key):
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range)}
