"""Per-step learning-rate schedules that Keras lacks."""

import keras
from keras import ops


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

    Example:

    >>> schedule = PiecewiseLinear([0, 98, 490], [0.3, 1.5, 0.0])
    >>> float(schedule(49))
    0.9
    >>> keras.optimizers.SGD(schedule, momentum=0.85, nesterov=True)
    """

    def __init__(self, steps, values):
        steps, values = [float(s) for s in steps], [float(v) for v in values]
        if len(steps) < 2 or len(steps) != len(values):
            raise ValueError(
                "Arguments `steps` and `values` must have the same length >= 2. "
                f"Received: steps={steps}, values={values}"
            )
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError(
                f"Argument `steps` must be strictly increasing. Received: {steps}"
            )
        self.steps, self.values = steps, values

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = ops.convert_to_tensor(self.values[0], "float32")
        for (s0, v0), (s1, v1) in zip(
            zip(self.steps, self.values), zip(self.steps[1:], self.values[1:])
        ):
            fraction = ops.clip((step - s0) / (s1 - s0), 0.0, 1.0)
            rate = rate + fraction * (v1 - v0)
        return rate

    def get_config(self):
        return {"steps": self.steps, "values": self.values}
