"""BatchNorm and its activation as one layer, with one hand-written gradient."""

import math

import keras
from keras import ops

ACTIVATIONS = ("linear", "relu", "gelu")
_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _act(z, activation):
    if activation == "relu":
        return ops.relu(z)
    if activation == "gelu":  # exact, as keras.activations.gelu's default
        return z * (0.5 * (1.0 + ops.erf(z * _SQRT_HALF)))
    return z


def _act_slope(z, activation):
    if activation == "relu":
        return ops.cast(z > 0, z.dtype)
    if activation == "gelu":  # Phi(z) + z phi(z)
        return 0.5 * (1.0 + ops.erf(z * _SQRT_HALF)) + z * (
            ops.exp(-0.5 * ops.square(z)) * _INV_SQRT_2PI
        )
    return None


def activate(x, activation):
    """`activation` of x computed in float32, returned in x's dtype, with a
    hand-written gradient (one slope instead of autodiff's chain of ops)."""
    if activation == "linear":
        return x

    @ops.custom_gradient
    def forward(x):
        z = ops.cast(x, "float32")

        def backward(*args, upstream=None):
            if upstream is None:  # TensorFlow and JAX pass it alone
                (upstream,) = args
            slope = _act_slope(z, activation)
            return ops.cast(ops.cast(upstream, "float32") * slope, x.dtype)

        return ops.cast(_act(z, activation), x.dtype), backward

    return forward(x)


