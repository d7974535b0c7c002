"""An optimizer wrapper that pulls the weights back to slow weights every k steps."""

import copy

import keras
import numpy as np
from keras import ops

from recipekit._checks import is_integer
from recipekit.optimizers._wrapper import OptimizerWrapper


@keras.saving.register_keras_serializable(package="recipekit")
class Lookahead(OptimizerWrapper):
    """Lookahead (Zhang et al., 2019): fast weights explore, slow weights follow.

    The wrapped optimizer updates the model's ("fast") weights every step.
    Every `sync_period` steps, inside the same compiled step, the slow weights
    move a fraction `alpha` of the way to the fast ones,
    `slow += alpha * (fast - slow)`, and the fast weights are reset to them.
    At the end of training, `use_averages()` puts the slow weights in the
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

    Examples:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> look = recipekit.optimizers.Lookahead(keras.optimizers.SGD(0.1), 5, 0.5)
    >>> model.compile(look, "mse")
    >>> x = np.ones((8, 3), "float32")
    >>> _ = model.fit(x, x[:, :1], batch_size=8, epochs=7, verbose=0)
    >>> int(look.iterations), look.synced(7)
    (7, False)
    >>> look.use_averages()  # the weights of step 5, the last sync
    """

    def __init__(self, optimizer, sync_period=5, alpha=0.5, name=None):
        super().__init__(optimizer, name or "lookahead")
        if not is_integer(sync_period) or sync_period < 1:
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
        self.sync_period = int(sync_period)
        self.alpha = alpha if callable(alpha) else float(alpha)

    def build_slots(self, var_list):
        self._slow = [
            self.add_variable_from_reference(v, name="slow") for v in var_list
        ]

    def apply(self, grads, trainable_variables=None):
        variables = self.weights_to_update(trainable_variables)
        step, slows = self.starting_values(self._slow, variables)
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

    def use_averages(self):
        """Copies the slow weights (Lookahead's average) into the model's
        weights, for good: the same verb as `EMA.use_averages` (and Polyak's,
        an `EMA` with `decay=None`)."""
        self._check_built()
        weights = self._wrapped_weights.variables
        for slow, variable in zip(self._slow, weights, strict=True):
            variable.assign(ops.cast(slow, variable.dtype))

    def use_slow_weights(self):
        """The former name of `use_averages`."""
        self.use_averages()

    # Serialization -------------------------------------------------------------

    def get_config(self):
        alpha = self.alpha
        if callable(alpha):
            alpha = keras.optimizers.schedules.serialize(alpha)
        return {**super().get_config(), "sync_period": self.sync_period, "alpha": alpha}
