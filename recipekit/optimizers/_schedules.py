"""Per-step learning-rate schedules that Keras lacks."""

import itertools
import math

import keras
import numpy as np
from keras import ops

from recipekit._checks import is_integer


def decay_epochs(epochs, fractions):
    """Epochs nearest `fractions` of a run, without epoch 0 or the run's end."""
    if any(not 0 < f < 1 for f in fractions):
        raise ValueError(
            "Argument `fractions` must be numbers in (0, 1). Received: "
            f"fractions={fractions!r}"
        )
    rounded = {round(f * epochs) for f in fractions}
    return sorted(b for b in rounded if 1 <= b < epochs)


def check_boundaries(boundaries, unit):
    """`boundaries` as strictly increasing whole numbers >= 1, or a ValueError.

    Whole numbers only: `int(2.9)` would silently be 2, and the string "12"
    iterates as [1, 2]. `unit` ("steps", "epoch numbers") is for the message.
    """

    def whole(b):
        if isinstance(b, bool):
            return False
        if isinstance(b, int | np.integer):
            return True
        return isinstance(b, float | np.floating) and float(b).is_integer()

    try:
        values = None if isinstance(boundaries, str | bytes) else list(boundaries)
    except TypeError:
        values = None
    if values is None or not all(whole(b) for b in values):
        raise ValueError(
            f"Argument `boundaries` must be a list of whole {unit}. Received: "
            f"boundaries={boundaries!r}"
        )
    values = [int(b) for b in values]
    if any(b < 1 for b in values) or values != sorted(set(values)):
        raise ValueError(
            f"Argument `boundaries` must be strictly increasing {unit} >= 1. "
            f"Received: boundaries={boundaries!r}"
        )
    return values


