"""The shared part of callbacks that set the learning rate themselves."""

import keras
import numpy as np


class LearningRateController(keras.callbacks.Callback):
    """Sets the optimizer's learning rate and notices anyone else doing it.

    Refuses an optimizer whose learning rate is a `LearningRateSchedule` (a
    callback cannot set it; use the schedule itself), and raises if another
    callback (Keras's `LearningRateScheduler`, `ReduceLROnPlateau`, a second
    controller) changed the rate since this one last set it. Everything goes
    through the optimizer's public `learning_rate`, which Keras's
    `LossScaleOptimizer` and recipekit's wrappers pass on to the optimizer they
    wrap. The check reads the rate back once per epoch, not every step: on an
    accelerator each read is a device sync.
    """

    def __init__(self):
        super().__init__()
        self._last_set = None  # The rate as the optimizer holds it (its dtype).
        self._set_this_fit = False

    def _check_optimizer(self, model):
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            return None
        if not isinstance(optimizer.learning_rate, keras.Variable):
            rate = optimizer.get_config().get("learning_rate")
            name = rate.get("class_name", "") if isinstance(rate, dict) else ""
            raise ValueError(
                f"{type(self).__name__} sets the learning rate itself, but the "
                f"optimizer was compiled with a LearningRateSchedule ({name}). "
                "Compile with "
                "a float learning rate, e.g. SGD(learning_rate=0.1), or use the "
                "schedule alone (recipekit.optimizers.StepDecay)."
            )
        return optimizer

    def _current(self):
        return float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def _check_untouched(self, batch):
        if batch != 0 or not self._set_this_fit:
            return
        if self._current() != self._last_set:
            raise ValueError(
                f"Another callback changed the learning rate from {self._last_set:g} "
                f"to {self._current():g} while {type(self).__name__} controls it. Use "
                "one learning-rate callback at a time (remove LearningRateScheduler, "
                "ReduceLROnPlateau or StepDecay duplicates)."
            )

    def _set(self, rate):
        optimizer = self.model.optimizer
        optimizer.learning_rate = rate
        # What the variable now holds, rounded to its dtype, without a read.
        dtype = optimizer.learning_rate.dtype
        self._last_set = float(np.asarray(rate, dtype=dtype))
        self._set_this_fit = True

    def on_train_begin(self, logs=None):
        self._set_this_fit = False
