"""What a classifier outputs: probabilities or logits."""

import keras


def ends_in_softmax(model):
    """True when the model's last layer applies a softmax (it outputs probabilities).

    TTA and snapshot ensembles average probabilities; a model for which this is
    False is taken to output logits and gets a softmax first.
    """
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return True
    return getattr(getattr(last, "activation", None), "__name__", None) == "softmax"