def _tf_fused_batch_norm(layer, x):
    """TensorFlow's fused kernel (oneDNN on CPUs, cuDNN on GPUs) for the
    training normalisation of NHWC inputs: statistics, normalisation and
    their gradient in a few passes over x in its own dtype. Returns the
    normalised x and updates the moving statistics as Keras's layer does."""
    import tensorflow as tf

    channels = x.shape[-1]
    gamma = layer.gamma.value if layer.scale else tf.ones([channels])
    beta = layer.beta.value if layer.center else tf.zeros([channels])
    y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        x, gamma, beta, epsilon=layer.epsilon, is_training=True
    )
    count = tf.cast(tf.size(x) // channels, "float32")
    _update_moving_statistics(layer, mean, variance * (count - 1) / count)  # biased
    return y


def _update_moving_statistics(layer, mean, variance):
    """Keras's update: keep `momentum` of the moving statistics per step."""
    momentum = layer.momentum
    for moving, batch in ((layer.moving_mean, mean), (layer.moving_variance, variance)):
        moving.assign(ops.cast(moving, "float32") * momentum + batch * (1 - momentum))


@keras.saving.register_keras_serializable(package="recipekit")
class BatchNormAct(keras.layers.BatchNormalization):
    """`BatchNormalization` followed by an activation, with one backward pass.

    The same function as `keras.layers.BatchNormalization` then
    `keras.layers.Activation(activation)` (timm's `BatchNormAct2d`), and the
    same variables, so its weights are a `BatchNormalization`'s. What differs
    is the cost of training. Automatic differentiation of Keras's layers goes
    back through every elementwise op of the normalisation (a cast to float32,
    subtracting the mean, scaling, shifting, casting back) and of the
    activation, one pass over the activations each; on a CPU those passes cost
    as much as the convolutions around them. Here:

    - the normalisation's gradient is its closed form, `dx = gamma / sigma *
      (dz - mean(dz) - x_hat * mean(dz * x_hat))`, in float32 (as Keras's
      layer computes under mixed precision);
    - on TensorFlow, for NHWC inputs, the normalisation is TensorFlow's fused
      kernel instead (`tf.nn.fused_batch_norm`: oneDNN on CPUs, cuDNN on
      GPUs), statistics and gradient in a few passes over the inputs in their
      own dtype; the moving statistics get Keras's update. This is the one
      backend-specific path in recipekit's layers (`docs/design.md`), tested
      equal to the portable one;
    - the activation's gradient is its slope times the upstream gradient,
      computed in float32.

    On 2 CPU cores, TensorFlow, bfloat16, batch 2000 of the fast CIFAR net's
    15x15x64 activations, forward and backward: 117 ms against 309 ms for
    `BatchNormalization` + `Activation("gelu")` (`benchmarks/norm_act_ops.py`
    at commit dc191ae);
    the whole Muon step of `fast_cifar_net`: `benchmarks/RESULTS.md`.

    Masks, `renorm` and `synchronized` take Keras's own path (then the
    activation). In inference, and when the layer is frozen, it uses the
    moving statistics, as Keras's layer does.

    Args:
        activation: `"linear"` (or None), `"relu"` or `"gelu"` (exact, as
            `keras.activations.gelu`'s default).
        **kwargs: any `keras.layers.BatchNormalization` argument (`axis`,
            `momentum`, `epsilon`, `center`, `scale`, initializers,
            regularizers, constraints...).

    Examples:

    >>> layer = recipekit.layers.BatchNormAct("gelu", momentum=0.6, scale=False)
    >>> x = np.random.default_rng(0).normal(size=(8, 4, 4, 3)).astype("float32")
    >>> tuple(layer(x, training=True).shape)
    (8, 4, 4, 3)
    """

    def __init__(self, activation="linear", **kwargs):
        super().__init__(**kwargs)
        activation = "linear" if activation is None else activation
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"Argument `activation` must be one of {ACTIVATIONS} or None. "
                f"Received: activation={activation!r}"
            )
        self.activation = activation

    def call(self, inputs, training=None, mask=None):
        if mask is not None or self.renorm or self.synchronized:
            x = super().call(inputs, training=training, mask=mask)
            return ops.cast(_act(ops.cast(x, "float32"), self.activation), x.dtype)
        if (
            training
            and self.trainable
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            # oneDNN's bfloat16 kernel is many times slower when the channels
            # are not a multiple of 16 (seen at 24): the portable path then.
            and (self.compute_dtype != "bfloat16" or inputs.shape[-1] % 16 == 0)
        ):
            x = ops.cast(inputs, self.compute_dtype)
            return activate(_tf_fused_batch_norm(self, x), self.activation)
        x = ops.cast(inputs, "float32")
        params = [
            ops.cast(v, "float32") for v in (self.gamma, self.beta) if v is not None
        ]
        axes = [a for a in range(len(x.shape)) if a != self.axis % len(x.shape)]
        shape = [1] * len(x.shape)
        shape[self.axis] = x.shape[self.axis]
        if training and self.trainable:
            plain = ops.stop_gradient(x)
            mean = ops.mean(plain, axis=axes)
            variance = ops.mean(ops.square(plain - ops.reshape(mean, shape)), axis=axes)
            _update_moving_statistics(self, mean, variance)
            y = self._train_forward(
                x,
                ops.reshape(mean, shape),
                ops.reshape(ops.rsqrt(variance + self.epsilon), shape),
                axes,
                shape,
                *params,
            )
        else:
            mean = ops.reshape(ops.cast(self.moving_mean, "float32"), shape)
            inv = ops.rsqrt(ops.cast(self.moving_variance, "float32") + self.epsilon)
            z = (x - mean) * ops.reshape(inv, shape)
            z = self._affine(z, params, shape)
            y = _act(z, self.activation)
        return ops.cast(y, self.compute_dtype)

    def _affine(self, z, params, shape):
        params = list(params)
        if self.scale:
            z = z * ops.reshape(params.pop(0), shape)
        if self.center:
            z = z + ops.reshape(params.pop(0), shape)
        return z

    def _train_forward(self, x, mean, inv, axes, shape, *params):
        activation, scale, center = self.activation, self.scale, self.center
        # Values per channel; a tensor, as the batch size may be unknown.
        count = ops.cast(ops.size(x), "float32") / x.shape[self.axis]

        @ops.custom_gradient
        def forward(x, mean, inv, *params):
            x_hat = (x - mean) * inv
            z = self._affine(x_hat, params, shape)
            y = _act(z, activation)

            def backward(*args, upstream=None):
                if upstream is None:  # TensorFlow and JAX pass it alone
                    (upstream,) = args
                dz = ops.cast(upstream, "float32")
                slope = _act_slope(z, activation)
                if slope is not None:
                    dz = dz * slope
                d_beta = ops.sum(dz, axis=axes)
                d_gamma = ops.sum(dz * x_hat, axis=axes)
                gain = inv
                if scale:
                    gain = gain * ops.reshape(params[0], shape)
                dx = gain * (
                    dz
                    - ops.reshape(d_beta / count, shape)
                    - x_hat * ops.reshape(d_gamma / count, shape)
                )
                # mean and inv come from stop_gradient(x): dx holds their part.
                grads = [dx, ops.zeros_like(mean), ops.zeros_like(inv)]
                if scale:
                    grads.append(d_gamma)
                if center:
                    grads.append(d_beta)
                return tuple(grads)

            return y, backward

        return forward(x, mean, inv, *params)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}
