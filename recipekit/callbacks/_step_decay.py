"""Step learning-rate decay with optional linear warm-up, as in the ResNet paper."""

import warnings

import keras

from recipekit._checks import is_number
from recipekit.callbacks._lr_control import LearningRateController
from recipekit.optimizers import StepDecay as StepDecaySchedule


class StepDecay(LearningRateController):
    """Multiplies the learning rate by `factor` at each epoch in `boundaries`.

    The classic CIFAR ResNet schedule (He et al., 2016) divides the learning
    rate by 10 at 50% and 75% of training. Optional linear warm-up raises the
    rate from `base / warmup_steps` to `base` step by step over the first
    `warmup_epochs` epochs (Goyal et al., 2017). Keras's
    `LearningRateScheduler` acts once per epoch only, so it cannot warm up per
    step. The schedule `recipekit.optimizers.StepDecay` does the same from
    inside the optimizer and is the better choice; this callback is for an
    optimizer compiled with a float rate. Warm-up sets the rate per step, so
    it refuses `steps_per_execution > 1` (it would see every n-th step only)
    and Keras's JAX backend (whose trainer reads the rate at epoch starts).

    The base rate is the optimizer's learning rate when `fit` starts. The rate
    is a pure function of (epoch, step), so a run resumed by
    `keras.callbacks.BackupAndRestore` continues at the right rate. The rate of
    each epoch is written into the logs as `learning_rate`.

    Args:
        boundaries: increasing epoch indices (0-based) at which the rate is
            multiplied by `factor`, e.g. `[91, 136]` for 182 epochs.
        factor: multiplier applied at each boundary, in (0, 1].
        warmup_epochs: epochs of per-step linear warm-up, >= 0.

    Examples:

    >>> model.compile(keras.optimizers.SGD(0.1, momentum=0.9), ...)
    >>> model.fit(train, epochs=182, callbacks=[StepDecay([91, 136])])
    """

    def __init__(self, boundaries, factor=0.1, warmup_epochs=0):
        super().__init__()
        warnings.warn(
            "recipekit.callbacks.StepDecay is deprecated and will be removed: "
            "use the schedule recipekit.optimizers.StepDecay (or its "
            "at_fractions), which steps inside the optimizer on every backend.",
            DeprecationWarning,
            stacklevel=2,
        )
        try:  # the schedule's checks, in epochs
            boundaries = StepDecaySchedule(1.0, boundaries).boundaries
        except ValueError as error:
            raise ValueError(str(error).replace("steps", "epoch numbers")) from None
        if not is_number(factor) or not (0 < factor <= 1):
            raise ValueError(
                f"Argument `factor` must be in (0, 1]. Received: factor={factor!r}"
            )
        if not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(
                "Argument `warmup_epochs` must be an integer >= 0. Received: "
                f"warmup_epochs={warmup_epochs!r}"
            )
        self.boundaries = boundaries
        self.factor = float(factor)
        self.warmup_epochs = warmup_epochs
        self.base_learning_rate = None
        self._epoch = 0
        self._steps = None

    @classmethod
    def at_fractions(cls, epochs, fractions=(0.5, 0.75), factor=0.1, warmup_epochs=0):
        """Decays at fractions of a run of `epochs` epochs (ResNet: 50% and 75%).

        Boundaries are rounded to whole epochs; those that fall on epoch 0 or at
        the end of the run are dropped, so short runs stay valid.

        Examples:

        >>> recipekit.callbacks.StepDecay.at_fractions(182).boundaries
        [91, 136]
        """
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(
                f"Argument `epochs` must be a positive integer. Received: {epochs!r}"
            )
        boundaries = StepDecaySchedule.at_fractions(1.0, epochs, 1, fractions)
        return cls(boundaries.boundaries, factor=factor, warmup_epochs=warmup_epochs)

    def learning_rate(self, epoch, step=None):
        """The rate at `epoch` (0-based), after `step` steps of it if warming up.

        The schedule `recipekit.optimizers.StepDecay` computes it (its
        `rate`, in NumPy: no tensor per step), in steps (epochs when the
        number of steps per epoch is unknown): one formula for both.
        """
        steps = self._steps or 1
        warmup = self.warmup_epochs * steps if step is not None else 0
        key = (self.base_learning_rate, steps, warmup)
        if getattr(self, "_schedule_key", None) != key:  # once per fit, not per step
            self._schedule = StepDecaySchedule(
                self.base_learning_rate,
                [b * steps for b in self.boundaries],
                self.factor,
                warmup_steps=warmup,
            )
            self._schedule_key = key
        return float(self._schedule.rate(epoch * steps + (step or 0)))

    def set_model(self, model):
        # Called when `fit` starts, before any `on_train_begin` (so before
        # BackupAndRestore restores the optimizer): the rate seen here is the
        # one the user compiled with, unless this callback set it last.
        super().set_model(model)
        if self._check_optimizer(model) is None:
            return
        current = self._current()
        if self.base_learning_rate is None or current != self._last_set:
            self.base_learning_rate = current

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._steps = self.params.get("steps")
        if self.warmup_epochs and keras.backend.backend() == "jax":
            raise ValueError(
                "StepDecay warms up per step from a callback, which Keras's JAX "
                "trainer only reads at epoch starts. Use the schedule "
                "recipekit.optimizers.StepDecay(..., warmup_steps=...) instead."
            )
        per_execution = getattr(self.model, "steps_per_execution", 1) or 1
        if self.warmup_epochs and per_execution > 1:
            raise ValueError(
                f"StepDecay warms up per step, but the model runs "
                f"steps_per_execution={per_execution} steps between callbacks. "
                "Use the schedule recipekit.optimizers.StepDecay instead."
            )
        if self.warmup_epochs and not self._steps:
            raise ValueError(
                "StepDecay with warmup_epochs > 0 needs the number of steps per "
                "epoch; pass `steps_per_epoch` to fit or use a dataset of known "
                "size."
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._set(self.learning_rate(epoch, 0 if epoch < self.warmup_epochs else None))

    def on_train_batch_begin(self, batch, logs=None):
        self._check_untouched(batch)
        if self._epoch < self.warmup_epochs:
            self._set(self.learning_rate(self._epoch, batch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self._last_set

    def get_config(self):
        return {
            "boundaries": self.boundaries,
            "factor": self.factor,
            "warmup_epochs": self.warmup_epochs,
        }
