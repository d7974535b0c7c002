"""An optimizer wrapper that pulls the weights back to slow weights every k steps."""

import copy

import keras
import numpy as np
from keras import ops

from recipekit.optimizers._ema import _Weights


@keras.saving.register_keras_serializable(package="recipekit")
class Lookahead(keras.optimizers.Optimizer):
    """Lookahead (Zhang et al., 2019): fast weights explore, slow weights follow.

    The wrapped optimizer updates the model's ("fast") weights every step.
    Every `sync_period` steps, inside the same compiled step, the slow weights
    move a fraction `alpha` of the way to the fast ones,
    `slow += alpha * (fast - slow)`, and the fast weights are reset to them.
    At the end of training, `use_slow_weights()` puts the slow weights in the
    model (airbench94 does the same). `alpha` may be a schedule of the
    optimizer step: airbench94 uses `1 - 0.95**5 * (step / total)**3`, so the
    pull-back is nothing at first and grows to 77% of the way at the end
    (`PiecewiseLinear` approximates that cubic closely with 20 segments).

    What Keras lacks, and this adds: Keras has no Lookahead (tensorflow-addons
    had one, TensorFlow only, and it is retired). Here the slow weights are
    optimizer variables, so `BackupAndRestore`, `ModelCheckpoint` and
    `model.save` carry them, on every backend and with
    `steps_per_execution > 1`; `alpha` is a pure function of the step.

    Only trainable weights take part (BatchNorm statistics keep tracking the
    fast weights; airbench94 also pulls those back).

    Args:
        optimizer: the Keras optimizer to wrap (not yet used).
        sync_period: steps between synchronisations (k; 5 in airbench94).
        alpha: the slow step size in (0, 1], or a
            `keras.optimizers.schedules.LearningRateSchedule` of the step.
        name: the optimizer's name.

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> look = recipekit.optimizers.Lookahead(keras.optimizers.SGD(0.1), 5, 0.5)
    >>> model.compile(look, "mse")
    >>> x = np.ones((8, 3), "float32")
    >>> _ = model.fit(x, x[:, :1], batch_size=8, epochs=7, verbose=0)
    >>> int(look.iterations), look.synced(7)
    (7, False)
    >>> look.use_slow_weights()  # the weights of step 5, the last sync
    """

    def __init__(self, optimizer, sync_period=5, alpha=0.5, name=None):
        if isinstance(optimizer, dict):
            optimizer = keras.optimizers.deserialize(copy.deepcopy(optimizer))
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                "Argument `optimizer` must be a Keras optimizer instance. "
                f"Received: optimizer={optimizer!r}"
            )
        if isinstance(optimizer, Lookahead | keras.optimizers.LossScaleOptimizer):
            raise ValueError(
                "Argument `optimizer` must not be a Lookahead or a "
                "LossScaleOptimizer (Keras adds the loss scaling around the "
                f"Lookahead itself). Received: {type(optimizer).__name__}"
            )
        if (
            isinstance(sync_period, bool)
            or not isinstance(sync_period, int | np.integer)
            or sync_period < 1
        ):
            raise ValueError(
                "Argument `sync_period` must be an integer >= 1. Received: "
                f"sync_period={sync_period!r}"
            )
        if isinstance(alpha, dict):
            alpha = keras.optimizers.schedules.deserialize(copy.deepcopy(alpha))
        if not isinstance(alpha, keras.optimizers.schedules.LearningRateSchedule) and (
            isinstance(alpha, bool)
            or not isinstance(alpha, int | float | np.integer | np.floating)
            or not 0 < alpha <= 1
        ):
            raise ValueError(
                "Argument `alpha` must be in (0, 1] or a LearningRateSchedule. "
                f"Received: alpha={alpha!r}"
            )
        super().__init__(learning_rate=0.0, name=name or "lookahead")
        self.inner_optimizer = optimizer
        self.sync_period = int(sync_period)
        self.alpha = alpha if callable(alpha) else float(alpha)

    # The optimizer interface, delegated --------------------------------------

    def build(self, var_list):
        if self.built:
            return
        self.inner_optimizer.build(var_list)
        # Set to the weights at the first step (build may run inside a traced
        # function, where the weights cannot be read as initial values).
        self._slow = [
            self.add_variable_from_reference(v, name="slow") for v in var_list
        ]
        self._fast = _Weights(var_list)
        super().build(var_list)

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    def apply(self, grads, trainable_variables=None):
        if not self.built:
            if trainable_variables is None:
                raise ValueError(
                    "Lookahead.apply() needs `trainable_variables` the first time."
                )
            self.build(trainable_variables)
        variables = (
            self._fast.variables if trainable_variables is None else trainable_variables
        )
        # A copy: on TensorFlow a converted variable is still read lazily.
        step = ops.copy(ops.convert_to_tensor(self.inner_optimizer.iterations))
        first = ops.equal(step, 0)
        slows = [
            ops.where(
                first,
                ops.cast(ops.convert_to_tensor(variable), slow.dtype),
                ops.convert_to_tensor(slow),
            )
            for slow, variable in zip(self._slow, variables, strict=True)
        ]
        self.inner_optimizer.apply(grads, trainable_variables)
        done = step + 1  # steps completed after this one
        sync = ops.equal(ops.mod(done, self.sync_period), 0)
        alpha = ops.cast(self.alpha_at(done), "float32")
        for slow_variable, variable, slow in zip(
            self._slow, variables, slows, strict=True
        ):
            fast = ops.cast(ops.convert_to_tensor(variable), slow_variable.dtype)
            moved = slow + ops.cast(alpha, slow_variable.dtype) * (fast - slow)
            slow_variable.assign(ops.where(sync, moved, slow))
            variable.assign(ops.cast(ops.where(sync, moved, fast), variable.dtype))

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    # The slow weights ---------------------------------------------------------

    def alpha_at(self, step):
        """The slow step size at optimizer step `step` (a float or a schedule)."""
        if callable(self.alpha):
            return self.alpha(step)
        return ops.convert_to_tensor(self.alpha, "float32")

    def synced(self, steps):
        """Whether the fast and slow weights agree after `steps` steps."""
        return int(steps) % self.sync_period == 0

    @property
    def slow_weights(self):
        """The slow weights, as optimizer variables, in the order of the weights."""
        self._check_built()
        return list(self._slow)

    def _check_built(self):
        if not self.built:
            raise ValueError(
                "This Lookahead has no slow weights yet: compile a model with it "
                "and train."
            )

    def use_slow_weights(self):
        """Copies the slow weights into the model's weights (end of training)."""
        self._check_built()
        for slow, variable in zip(self._slow, self._fast.variables, strict=True):
            variable.assign(ops.cast(slow, variable.dtype))

    # Serialization -------------------------------------------------------------

    def get_config(self):
        alpha = self.alpha
        if callable(alpha):
            alpha = keras.optimizers.schedules.serialize(alpha)
        return {
            "name": self.name,
            "optimizer": keras.optimizers.serialize(self.inner_optimizer),
            "sync_period": self.sync_period,
            "alpha": alpha,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)  # Keras's deserialize edits its input.
        config["optimizer"] = keras.optimizers.deserialize(
            config["optimizer"], custom_objects=custom_objects
        )
        if isinstance(config["alpha"], dict):
            config["alpha"] = keras.optimizers.schedules.deserialize(
                config["alpha"], custom_objects=custom_objects
            )
        return cls(**config)
