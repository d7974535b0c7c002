"""Keras and tf.data utilities. A bottom module: imports nothing of recipekit's."""

import keras


def is_tf_dataset(value):
    """True for a `tf.data.Dataset`, without importing TensorFlow otherwise."""
    module = type(value).__module__
    return module.startswith("tensorflow") and hasattr(value, "element_spec")


def ends_in_softmax(model):
    """True when the model's last layer applies a softmax (it outputs probabilities).

    TTA and snapshot ensembles average probabilities; a model for which this is
    False is taken to output logits and gets a softmax first.
    """
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return True
    return getattr(getattr(last, "activation", None), "__name__", None) == "softmax"
