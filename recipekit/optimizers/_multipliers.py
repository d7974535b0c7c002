"""Per-variable learning-rate multipliers for any Keras optimizer."""


def scale_learning_rates(optimizer, multipliers):
    """Multiplies the learning rate of some variables by a constant factor.

    PyTorch gives parameter groups their own learning rates; Keras 3 has one
    rate per optimizer. This patches `optimizer.update_step`, so every variable
    whose path contains a key of `multipliers` is updated with
    `factor * learning_rate` (first matching key wins). Decoupled weight decay
    (`weight_decay=`) keeps the base rate, as in PyTorch parameter groups whose
    decay is divided by their rate. The fast CIFAR recipe trains BatchNorm
    shifts at 64x the rate; transfer learning can slow a backbone down the
    same way.

    The factors live on the optimizer object, not in its config: rebuild them
    with this function after loading a model to train it further.

    Args:
        optimizer: a Keras optimizer, not yet used.
        multipliers: dict `{path substring: factor}`, factors >= 0, e.g.
            `{"_bn/beta": 64.0}` or `{"backbone/": 0.1}`.

    Returns:
        The same optimizer.

    Example:

    >>> opt = keras.optimizers.SGD(0.1, momentum=0.9)
    >>> opt = recipekit.optimizers.scale_learning_rates(opt, {"/beta": 64.0})
    """
    if not isinstance(multipliers, dict) or not multipliers:
        raise ValueError(
            "Argument `multipliers` must be a non-empty dict {path substring: "
            f"factor}}. Received: multipliers={multipliers!r}"
        )
    bad = {k: v for k, v in multipliers.items() if not isinstance(k, str) or v < 0}
    if bad:
        raise ValueError(
            "Argument `multipliers` needs string keys and factors >= 0. "
            f"Received: {bad}"
        )
    if getattr(optimizer, "built", False):
        raise ValueError(
            "scale_learning_rates() must be called before the optimizer is built "
            "(before the first fit/apply)."
        )
    update_step = optimizer.update_step

    def factor(variable):
        path = optimizer._trainable_variables[
            optimizer._get_variable_index(variable)
        ].path
        return next((f for key, f in multipliers.items() if key in path), 1.0)

    def scaled_update_step(gradient, variable, learning_rate):
        scale = factor(variable)
        if scale != 1.0:
            learning_rate = learning_rate * scale
        return update_step(gradient, variable, learning_rate)

    optimizer.update_step = scaled_update_step
    return optimizer
