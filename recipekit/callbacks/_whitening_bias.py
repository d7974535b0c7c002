"""Ending the whitening bias's training at an epoch, as airbench94_muon does."""

import keras

from recipekit._checks import check_number
from recipekit.models import PatchWhitening


def _patch_whitening_layers(model):
    found, stack = [], [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, PatchWhitening):
            found.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return found


class StopWhiteningBias(keras.callbacks.Callback):
    """From epoch `epoch` on, the model's `PatchWhitening` biases train no more.

    airbench94_muon trains its whitening bias for its first 3 epochs only, and
    from then on leaves the bias out of the backward pass. This callback does
    the same in `fit`: at the start of each epoch it sets `train_bias` on
    every `PatchWhitening` in the model (nested models included) to `epoch <
    self.epoch` and, when that changes, retraces the train step
    (`model.make_train_function(force=True)`). From `epoch` on the bias gets
    zero gradients and the backward pass ends at the layer above the
    whitening, so the gradient with respect to the whitened images is never
    computed (on 2 CPU cores, the fast CIFAR net's Muon step: see
    `benchmarks/RESULTS.md`). A run resumed past `epoch` starts frozen.

    Args:
        epoch: the first (0-based) epoch without bias training.

    Examples:

    >>> model.fit(x, y, epochs=8, callbacks=[StopWhiteningBias(3)])
    """

    def __init__(self, epoch):
        super().__init__()
        self.epoch = check_number("epoch", epoch, "[0, inf)", integer=True)

    def on_train_begin(self, logs=None):
        if not _patch_whitening_layers(self.model):
            raise ValueError(
                "StopWhiteningBias found no recipekit.models.PatchWhitening "
                f"layer in model {self.model.name!r}."
            )

    def on_epoch_begin(self, epoch, logs=None):
        train = epoch < self.epoch
        layers = _patch_whitening_layers(self.model)
        if any(layer.train_bias != train for layer in layers):
            for layer in layers:
                layer.train_bias = train
            self.model.make_train_function(force=True)
