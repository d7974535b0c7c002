"""Exponential moving average (and Polyak average) of a model's weights."""

import contextlib

import keras
import numpy as np
import tensorflow as tf

from recipekit.callbacks import _state


class EMA(keras.callbacks.Callback):
    """Keeps an exponential (or plain Polyak) moving average of the weights.

    After every training step, in the compiled train step itself,
    `shadow = decay * shadow + (1 - decay) * weights`, starting from the weights
    at the start of training. With `warmup`, the decay used at update `t` is
    `min(decay, (1 + t) / (10 + t))`, so early, poor weights are forgotten fast.
    With `decay=None` the shadow is the plain running mean of the weights since
    `start_epoch` (Polyak and Juditsky, 1992; stochastic weight averaging).

    What Keras lacks, and this does: `optimizer(use_ema=True)` averages
    trainable variables only and overwrites the model at the end of `fit`. Here
    BatchNorm moving statistics are averaged too (`average_non_trainable`),
    validation inside `fit` runs on the averaged weights (its `val_*` logs are
    the EMA model's), the model keeps its raw weights after `fit`, and the
    averages survive a killed run with `recipekit.callbacks.BackupAndRestore`.
    The update is in-graph, so it is exact with `steps_per_execution > 1` and
    runs under `MirroredStrategy`.

    Use the averages with `ema.swapped(model)` (a context manager for
    evaluate/predict/save) or `ema.apply(model)` (copy them in for good). After
    `decay=None` averaging, BatchNorm statistics of the average are best
    recomputed: `recompute_batch_norm(model, train)`.

    Args:
        decay: in (0, 1), e.g. 0.999; or None for the running mean.
        warmup: ramp the decay up as `min(decay, (1 + t) / (10 + t))`.
        average_non_trainable: average BatchNorm moving statistics (and other
            float non-trainable weights) too.
        start_epoch: epoch (0-based) at which averaging starts; before it the
            shadow follows the weights.

    Example:

    >>> ema = recipekit.callbacks.EMA(decay=0.999)
    >>> model.fit(train, epochs=30, validation_data=test, callbacks=[ema])
    >>> with ema.swapped(model):
    ...     model.save("ema.keras")
    """

    def __init__(
        self, decay=0.999, warmup=True, average_non_trainable=True, start_epoch=0
    ):
        super().__init__()
        if decay is not None and (
            isinstance(decay, bool)
            or not isinstance(decay, int | float)
            or not 0 < decay < 1
        ):
            raise ValueError(
                f"Argument `decay` must be in (0, 1), or None for a running mean. "
                f"Received: decay={decay!r}"
            )
        if not isinstance(start_epoch, int) or start_epoch < 0:
            raise ValueError(
                "Argument `start_epoch` must be an integer >= 0. Received: "
                f"start_epoch={start_epoch!r}"
            )
        self.decay = None if decay is None else float(decay)
        self.warmup = bool(warmup)
        self.average_non_trainable = bool(average_non_trainable)
        self.start_epoch = start_epoch
        self._pairs = None
        self._owner = None
        self._restored = False
        self._original_train_step = None

    # Variables ---------------------------------------------------------------

    def _averaged_weights(self, model):
        return [
            w
            for w in model.weights
            if w.trainable or (self.average_non_trainable and "float" in str(w.dtype))
        ]

    def _create(self, model):
        if self._owner is model and self._pairs is not None:
            return
        with model.distribute_strategy.scope():

            def variable(value, dtype=None):
                return tf.Variable(
                    value,
                    dtype=dtype,
                    trainable=False,
                    synchronization=tf.VariableSynchronization.ON_WRITE,
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                )

            weights = self._averaged_weights(model)
            self._pairs = [(variable(tf.convert_to_tensor(w)), w) for w in weights]
            self._count = variable(0, tf.int64)
            self._active = variable(0.0, tf.float32)
        self._owner = model

    @property
    def shadow_weights(self):
        """The averaged values, as numpy arrays, in `model.weights` order."""
        if self._pairs is None:
            raise ValueError("EMA has no averages yet: train with it first.")
        return [s.numpy() for s, _ in self._pairs]

    def _update(self):
        """One averaging step (called inside the train step, in-graph)."""
        count = tf.cast(self._count, tf.float32)
        if self.decay is None:
            rate = 1.0 / (count + 1.0)
        else:
            decay = tf.constant(self.decay, tf.float32)
            if self.warmup:
                decay = tf.minimum(decay, (1.0 + count) / (10.0 + count))
            rate = 1.0 - decay
        active = self._active
        rate = active * rate + (1.0 - active)  # Inactive: the shadow follows.
        for shadow, weight in self._pairs:
            value = tf.cast(tf.convert_to_tensor(weight), shadow.dtype)
            shadow.assign(shadow + tf.cast(rate, shadow.dtype) * (value - shadow))
        self._count.assign(tf.cast(active, tf.int64) * (self._count + 1))

    @tf.function
    def _swap(self):
        for shadow, weight in self._pairs:
            raw = tf.identity(tf.convert_to_tensor(weight))
            weight.assign(tf.cast(shadow, weight.dtype))
            shadow.assign(tf.cast(raw, shadow.dtype))

    def _copy_in(self):
        for shadow, weight in self._pairs:
            weight.assign(tf.cast(shadow, weight.dtype))

    def _reset(self):
        for shadow, weight in self._pairs:
            shadow.assign(tf.cast(tf.convert_to_tensor(weight), shadow.dtype))
        self._count.assign(0)

    # Public use --------------------------------------------------------------

    def _check_model(self, model):
        model = model or self._owner
        if self._pairs is None or model is not self._owner:
            raise ValueError(
                "This EMA holds averages of another model (or none yet); pass the "
                "model it was trained with."
            )
        return model

    @contextlib.contextmanager
    def swapped(self, model=None):
        """Context manager: the model holds the averaged weights inside it."""
        self._check_model(model)
        self._swap()
        try:
            yield self._owner
        finally:
            self._swap()

    def apply(self, model=None):
        """Copies the averaged weights into the model for good."""
        self._check_model(model)
        self._copy_in()

    # Keras hooks -------------------------------------------------------------

    def set_model(self, model):
        super().set_model(model)
        _state.register(model, self)

    def on_train_begin(self, logs=None):
        model = self.model
        self._create(model)
        if not self._restored:
            self._reset()
        # Put the update into the compiled train step: exact per step, also with
        # steps_per_execution > 1, and in replica context under a strategy.
        self._original_train_step = model.train_step
        original = self._original_train_step

        def train_step(data):
            logs = original(data)
            self._update()
            return logs

        model.train_step = train_step
        model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._active.assign(1.0 if epoch >= self.start_epoch else 0.0)

    def on_test_begin(self, logs=None):
        if self._pairs is not None and self.model is self._owner:
            self._swap()

    def on_test_end(self, logs=None):
        if self._pairs is not None and self.model is self._owner:
            self._swap()

    def on_train_end(self, logs=None):
        if self._original_train_step is not None:
            del self.model.train_step  # Back to the class's own method.
            self.model.train_function = None
            self._original_train_step = None
        self._restored = False
        _state.unregister(self.model, self)

    # State for BackupAndRestore ---------------------------------------------

    def get_state(self):
        state = {f"shadow_{i}": s.numpy() for i, (s, _) in enumerate(self._pairs)}
        state["count"] = np.asarray(self._count.numpy())
        state["active"] = np.asarray(self._active.numpy())
        return state

    def set_state(self, state):
        self._create(self.model)
        for i, (shadow, _) in enumerate(self._pairs):
            value = state[f"shadow_{i}"]
            if value.shape != tuple(shadow.shape):
                raise ValueError(
                    f"The EMA backup does not match the model: shadow {i} has shape "
                    f"{value.shape}, the weight {tuple(shadow.shape)}."
                )
            shadow.assign(value)
        self._count.assign(int(state["count"]))
        self._active.assign(float(state["active"]))
        self._restored = True

    def get_config(self):
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "average_non_trainable": self.average_non_trainable,
            "start_epoch": self.start_epoch,
        }
