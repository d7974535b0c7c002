"""PatchWhitening(train_bias=False) and StopWhiteningBias, on every backend."""

import keras
import numpy as np
import pytest

import recipekit
from recipekit.models import PatchWhitening


def whitening_model():
    inputs = keras.Input((6, 6, 3))
    x = PatchWhitening(2, name="whitening")(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    model = keras.Model(inputs, outputs)
    images = np.random.default_rng(0).normal(size=(16, 6, 6, 3)).astype("float32")
    model.get_layer("whitening").adapt(images)
    # MultiOptimizer needs a gradient for every variable: the frozen bias gets 0.
    optimizer = keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(
            keras.optimizers.SGD(0.1),
            {".*whitening/bias": keras.optimizers.SGD(0.5, name="bias_sgd")},
        )
    )
    model.compile(optimizer, "mse")
    return model, images


def fit_recording(model, images, callbacks):
    biases, heads = [], []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda *_: (
            biases.append(np.array(model.get_layer("whitening").bias)),
            heads.append(np.array(model.get_layer("head").kernel)),
        )
    )
    targets = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
    model.fit(images, targets, batch_size=16, epochs=4, shuffle=False, verbose=0,
              callbacks=[*callbacks, record])  # fmt: skip
    return biases, heads


def test_the_bias_trains_until_the_epoch_then_stays():
    model, images = whitening_model()
    biases, heads = fit_recording(
        model, images, [recipekit.callbacks.StopWhiteningBias(2)]
    )
    assert not np.array_equal(biases[0], biases[1])  # epochs 0 and 1 train it
    np.testing.assert_array_equal(biases[1], biases[2])  # then it stays
    np.testing.assert_array_equal(biases[2], biases[3])
    assert not np.array_equal(heads[2], heads[3])  # the rest keeps training
    assert model.get_layer("whitening").train_bias is False


def test_without_the_callback_the_bias_trains_every_epoch():
    model, images = whitening_model()
    biases, _ = fit_recording(model, images, [])
    for before, after in zip(biases, biases[1:], strict=False):
        assert not np.array_equal(before, after)


def test_from_epoch_0_the_bias_never_moves_and_the_outputs_are_unchanged():
    model, images = whitening_model()
    layer = model.get_layer("whitening")
    before = np.array(layer.bias)
    plain = keras.ops.convert_to_numpy(layer(images))
    biases, _ = fit_recording(model, images, [recipekit.callbacks.StopWhiteningBias(0)])
    for bias in biases:
        np.testing.assert_array_equal(bias, before)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(images)), plain)


def test_train_bias_is_an_argument_that_round_trips_and_is_checked():
    layer = PatchWhitening(2, train_bias=False)
    assert PatchWhitening.from_config(layer.get_config()).train_bias is False
    with pytest.raises(ValueError, match="`train_bias` must be True or False"):
        PatchWhitening(2, train_bias=1)


def test_the_callback_refuses_a_model_without_whitening_and_a_bad_epoch():
    with pytest.raises(ValueError, match=r"`epoch` must be an integer >= 0"):
        recipekit.callbacks.StopWhiteningBias(-1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="found no recipekit.models.PatchWhitening"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 1)), verbose=0,
                  callbacks=[recipekit.callbacks.StopWhiteningBias(1)])  # fmt: skip
