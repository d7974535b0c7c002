import keras
import numpy as np
import pytest


@pytest.fixture
def deterministic():
    # TensorFlow only here: the optimizer tests that import this module's
    # helpers run where TensorFlow is absent (the GPU machine).
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    yield
    from tensorflow.python.framework import config  # No public "disable".

    config.disable_op_determinism()


def tiny_bn_model(seed=0, logits=False):
    """Dense -> BatchNorm -> Dense softmax on 3 features, 2 classes."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4),
            keras.layers.BatchNormalization(momentum=0.8),
            keras.layers.Dense(2, activation=None if logits else "softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=logits),
        metrics=["accuracy"],
    )
    return model


def tiny_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x, y


class RecordRate(keras.callbacks.Callback):
    """Records the optimizer's learning rate at the start of every step."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))
