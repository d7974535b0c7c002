"""The one place recipekit uses Keras internals: the tf.data backend switch.

Keras runs its own preprocessing layers inside `tf.data` under any backend by
switching them to its TensorFlow implementation of `keras.ops` (the private
`DataLayer` and backend modules). There is no public way to do this, and
recipekit's augmentation needs it for the same reason: one implementation of
each op's math that runs on the device (`keras.ops`, any backend) and inside
`tf.data` (TensorFlow) while the backend is JAX or PyTorch.

Everything private is imported here and nowhere else;
tests/augment/test_backend_switch.py fails loudly when a Keras upgrade moves it.
"""

import sys

import keras
from keras.src.layers.preprocessing.data_layer import DataLayer

__all__ = ["DataLayer", "next_seed", "ops_for"]


class _TensorFlowOps:
    """`keras.ops` names, implemented by Keras's TensorFlow backend.

    Used for TensorFlow tensors (a `tf.data` map) while another backend is
    active, where `keras.ops` itself would hand them to JAX or PyTorch.
    """

    def __init__(self):
        import keras.src.backend.tensorflow as tf_backend

        self._modules = (tf_backend.numpy, tf_backend.core, tf_backend.math)
        self.image = tf_backend.image

    def __getattr__(self, name):
        for module in self._modules:
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"Keras's TensorFlow backend has no op {name!r}")


_TF_OPS = None


def _is_tf_tensor(value):
    if "tensorflow" not in sys.modules:
        return False
    import tensorflow as tf

    return tf.is_tensor(value) and not isinstance(value, keras.KerasTensor)


def ops_for(*tensors):
    """The ops namespace for these tensors: `keras.ops`, or TensorFlow's
    implementation of it for `tf.Tensor`s under another backend."""
    global _TF_OPS
    if keras.backend.backend() != "tensorflow" and any(map(_is_tf_tensor, tensors)):
        if _TF_OPS is None:
            _TF_OPS = _TensorFlowOps()
        return _TF_OPS
    return keras.ops


def next_seed(layer):
    """The next `(2,)` seed of a `DataLayer` with `seed` and `generator`
    attributes, from the generator of the backend it runs on now (Keras keeps
    a TensorFlow twin of the generator for `tf.data` under other backends)."""
    return layer._get_seed_generator(layer.backend.name).next()