@keras.saving.register_keras_serializable(package="recipekit")
class PiecewiseLinear(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate interpolated linearly between (step, value) points.

    The triangular and one-cycle schedules of the fast recipes are three points
    (`PiecewiseLinear([0, 0.2 * T, T], [0.2 * peak, peak, 0])`); Keras has
    piecewise-constant and polynomial decays but nothing that warms up and
    decays linearly. Before the first point and after the last the rate holds.

    Args:
        steps: increasing optimizer steps (ints or floats), at least two.
        values: the learning rate at each step.

    Examples:

    >>> schedule = PiecewiseLinear([0, 98, 490], [0.3, 1.5, 0.0])
    >>> round(float(schedule(49)), 4)
    0.9
    >>> optimizer = keras.optimizers.SGD(schedule, momentum=0.85, nesterov=True)
    """

    def __init__(self, steps, values):
        steps, values = [float(s) for s in steps], [float(v) for v in values]
        if len(steps) < 2 or len(steps) != len(values):
            raise ValueError(
                "Arguments `steps` and `values` must have the same length >= 2. "
                f"Received: steps={steps}, values={values}"
            )
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(
                f"Argument `steps` must be strictly increasing. Received: {steps}"
            )
        if not all(math.isfinite(x) for x in (*steps, *values)):
            raise ValueError(
                "Arguments `steps` and `values` must be finite numbers. Received: "
                f"steps={steps}, values={values}"
            )
        self.steps, self.values = steps, values

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = ops.convert_to_tensor(self.values[0], "float32")
        points = zip(self.steps, self.values, strict=True)
        for (s0, v0), (s1, v1) in itertools.pairwise(points):
            fraction = ops.clip((step - s0) / (s1 - s0), 0.0, 1.0)
            rate = rate + fraction * (v1 - v0)
        return rate

    def get_config(self):
        return {"steps": self.steps, "values": self.values}


@keras.saving.register_keras_serializable(package="recipekit")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Step decay with an optional linear warm-up, per optimizer step.

    The classic CIFAR ResNet schedule (He et al., 2016) divides the rate by 10
    at 50% and 75% of training; warm-up raises it linearly over the first
    steps, `rate * (step + 1) / warmup_steps` (Goyal et al., 2017). Keras's
    `PiecewiseConstantDecay` has no warm-up. Driven by `optimizer.iterations`,
    so it is exact with `steps_per_execution > 1` and resumes with the
    optimizer.

    Args:
        learning_rate: the rate before the first boundary.
        boundaries: strictly increasing optimizer steps at which the rate is
            multiplied by `factor`.
        factor: multiplier at each boundary, in (0, 1].
        warmup_steps: steps of linear warm-up, >= 0.

    Examples:

    >>> schedule = StepDecay(0.1, [100, 150], factor=0.1, warmup_steps=10)
    >>> print([round(float(schedule(s)), 4) for s in (0, 9, 99, 100, 150)])
    [0.01, 0.1, 0.1, 0.01, 0.001]
    """

    def __init__(self, learning_rate, boundaries, factor=0.1, warmup_steps=0):
        if isinstance(learning_rate, bool) or not learning_rate > 0:
            raise ValueError(
                f"Argument `learning_rate` must be > 0. Received: {learning_rate!r}"
            )
        boundaries = check_boundaries(boundaries, "steps")
        if not 0 < factor <= 1:
            raise ValueError(
                f"Argument `factor` must be in (0, 1]. Received: factor={factor!r}"
            )
        if not is_integer(warmup_steps):
            raise ValueError(
                "Argument `warmup_steps` must be an integer >= 0. Received: "
                f"warmup_steps={warmup_steps!r}"
            )
        if warmup_steps < 0:
            raise ValueError(
                "Argument `warmup_steps` must be an integer >= 0. Received: "
                f"warmup_steps={warmup_steps!r}"
            )
        self.learning_rate = float(learning_rate)
        self.boundaries = boundaries
        self.factor = float(factor)
        self.warmup_steps = warmup_steps

    @classmethod
    def at_fractions(
        cls,
        learning_rate,
        epochs,
        steps_per_epoch,
        fractions=(0.5, 0.75),
        factor=0.1,
        warmup_epochs=0,
    ):
        """Decays at the start of the epochs nearest `fractions` of the run.

        Boundaries are rounded to whole epochs; those that fall on epoch 0 or
        at the end of the run are dropped, so short runs stay valid.

        Examples:

        >>> StepDecay.at_fractions(0.1, epochs=182, steps_per_epoch=391).boundaries
        [35581, 53176]
        """
        for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
            if not is_integer(value) or value < 1:
                raise ValueError(
                    f"Argument `{name}` must be a positive integer. Received: "
                    f"{name}={value!r}"
                )
        epochs_at = decay_epochs(epochs, fractions)
        return cls(
            learning_rate,
            [b * steps_per_epoch for b in epochs_at],
            factor=factor,
            warmup_steps=warmup_epochs * steps_per_epoch,
        )

    def __call__(self, step):
        return self.rate(ops.cast(step, "float32"), ops)

    def rate(self, step, xp=np):
        """The rate at `step`: with `keras.ops` inside the optimizer, with
        NumPy (the default) in plain Python, as the StepDecay callback uses it
        once per step without a tensor round trip. One formula for both."""
        drops = 0.0
        for boundary in self.boundaries:
            drops = drops + xp.where(step >= boundary, 1.0, 0.0)
        rate = self.learning_rate * xp.power(self.factor, drops)
        if self.warmup_steps:
            rate = rate * xp.minimum(1.0, (step + 1.0) / self.warmup_steps)
        return rate

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "boundaries": self.boundaries,
            "factor": self.factor,
            "warmup_steps": self.warmup_steps,
        }


@keras.saving.register_keras_serializable(package="recipekit")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning-rate schedule multiplied by a constant factor.

    What `RateFactors` gives the variables it speeds up or slows down.

    Args:
        schedule: a `LearningRateSchedule` (or its serialized config).
        factor: the multiplier, >= 0.

    Examples:

    >>> float(ScaledSchedule(PiecewiseLinear([0, 10], [1.0, 0.0]), 64.0)(5))
    32.0
    """

    def __init__(self, schedule, factor):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise TypeError(
                "Argument `schedule` must be a LearningRateSchedule. Received: "
                f"schedule={schedule!r}"
            )
        if isinstance(factor, bool) or not factor >= 0:
            raise ValueError(f"Argument `factor` must be >= 0. Received: {factor!r}")
        self.schedule = schedule
        self.factor = float(factor)

    def __call__(self, step):
        return self.schedule(step) * self.factor

    def get_config(self):
        return {
            "schedule": keras.optimizers.schedules.serialize(self.schedule),
            "factor": self.factor,
        }
