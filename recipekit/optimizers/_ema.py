"""An optimizer wrapper that keeps a moving average of the weights it trains."""

import contextlib

import keras
import numpy as np
from keras import ops

from recipekit._checks import is_integer
from recipekit.optimizers._wrapper import OptimizerWrapper


@keras.saving.register_keras_serializable(package="recipekit")
class EMA(OptimizerWrapper):
    """Wraps an optimizer and keeps an exponential (or Polyak) average of the weights.

    After every update of the wrapped optimizer, inside the same compiled step,
    `average = decay * average + (1 - decay) * weights`. With `warmup`, the
    decay at averaging step `t` is `min(decay, (1 + t) / (10 + t))`, so early,
    poor weights are forgotten fast. With `decay=None` the average is the plain
    running mean of the weights since `start_step` (Polyak and Juditsky, 1992;
    stochastic weight averaging). Before `start_step` the average follows the
    weights. The decay is a pure function of the step (`optimizer.iterations`),
    so the only state is the averages themselves.

    What Keras lacks, and this adds: `optimizer(use_ema=True)` has no warm-up,
    no Polyak mode and no start step, and overwrites the model with the
    averages at the end of `fit`. Here the model keeps its raw weights; use the
    averages with `ema.swapped()` (a context manager), `ema.swap()` or
    `ema.use_averages()`, and validate on them inside `fit` with
    `recipekit.callbacks.SwapAverages()`. The averages are optimizer
    variables, so Keras's own `BackupAndRestore`, `ModelCheckpoint` and
    `model.save` carry them, on every backend, with `steps_per_execution > 1`
    and under a distribution strategy.

    Only trainable weights are averaged. BatchNorm moving statistics keep
    tracking the raw weights; after Polyak averaging (or a slow EMA) recompute
    them for the averages with `recipekit.models.recompute_batch_norm`.

    Args:
        optimizer: the Keras optimizer to wrap (not yet used).
        decay: in (0, 1), e.g. 0.999; or None for the running mean.
        warmup: ramp the decay up as `min(decay, (1 + t) / (10 + t))`.
        start_step: optimizer step (0-based) at which averaging starts.
        name: the optimizer's name.

    Examples:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> ema = recipekit.optimizers.EMA(keras.optimizers.SGD(0.1), decay=0.9)
    >>> model.compile(ema, "mse")
    >>> x = np.ones((8, 3), "float32")
    >>> _ = model.fit(x, x[:, :1], epochs=2, verbose=0)
    >>> with ema.swapped():
    ...     averaged = model.predict(x, verbose=0)
    """

    def __init__(self, optimizer, decay=0.999, warmup=True, start_step=0, name=None):
        super().__init__(optimizer, name or "ema")
        if decay is not None and (
            isinstance(decay, bool)
            or not isinstance(decay, int | float | np.integer | np.floating)
            or not 0 < decay < 1
        ):
            raise ValueError(
                "Argument `decay` must be in (0, 1), or None for a running mean. "
                f"Received: decay={decay!r}"
            )
        if not is_integer(start_step) or start_step < 0:
            raise ValueError(
                f"Argument `start_step` must be an integer >= 0. Received: "
                f"start_step={start_step!r}"
            )
        self.decay = None if decay is None else float(decay)
        self.warmup = bool(warmup)
        self.start_step = int(start_step)

    def build_slots(self, var_list):
        self._averages = [
            self.add_variable_from_reference(v, name="average") for v in var_list
        ]

    def apply(self, grads, trainable_variables=None):
        variables = self.weights_to_update(trainable_variables)
        # What each average starts from: itself, or at the very first step the
        # weights before it.
        step, bases = self.starting_values(self._averages, variables)
        self.inner_optimizer.apply(grads, trainable_variables)
        self._update_averages(step, variables, bases)

    # The average --------------------------------------------------------------

    def averaging_rate(self, step):
        """The weight `1 - decay` given to the weights at optimizer step `step`."""
        t = ops.cast(step, "float32") - float(self.start_step)
        if self.decay is None:
            rate = 1.0 / (t + 1.0)
        elif self.warmup:
            rate = 1.0 - ops.minimum(self.decay, (1.0 + t) / (10.0 + t))
        else:
            rate = ops.ones_like(t) * (1.0 - self.decay)
        return ops.where(t >= 0, rate, 1.0)

    def _update_averages(self, step, variables, bases):
        rate = self.averaging_rate(step)
        for average, variable, base in zip(
            self._averages, variables, bases, strict=True
        ):
            value = ops.cast(ops.convert_to_tensor(variable), average.dtype)
            average.assign(base + ops.cast(rate, average.dtype) * (value - base))

    @property
    def averages(self):
        """The averages, as optimizer variables, in the order of the weights."""
        self._check_built()
        return list(self._averages)

    def _check_built(self):
        if not self.built:
            raise ValueError(
                "This EMA has no averages yet: compile a model with it and train."
            )

    def swap(self):
        """Swaps the averages and the model's weights in place (twice: undone)."""
        self._check_built()
        for average, variable in zip(
            self._averages, self._wrapped_weights.variables, strict=True
        ):
            raw = ops.convert_to_numpy(variable)
            variable.assign(ops.cast(average, variable.dtype))
            average.assign(raw)

    @contextlib.contextmanager
    def swapped(self):
        """Context manager: the model holds the averaged weights inside it."""
        self.swap()
        try:
            yield self
        finally:
            self.swap()

    def use_averages(self):
        """Copies the averages into the model's weights for good."""
        self._check_built()
        for average, variable in zip(
            self._averages, self._wrapped_weights.variables, strict=True
        ):
            variable.assign(ops.cast(average, variable.dtype))

    # Serialization -------------------------------------------------------------

    def get_config(self):
        return {
            **super().get_config(),
            "decay": self.decay,
            "warmup": self.warmup,
            "start_step": self.start_step,
        }


def find_ema(optimizer):
    """The `EMA` inside `optimizer` (through Keras's LossScaleOptimizer), or None.

    Examples:

    >>> ema = EMA(keras.optimizers.SGD(0.1))
    >>> find_ema(keras.optimizers.LossScaleOptimizer(ema)) is ema
    True
    >>> find_ema(keras.optimizers.SGD(0.1)) is None
    True
    """
    while optimizer is not None:
        if isinstance(optimizer, EMA):
            return optimizer
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return None
