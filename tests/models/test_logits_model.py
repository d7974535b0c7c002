"""`logits_model`: the same network on logits, so the loss is the same on
every backend (Keras clips probabilities on JAX and PyTorch)."""

import keras
import numpy as np
import pytest

import recipekit


def confident_net():
    """Logits (30, 0, -30) for the input (1, 0): class 2 has p = e^-60."""
    inputs = keras.Input((2,))
    kernel = np.array([[30.0, 0.0, -30.0], [0.0, 0.0, 0.0]], "float32")
    dense = keras.layers.Dense(
        3, kernel_initializer=keras.initializers.Constant(kernel)
    )
    outputs = keras.layers.Activation("softmax")(dense(inputs))
    return keras.Model(inputs, outputs)


def test_the_loss_on_logits_is_exact_where_clipped_probabilities_saturate():
    net = confident_net()
    x, y = np.array([[1.0, 0.0]], "float32"), np.array([2])
    logits = recipekit.models.logits_model(net)
    assert logits.get_weights()[0] is not None and len(logits.weights) == 2
    exact = float(np.log(np.exp([30.0, 0.0, -30.0]).sum()) + 30.0)  # about 60
    on_logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert float(on_logits(y, logits(x))) == pytest.approx(exact, rel=1e-6)
    # On probabilities, TensorFlow finds the logits behind the softmax; JAX
    # and PyTorch clip p to 1e-7: a loss of 16.1 with no gradient at all.
    on_probabilities = float(keras.losses.SparseCategoricalCrossentropy()(y, net(x)))
    if keras.backend.backend() == "tensorflow":
        assert on_probabilities == pytest.approx(exact, rel=1e-6)
    else:
        assert on_probabilities == pytest.approx(-np.log(1e-7), rel=1e-3)


def test_weights_are_shared_and_a_model_without_softmax_is_returned_as_is():
    net = confident_net()
    logits = recipekit.models.logits_model(net)
    net.layers[1].kernel.assign(np.zeros((2, 3), "float32"))
    np.testing.assert_array_equal(logits(np.ones((1, 2), "float32")), np.zeros((1, 3)))
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    assert recipekit.models.logits_model(plain) is plain
    inside = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, "softmax")])
    with pytest.raises(ValueError, match="softmax as a layer of its own"):
        recipekit.models.logits_model(inside)
