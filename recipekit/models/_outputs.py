"""What a classifier outputs: probabilities or logits."""

import keras

from recipekit._keras_utils import ends_in_softmax


def logits_model(model):
    """The same network, outputting the logits its final softmax takes.

    Train on this with a `from_logits=True` loss: Keras 3.15 computes the
    crossentropy of probabilities differently per backend. TensorFlow finds
    the logits behind the softmax and uses them; JAX and PyTorch clip the
    probabilities to [1e-7, 1 - 1e-7] and take their log, so a sample whose
    true class falls under 1e-7 gives no gradient at all there (and a high
    learning rate early in training puts many samples there). On logits every
    backend computes the same, stable loss. The returned model shares every
    weight with `model`, which still outputs probabilities for evaluation,
    TTA and ensembles. A model without a final softmax is returned as is.

    Examples:

    >>> net = recipekit.models.cifar_resnet(8, num_classes=3)
    >>> logits = recipekit.models.logits_model(net)
    >>> x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    >>> probabilities = keras.ops.softmax(logits(x))
    >>> bool(np.allclose(probabilities, net(x), atol=1e-6))
    True
    """
    if not ends_in_softmax(model):
        return model
    last = model.layers[-1]
    if not isinstance(last, keras.layers.Softmax | keras.layers.Activation):
        raise ValueError(
            f"The softmax of {model.name!r} is inside its last layer "
            f"{last.name!r}; build the model with the softmax as a layer of its own "
            "(keras.layers.Activation('softmax')) to train it on logits."
        )
    return keras.Model(model.inputs, last.input, name=f"{model.name}_logits")
