"""Freezing and unfreezing a backbone for fine-tuning, BatchNorm kept frozen."""

import keras

from recipekit._checks import is_number
from recipekit._sublayers import sublayers


def _layers(backbone):
    return sublayers(backbone, include_self=False)


def freeze(backbone):
    """Makes the whole backbone non-trainable (phase 1: train the head only).

    Examples:

    >>> recipekit.transfer.freeze(backbone)
    """
    backbone.trainable = False
    return backbone


def unfreeze(backbone, fraction=None, from_layer=None):
    """Unfreezes the top of a backbone, keeping every BatchNormalization frozen.

    Layers are counted in the backbone's order; the last `fraction` of the
    layers with weights (or every layer from the one named `from_layer`) become
    trainable. BatchNormalization layers stay `trainable=False`: with the
    backbone called as `backbone(x, training=False)` (as `transfer_model`
    does) they keep running in inference mode, so neither their moving
    statistics nor their scale and offset drift on a small dataset: the
    well-known fine-tuning pitfall (Keras issues #9214, #9965, #20285).

    Args:
        backbone: the backbone from `recipekit.models.transfer_model`.
        fraction: in (0, 1]: the share of weighted layers to unfreeze, from the
            top.
        from_layer: or the name of the first layer to unfreeze.

    Returns:
        The names of the layers made trainable.

    Examples:

    >>> recipekit.transfer.unfreeze(backbone, fraction=0.3)
    """
    if (fraction is None) == (from_layer is None):
        raise ValueError("Pass exactly one of `fraction` and `from_layer`.")
    layers = [layer for layer in _layers(backbone) if layer.weights]
    if fraction is not None:
        if not is_number(fraction) or not 0 < fraction <= 1:
            raise ValueError(
                "Argument `fraction` must be in (0, 1]. Received: "
                f"fraction={fraction!r}"
            )
        start = len(layers) - max(1, round(fraction * len(layers)))
    else:
        names = [layer.name for layer in layers]
        if from_layer not in names:
            raise ValueError(
                f"Backbone {backbone.name!r} has no weighted layer {from_layer!r}."
            )
        start = names.index(from_layer)
    backbone.trainable = True
    unfrozen = []
    for i, layer in enumerate(layers):
        trainable = i >= start and not isinstance(
            layer, keras.layers.BatchNormalization
        )
        layer.trainable = trainable
        if trainable:
            unfrozen.append(layer.name)
    return unfrozen
