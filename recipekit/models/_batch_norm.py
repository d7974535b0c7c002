"""Recompute BatchNorm statistics for averaged weights (SWA's `update_bn`)."""

import keras

from recipekit._sublayers import sublayers


def recompute_batch_norm(model, dataset, steps=None):
    """Recomputes every BatchNorm layer's moving mean and variance from data.

    Averaged weights (a Polyak/SWA average, or an EMA without averaged
    statistics) do not match the BatchNorm statistics collected while training
    the raw weights. This runs the model in training mode over `dataset` and
    sets each moving statistic to the plain mean of its per-batch values (what
    `torch.optim.swa_utils.update_bn` does), leaving every other weight as it
    is. Layers frozen with `trainable=False` are left alone.

    Args:
        model: a Keras model holding the weights to use (e.g. inside
            `ema.swapped()` or after `ema.use_averages()`).
        dataset: batches of inputs or `(inputs, labels)`, e.g. the training
            pipeline (augmented or not).
        steps: number of batches to use; default the whole dataset.

    Returns:
        The number of batches used.

    Examples:

    >>> ema = recipekit.optimizers.EMA(keras.optimizers.SGD(0.1), decay=None)
    >>> model.compile(ema, "sparse_categorical_crossentropy")
    >>> model.fit(train, epochs=150)
    >>> ema.use_averages()
    >>> recipekit.models.recompute_batch_norm(model, train)
    """
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ValueError(
            f"Argument `steps` must be None or an int >= 1. Received: {steps!r}"
        )
    layers = [
        layer
        for layer in sublayers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    used = 0
    try:
        for batch in dataset:
            if steps is not None and used >= steps:
                break
            inputs = batch[0] if isinstance(batch, tuple | list) else batch
            for layer in layers:
                # Cumulative mean: batch k (0-based) enters with weight 1/(k+1).
                layer.momentum = used / (used + 1)
            model(inputs, training=True)
            used += 1
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    if not used:
        raise ValueError("recompute_batch_norm() got an empty dataset.")
    return used
