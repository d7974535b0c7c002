"""layer_decay_factors: learning rates that shrink layer by layer from the output."""

import keras
import numpy as np
import pytest

import recipekit
from recipekit.optimizers import RateFactors, layer_decay_factors


def transfer_like():
    backbone = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(5, name="d1"),
         keras.layers.BatchNormalization(name="bn1"), keras.layers.Dense(4, name="d2")],
        name="backbone",
    )  # fmt: skip
    inputs = keras.Input((6,))
    outputs = keras.layers.Dense(3, name="head")(backbone(inputs))
    return keras.Model(inputs, outputs)


def test_factors_fall_by_decay_per_kernel_layer_from_the_head():
    factors = layer_decay_factors(transfer_like(), decay=0.5)
    # The head trains at the base rate: not in the dict.
    assert factors == {"d1/": 0.25, "bn1/": 0.25, "d2/": 0.5}


def test_each_variable_steps_at_its_factor_of_the_rate():
    model = transfer_like()
    optimizer = RateFactors(keras.optimizers.SGD(0.1), layer_decay_factors(model, 0.5))
    before = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_variables}
    grads = [keras.ops.ones(v.shape) for v in model.trainable_variables]
    optimizer.apply(grads, model.trainable_variables)
    steps = {v.path: float(np.mean(before[v.path] - keras.ops.convert_to_numpy(v)))
             for v in model.trainable_variables}  # fmt: skip
    assert steps["head/kernel"] == pytest.approx(0.1)
    assert steps["backbone/d2/kernel"] == pytest.approx(0.05)
    assert steps["backbone/d1/bias"] == pytest.approx(0.025)
    assert steps["backbone/bn1/gamma"] == pytest.approx(0.025)


def test_a_decay_of_one_is_the_plain_rate_and_bad_input_is_refused():
    assert layer_decay_factors(transfer_like(), 1.0) == {}
    for decay in (0.0, 1.5, "0.5"):
        with pytest.raises(ValueError, match="`decay` must be in \\(0, 1\\]"):
            layer_decay_factors(transfer_like(), decay)
    with pytest.raises(ValueError, match="must be a built Keras model"):
        layer_decay_factors(keras.layers.Dense(2))


def test_a_path_inside_another_is_refused():
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="dense")(inputs)
    outputs = keras.layers.Dense(2, name="head_dense")(x)
    with pytest.raises(ValueError, match="'dense' also occurs in the path of"):
        layer_decay_factors(keras.Model(inputs, outputs))


def flat_model():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, name="d1"),
                             keras.layers.Dense(4, name="d2"),
                             keras.layers.Dense(3, name="head")])  # fmt: skip


@pytest.mark.parametrize("make", [flat_model, transfer_like])
def test_the_model_and_its_optimizer_state_save_and_load(tmp_path, make):
    model = make()
    factors = layer_decay_factors(model, 0.7)
    model.compile(RateFactors(keras.optimizers.AdamW(1e-3), factors), "mse")
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    model.fit(x, np.zeros((16, 3)), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.factors == pytest.approx(factors)
    state = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    again = [keras.ops.convert_to_numpy(v) for v in loaded.optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(state, again, strict=True))
    assert recipekit.optimizers.layer_decay_factors is layer_decay_factors


def test_keras_multioptimizer_cannot_reload_state_of_a_nested_model(tmp_path):
    """Why the keys are layer names: with Keras's own MultiOptimizer, a pattern
    on a nested model's full path does not load back (Keras 3.15)."""
    model = transfer_like()
    slow = keras.optimizers.AdamW(1e-5, name="slow")
    optimizer = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.AdamW(1e-3), {".*backbone/d1/.*": slow}))  # fmt: skip
    model.compile(optimizer, "mse")
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    model.fit(x, np.zeros((16, 3)), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="could not be loaded"):
        keras.saving.load_model(tmp_path / "m.keras")
