"""DropConnect (Wan et al., 2013): drop weights, not activations."""

import keras
from keras import ops

from recipekit._checks import check_rate, check_seed


def drop_connect(kernel, rate, seed=None):
    """Zeroes each weight with probability `rate`; scales kept ones by 1/(1-rate)."""
    keep = keras.random.uniform(ops.shape(kernel), seed=seed) >= rate
    return ops.where(keep, kernel / ops.cast(1.0 - rate, kernel.dtype), 0)


@keras.saving.register_keras_serializable(package="recipekit")
class DropConnectDense(keras.layers.Dense):
    """A `Dense` layer whose individual weights are dropped during training.

    DropConnect (Wan et al., 2013) zeroes each entry of the kernel with
    probability `rate`, where dropout zeroes activations. A new mask is drawn
    every training step and shared by the whole batch: a per-sample mask (as in
    the paper's analysis) would need a kernel copy per example, `batch x in x
    out` weights, and the paper's own GPU implementation also shares masks
    across a mini-batch for speed. Kept weights are scaled by `1 / (1 - rate)`
    (inverted), so the expected pre-activation in training equals the inference
    output, and inference is the plain `Dense` with the same weights (the paper
    instead approximates inference by sampling; inverted scaling makes that
    unnecessary). The bias is never dropped. Keras has no DropConnect layer.

    Args:
        units: output size.
        rate: probability of dropping each weight, in [0, 1).
        seed: an int for repeatable masks, or None.
        **kwargs: any `keras.layers.Dense` argument (activation, use_bias,
            initializers, regularizers, constraints...).

    Call arguments:
        inputs: `(..., input_dim)`.
        training: drop weights when True, plain `Dense` otherwise.

    Examples:

    >>> head = recipekit.layers.DropConnectDense(10, rate=0.5, activation="softmax")
    """

    def __init__(self, units, rate, seed=None, **kwargs):
        super().__init__(units, **kwargs)
        self.rate = check_rate(rate)
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return super().call(inputs, training=training)
        kernel = drop_connect(self.kernel, self.rate, self.seed_generator)
        x = ops.matmul(inputs, kernel)
        if self.use_bias:
            x = ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="recipekit")
class DropConnectConv2D(keras.layers.Conv2D):
    """A `Conv2D` layer whose individual kernel weights are dropped in training.

    DropConnect (Wan et al., 2013) for convolutions: each kernel entry is zeroed
    with probability `rate`, with one mask per training step shared by the
    batch and every spatial position (a per-sample or per-position mask would
    multiply the kernel's memory by the batch or the image size). Kept weights
    are scaled by `1 / (1 - rate)`, so inference is the plain `Conv2D` with the
    same weights. The bias is never dropped.

    Args:
        filters: output channels.
        kernel_size: int or (h, w).
        rate: probability of dropping each weight, in [0, 1).
        seed: an int for repeatable masks, or None.
        **kwargs: any `keras.layers.Conv2D` argument (strides, padding,
            activation, data_format, dilation_rate, groups, ...).

    Call arguments:
        inputs: `(batch, height, width, channels)` (channels last).
        training: drop weights when True, plain `Conv2D` otherwise.

    Examples:

    >>> x = recipekit.layers.DropConnectConv2D(64, 3, rate=0.2, padding="same")(x)
    """

    def __init__(self, filters, kernel_size, rate, seed=None, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.rate = check_rate(rate)
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        # Keras's own Conv2D.call, with the kernel masked in convolution_op:
        # nothing of Keras's body is copied here, so nothing drifts from it.
        self._dropping = bool(training) and self.rate > 0
        try:
            return super().call(inputs)
        finally:
            self._dropping = False

    def convolution_op(self, inputs, kernel):
        if getattr(self, "_dropping", False):
            kernel = drop_connect(kernel, self.rate, self.seed_generator)
        return super().convolution_op(inputs, kernel)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
