"""Stochastic depth (Huang et al., 2016): drop whole residual branches."""

import keras
from keras import ops

from recipekit._checks import check_rate, check_seed

MODES = ("row", "batch")


def drop_path(branch, rate, mode="row", seed=None):
    """Zeroes a residual branch with probability `rate`, rescaling kept ones.

    `mode="row"` decides per sample (each example keeps or drops its whole
    branch); `mode="batch"` makes one decision for the whole batch, as in the
    paper. A kept branch is multiplied by `1 / (1 - rate)`, so the expected
    output equals the branch and inference needs no rescaling.

    Args:
        branch: a tensor `(batch, ...)`.
        rate: probability of dropping, in [0, 1).
        mode: `"row"` or `"batch"`.
        seed: an int, a `keras.random.SeedGenerator`, or None.

    Returns:
        A tensor shaped like `branch`.
    """
    if mode not in ("row", "batch"):
        raise ValueError(
            f"Argument `mode` must be 'row' or 'batch'. Received: mode={mode!r}"
        )
    if isinstance(rate, bool) or not (isinstance(rate, int | float) and 0 <= rate < 1):
        raise ValueError(
            "Argument `rate` must be a number in [0, 1) (1 would drop every "
            f"branch and divide by zero). Received: rate={rate!r}"
        )
    if rate == 0:
        return branch
    shape = (ops.shape(branch)[0],) + (1,) * (len(branch.shape) - 1)
    if mode == "batch":
        shape = (1,) * len(branch.shape)
    keep = keras.random.uniform(shape, seed=seed) >= rate
    scale = ops.cast(keep, branch.dtype) / ops.cast(1.0 - rate, branch.dtype)
    return branch * scale


def linear_decay_rates(num_blocks, final_rate):
    """The paper's linearly growing drop rates: block l of L drops `final_rate * l / L`.

    Args:
        num_blocks: number of residual blocks L (>= 1).
        final_rate: drop rate of the last block, in [0, 1) (the paper: 0.5).

    Returns:
        A list of L floats, from `final_rate / L` up to `final_rate`.

    Examples:

    >>> linear_decay_rates(4, 0.5)
    [0.125, 0.25, 0.375, 0.5]
    """
    if not isinstance(num_blocks, int) or num_blocks < 1:
        raise ValueError(
            "Argument `num_blocks` must be a positive integer. Received: "
            f"num_blocks={num_blocks!r}"
        )
    final_rate = check_rate(final_rate, "final_rate")
    return [final_rate * block / num_blocks for block in range(1, num_blocks + 1)]


@keras.saving.register_keras_serializable(package="recipekit")
class StochasticDepth(keras.layers.Layer):
    """Drops a whole residual branch during training (stochastic depth).

    Huang et al. (2016) train deep ResNets by skipping random residual blocks:
    the block's branch is dropped, the identity shortcut kept. Apply this layer
    to the branch, before the addition: `x + StochasticDepth(0.2)(branch)`.

    What is dropped: the whole branch output of a sample. `mode="row"` draws one
    keep/drop decision per sample (what timm's `DropPath` and keras-cv's
    `DropPath` do); `mode="batch"` draws one decision for the whole batch, as in
    the paper (and keras-cv's `StochasticDepth`). `rate` is the probability of
    dropping; a kept branch is scaled by `1 / (1 - rate)` during training
    (inverted, like inverted dropout), so inference is the identity. Keras has
    no stochastic-depth layer.

    Args:
        rate: probability of dropping the branch, in [0, 1).
        mode: `"row"` (per sample, default) or `"batch"` (per batch).
        seed: an int for repeatable drops, or None.

    Call arguments:
        inputs: the residual branch, `(batch, ...)`.
        training: drop when True, identity otherwise.

    Examples:

    >>> branch = keras.layers.Conv2D(16, 3, padding="same")(x)
    >>> x = keras.layers.Add()([x, StochasticDepth(0.1)(branch)])
    """

    MODES = MODES

    def __init__(self, rate, mode="row", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate)
        if mode not in MODES:
            raise ValueError(
                f"Argument `mode` must be one of {MODES}. Received: mode={mode!r}"
            )
        self.mode = mode
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(
                "StochasticDepth expects a batch of branch outputs, of rank >= 2. "
                f"Received shape {input_shape}"
            )

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return drop_path(inputs, self.rate, self.mode, self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "mode": self.mode,
            "seed": self.seed,
        }
