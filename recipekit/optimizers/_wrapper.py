"""What `EMA` and `Lookahead` share: wrapping an optimizer (as Keras's
`LossScaleOptimizer` does) and keeping state beside the weights it trains."""

import copy

import keras
from keras import ops


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Wraps a Keras optimizer and adds state that follows the weights it trains.

    The wrapped optimizer does every update; the wrapper delegates the
    learning rate, the step counter and `finalize_variable_values` to it, adds
    its own variables (created in `build_slots`) beside the wrapped one's, and
    serializes the wrapped optimizer in its config. Subclasses implement
    `build_slots(var_list)` and `apply`.
    """

    def __init__(self, optimizer, name):
        if isinstance(optimizer, dict):
            optimizer = keras.optimizers.deserialize(copy.deepcopy(optimizer))
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                "Argument `optimizer` must be a Keras optimizer instance. "
                f"Received: optimizer={optimizer!r}"
            )
        kind = type(self).__name__
        if isinstance(optimizer, type(self) | keras.optimizers.LossScaleOptimizer):
            raise ValueError(
                f"Argument `optimizer` must not be a{'n' if kind[0] in 'AEIOU' else ''}"
                f" {kind} or a LossScaleOptimizer (Keras adds the loss scaling "
                f"around the {kind} itself). Received: {type(optimizer).__name__}"
            )
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer

    def build(self, var_list):
        if self.built:
            return
        self.inner_optimizer.build(var_list)
        # The model's weights, in a holder that Keras's attribute tracking does
        # not look into (a plain list would become optimizer variables).
        self._wrapped_weights = _Weights(var_list)
        self.build_slots(var_list)
        super().build(var_list)

    def build_slots(self, var_list):
        """Creates the wrapper's own variables, one per weight."""
        raise NotImplementedError

    @property
    def variables(self):
        # The wrapper's own (Keras's public `variables`), then the inner's.
        return super().variables + self.inner_optimizer.variables

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def weights_to_update(self, trainable_variables):
        """Builds on first use; the weights this step updates."""
        if not self.built:
            if trainable_variables is None:
                raise ValueError(
                    f"{type(self).__name__}.apply() needs `trainable_variables` "
                    "the first time."
                )
            self.build(trainable_variables)
        if trainable_variables is None:
            return self._wrapped_weights.variables
        return trainable_variables

    def starting_values(self, slots, variables):
        """Each slot's value before this step; at the very first step, the weight's.

        Slots are set from the weights when the first step runs (build may run
        inside a traced function, where weights cannot be read as initial
        values). A copy of the step: on TensorFlow a converted variable is
        still read lazily.
        """
        step = ops.copy(ops.convert_to_tensor(self.inner_optimizer.iterations))
        first = ops.equal(step, 0)
        values = [
            ops.where(
                first,
                ops.cast(ops.convert_to_tensor(variable), slot.dtype),
                ops.convert_to_tensor(slot),
            )
            for slot, variable in zip(slots, variables, strict=True)
        ]
        return step, values

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.optimizers.serialize(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)  # Keras's deserialize edits its input.
        config["optimizer"] = keras.optimizers.deserialize(
            config["optimizer"], custom_objects=custom_objects
        )
        return cls(**config)


class _Weights:
    """The model's variables, held out of Keras's attribute tracking."""

    def __init__(self, variables):
        self.variables = list(variables)
