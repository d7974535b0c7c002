"""Muon for convolution filters as well as matrices: orthogonalised momentum."""

import math

import keras
import numpy as np
from keras import ops

from recipekit._checks import is_integer

# The quintic Newton-Schulz coefficients of Muon (Jordan et al., 2024): chosen
# for the steepest slope at zero, so a few steps push every singular value
# into roughly [0.7, 1.2] instead of converging exactly to 1.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalize(matrix, steps=5, eps=1e-7):
    """Approximately `U V^T` of a matrix's SVD `U S V^T`, by Newton-Schulz steps.

    The matrix is scaled to Frobenius norm 1 (so every singular value is at
    most 1), and each step applies the quintic `a X + b (X X^T) X +
    c (X X^T)^2 X` on the shorter side. The result has the input's shape.

    Args:
        matrix: a 2-D tensor.
        steps: Newton-Schulz steps (>= 1).
        eps: added to the norm (a zero matrix stays zero).

    Examples:

    >>> m = np.random.default_rng(0).normal(size=(64, 20)).astype("float32")
    >>> o = keras.ops.convert_to_numpy(orthogonalize(m))
    >>> s = np.linalg.svd(o, compute_uv=False)  # were 2.9 to 11.9
    >>> o.shape, bool(0.65 < s.min() and s.max() < 1.15)
    ((64, 20), True)
    """
    a, b, c = NS_COEFFICIENTS
    x = ops.convert_to_tensor(matrix)
    rows, cols = x.shape
    tall = rows > cols
    if tall:
        x = ops.transpose(x)
    x = x / (ops.sqrt(ops.sum(ops.square(x))) + eps)
    for _ in range(steps):
        gram = ops.matmul(x, ops.transpose(x))
        x = a * x + ops.matmul(b * gram + c * ops.matmul(gram, gram), x)
    return ops.transpose(x) if tall else x


@keras.saving.register_keras_serializable(package="recipekit")
class Muon(keras.optimizers.Optimizer):
    """Muon: momentum whose every update is orthogonalised, for matrices and filters.

    Each step keeps a momentum `m = momentum * m + g` (Nesterov: the step uses
    `g + momentum * m`), reshapes it to a matrix with one column per output
    unit, replaces it by the nearest (semi-)orthogonal matrix (Newton-Schulz,
    `orthogonalize`) and steps by `learning_rate` times that. Every direction
    the weights can move in gets the same step size, whatever the gradient's
    scale: this is what airbench94_muon trains its convolution filters with
    (at `learning_rate=0.24, momentum=0.6, ns_steps=3, normalize_weights=True`;
    it reaches airbench94's accuracy in 8 epochs instead of 9.9).

    What Keras's own `keras.optimizers.Muon` (3.15) does differently: it
    orthogonalises 2-D variables only and trains every other variable with
    AdamW, a 4-D convolution kernel included, so a CNN's filters get no Muon
    step at all. Here a kernel `(kh, kw, in, out)` is one `(kh*kw*in, out)` matrix
    (as airbench and the Muon paper do with PyTorch's `(out, in*kh*kw)`), and
    variables with fewer than 2 dimensions are refused: route biases, norms
    and anything else to another optimizer with `keras.optimizers.MultiOptimizer`
    (see the example).

    `normalize_weights=True` rescales each weight to Frobenius norm
    `sqrt(units)` before its step (airbench94_muon), which suits weights that
    a normalisation layer follows: their scale does not matter, and fixing it
    keeps the effective step size fixed. The iteration runs in the variable's
    dtype (float32; airbench uses bfloat16 on GPUs).

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        momentum: in [0, 1).
        nesterov: use Nesterov momentum.
        ns_steps: Newton-Schulz steps per update (>= 1; 5 in the Muon paper,
            3 in airbench94_muon).
        normalize_weights: rescale each weight to norm `sqrt(units)` first.
        name: the optimizer's name.
        **kwargs: the base optimizer's arguments (`weight_decay`,
            `clipnorm`, `gradient_accumulation_steps`, ...).

    Examples:

    >>> model = keras.Sequential([
    ...     keras.Input((8, 8, 3)),
    ...     keras.layers.Conv2D(4, 3, name="conv"),
    ...     keras.layers.Flatten(),
    ...     keras.layers.Dense(2, name="head"),
    ... ])
    >>> optimizer = keras.optimizers.MultiOptimizer(
    ...     keras.optimizers.OptimizerMap(
    ...         keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    ...         {".*conv/kernel": recipekit.optimizers.Muon(0.05)},
    ...     )
    ... )
    >>> model.compile(optimizer, "mse")
    >>> x = np.ones((4, 8, 8, 3), "float32")
    >>> _ = model.fit(x, np.zeros((4, 2)), epochs=2, verbose=0)
    >>> int(optimizer.iterations)
    2
    """

    def __init__(
        self,
        learning_rate=0.02,
        momentum=0.95,
        nesterov=True,
        ns_steps=5,
        normalize_weights=False,
        name="muon",
        **kwargs,
    ):
        if isinstance(learning_rate, bool) or (
            isinstance(learning_rate, int | float | np.integer | np.floating)
            and not 0 <= learning_rate < float("inf")  # NaN fails too
        ):
            raise ValueError(
                "Argument `learning_rate` must be a finite number >= 0 or a "
                f"LearningRateSchedule. Received: learning_rate={learning_rate!r}"
            )
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, int | float | np.integer | np.floating)
            or not 0 <= momentum < 1
        ):
            raise ValueError(
                "Argument `momentum` must be a float in [0, 1). Received: "
                f"momentum={momentum!r}"
            )
        if not is_integer(ns_steps) or ns_steps < 1:
            raise ValueError(
                "Argument `ns_steps` must be an integer >= 1. Received: "
                f"ns_steps={ns_steps!r}"
            )
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.ns_steps = int(ns_steps)
        self.normalize_weights = bool(normalize_weights)

    def build(self, var_list):
        if self.built:
            return
        low = [v.path for v in var_list if len(v.shape) < 2]
        if low:
            raise ValueError(
                "Muon trains matrices and convolution filters (2 or more "
                f"dimensions); received {len(low)} variable(s) with fewer: "
                f"{low[:5]}. Give them another optimizer with "
                "keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap("
                "default, {'<path regex>': Muon(...)}))."
            )
        super().build(var_list)
        self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        shape = tuple(variable.shape)
        units = shape[-1]
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        # The slot lookup of Keras's documented subclassing example (the
        # `keras.optimizers.Optimizer` docstring); it also resolves the
        # backend's own variable that TensorFlow passes here.
        momentum = self.momentums[self._get_variable_index(variable)]
        self.assign(momentum, ops.add(ops.multiply(momentum, self.momentum), gradient))
        direction = (
            ops.add(gradient, ops.multiply(momentum, self.momentum))
            if self.nesterov
            else ops.convert_to_tensor(momentum)
        )
        matrix = ops.reshape(direction, (math.prod(shape[:-1]), units))
        update = ops.reshape(orthogonalize(matrix, self.ns_steps), shape)
        if self.normalize_weights:
            weight = ops.convert_to_tensor(variable)
            norm = ops.sqrt(ops.sum(ops.square(weight)))
            self.assign(variable, weight * (math.sqrt(units) / (norm + 1e-12)))
        self.assign_sub(variable, ops.multiply(lr, update))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "momentum": self.momentum,
                "nesterov": self.nesterov,
                "ns_steps": self.ns_steps,
                "normalize_weights": self.normalize_weights,
            }
        )
        return config
