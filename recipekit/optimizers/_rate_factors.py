"""Per-variable learning-rate factors on Keras's `MultiOptimizer`."""

import copy
import re

import keras

from recipekit._checks import is_number
from recipekit.optimizers._schedules import ScaledSchedule


class _Members:
    """The base optimizer and the scaled ones, in a holder Keras does not save."""

    def __init__(self, base, scaled):
        self.base, self.scaled = base, scaled


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
        scaled_members, groups, seen = {}, {}, {}
        for key, factor in factors.items():
            # Unique member names: Keras saves each optimizer's variables under
            # its name (two keys with one factor would overwrite each other).
            name = f"{config['name']}_x{factor:g}"
            seen[name] = seen.get(name, 0) + 1
            name += f"_{seen[name] - 1}" if seen[name] > 1 else ""
            scaled = dict(config, name=name)
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
        # Kept out of Keras's saving walk (which visits every attribute that is
        # an optimizer): the members are saved once, as the MultiOptimizer's.
        self._members = _Members(optimizer, scaled_members)
        self.factors = factors

    @property
    def learning_rate(self):
        return self._members.base.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._members.base.learning_rate = value
        for key, member in self._members.scaled.items():
            member.learning_rate = value * self.factors[key]

    def get_config(self):
        return {
            "optimizer": keras.optimizers.serialize(self._members.base),
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


def _leaf_layers(layer):
    """The layers that own weights themselves, input to output, nested
    models (a transfer backbone) opened."""
    inner = getattr(layer, "layers", None)
    if inner:
        for child in inner:
            yield from _leaf_layers(child)
    elif layer.trainable_weights:
        yield layer


def layer_decay_factors(model, decay=0.75):
    """Learning-rate factors that shrink with distance from the output.

    Layer-wise rate decay for fine-tuning (Howard & Ruder's discriminative
    rates; BEiT/timm's `layer_decay`): the last weighted layer trains at the
    full rate, each layer below it at `decay` times the rate of the one above,
    so early, general features move least. Depth counts the layers with a
    kernel (2-D or more) from the input; a layer with only vectors (BatchNorm,
    a bias) shares the depth of the layer before it. Nested models (a
    backbone inside a transfer model) are counted layer by layer. Use the
    result with `RateFactors`; keys are layer names, so any Keras model works.

    Args:
        model: a built Keras model.
        decay: the factor per layer of depth, in (0, 1].

    Returns:
        A dict `{layer name + "/": factor}` for `RateFactors`, without the
        layers at the full rate (the base optimizer trains them; with
        `decay=1` the dict is empty: use the optimizer as it is).

    Keys are layer names, not variable paths: Keras 3.15 names a nested
    model's variable paths late, so a path pattern that matches in the trained
    model misses in the reloaded one and its optimizer state does not load
    (tests/optimizers/test_layer_decay.py shows it with Keras's own
    `MultiOptimizer`); with names, a saved model and its optimizer reload.

    Examples:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
    ...     keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    >>> factors = layer_decay_factors(model, decay=0.5)
    >>> sorted(factors.values())
    [0.5, 0.5]
    >>> optimizer = RateFactors(keras.optimizers.AdamW(1e-3), factors)
    """
    if not is_number(decay) or not 0 < decay <= 1:
        raise ValueError(
            f"Argument `decay` must be in (0, 1]. Received: decay={decay!r}"
        )
    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError(
            "Argument `model` must be a built Keras model. Received: "
            f"{type(model).__name__}"
        )
    depths, owners, depth = {}, {}, -1
    for layer in _leaf_layers(model):
        if depth < 0 or any(len(w.shape) >= 2 for w in layer.trainable_weights):
            depth += 1
        # The layer's own name: a variable's full path can differ between a
        # model and the same model reloaded (Keras names nested paths late).
        key = f"{layer.name}/"
        depths[key] = depth
        owners[key] = {id(w) for w in layer.trainable_weights}
    for key, own in owners.items():
        others = [v.path for v in model.trainable_variables
                  if key in v.path and id(v) not in own]  # fmt: skip
        if others:
            raise ValueError(
                f"Layer name {key[:-1]!r} also occurs in the path of {others[:3]}; "
                "rename the layers so that no layer's name ends another's."
            )
    factors = {prefix: float(decay) ** (depth - d) for prefix, d in depths.items()}
    return {prefix: f for prefix, f in factors.items() if f < 1.0}
