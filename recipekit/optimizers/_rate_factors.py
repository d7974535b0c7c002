"""Per-variable learning-rate factors on Keras's `MultiOptimizer`."""

import copy
import re

import keras

from recipekit._checks import is_number
from recipekit.optimizers._schedules import ScaledSchedule


@keras.saving.register_keras_serializable(package="recipekit")
class RateFactors(keras.optimizers.MultiOptimizer):
    """Trains some variables at a multiple of the optimizer's learning rate.

    PyTorch gives parameter groups their own learning rates. Keras 3's
    `MultiOptimizer` gives groups of variables their own optimizers; this
    builds one for the common case: the same optimizer everywhere, with the
    learning rate (a float or a `LearningRateSchedule`) multiplied by a factor
    for every variable whose path contains a key of `factors`. Decoupled
    weight decay (`weight_decay=`) keeps the base rate, as in PyTorch
    parameter groups whose decay is divided by their rate; factor 0 freezes
    the variables (no decay either). The fast CIFAR recipe trains BatchNorm
    shifts at 64x the rate; transfer learning can slow a backbone down.

    `learning_rate` reads and sets the base rate (the factors follow). A
    variable must match at most one key.

    Args:
        optimizer: the base Keras optimizer (not yet used); its config is
            copied for each factor.
        factors: dict `{path substring: factor}`, factors >= 0, e.g.
            `{"_bn/beta": 64.0}` or `{"backbone/": 0.1}`.
        name: the optimizer's name.

    Examples:

    >>> sgd = keras.optimizers.SGD(0.1, momentum=0.9)
    >>> optimizer = recipekit.optimizers.RateFactors(sgd, {"/beta": 64.0})
    >>> round(float(optimizer.learning_rate), 4)
    0.1
    """

    def __init__(self, optimizer, factors, name=None):
        if isinstance(optimizer, dict):
            optimizer = keras.optimizers.deserialize(copy.deepcopy(optimizer))
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                "Argument `optimizer` must be a Keras optimizer instance. "
                f"Received: optimizer={optimizer!r}"
            )
        if not isinstance(factors, dict) or not factors:
            raise ValueError(
                "Argument `factors` must be a non-empty dict {path substring: "
                f"factor}}. Received: factors={factors!r}"
            )
        bad = {
            k: v
            for k, v in factors.items()
            if not isinstance(k, str) or not is_number(v) or not v >= 0
        }
        if bad:
            raise ValueError(
                "Argument `factors` needs string keys and numbers >= 0. "
                f"Received: {bad}"
            )
        if optimizer.built:
            raise ValueError(
                "Argument `optimizer` must not be built yet (used by a fit or "
                "apply): its variables would not be shared."
            )
        factors = {k: float(v) for k, v in factors.items()}
        config = optimizer.get_config()
        rate = config["learning_rate"]
        if isinstance(rate, dict):
            rate = keras.optimizers.schedules.deserialize(rate)
        scaled_members, groups = {}, {}
        for key, factor in factors.items():
            scaled = dict(config, name=f"{config['name']}_x{factor:g}")
            if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
                scaled["learning_rate"] = ScaledSchedule(rate, factor)
            else:
                scaled["learning_rate"] = float(rate) * factor
            if config.get("weight_decay"):
                scaled["weight_decay"] = (
                    config["weight_decay"] / factor if factor else None
                )
            member = type(optimizer).from_config(scaled)
            scaled_members[key] = member
            groups[f".*{re.escape(key)}.*"] = member
        super().__init__(keras.optimizers.OptimizerMap(optimizer, groups), name=name)
        self.base_optimizer = optimizer
        self.factors = factors
        self._scaled = scaled_members

    @property
    def learning_rate(self):
        return self.base_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.base_optimizer.learning_rate = value
        for key, member in self._scaled.items():
            member.learning_rate = value * self.factors[key]

    def get_config(self):
        return {
            "optimizer": keras.optimizers.serialize(self.base_optimizer),
            "factors": self.factors,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)  # Keras's deserialize edits its input.
        config["optimizer"] = keras.optimizers.deserialize(
            config["optimizer"], custom_objects=custom_objects
        )
        return cls(**config)
