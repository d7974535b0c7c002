import os

import keras
import numpy as np
import pytest

import recipekit
from tests.conftest import run_child


def test_piecewise_linear_interpolates_and_holds_at_the_ends():
    schedule = recipekit.optimizers.PiecewiseLinear([0, 10, 50], [0.2, 1.0, 0.0])
    got = [float(schedule(step)) for step in (0, 5, 10, 30, 50, 80)]
    np.testing.assert_allclose(got, [0.2, 0.6, 1.0, 0.5, 0.0, 0.0], atol=1e-7)
    restored = recipekit.optimizers.PiecewiseLinear.from_config(schedule.get_config())
    assert float(restored(5)) == pytest.approx(0.6)
    optimizer = keras.optimizers.SGD(schedule)
    round_trip = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert float(round_trip.learning_rate) == pytest.approx(0.2)


@pytest.mark.parametrize(
    "steps, values, message",
    [([0], [1.0], "length"), ([0, 1], [1.0], "length"), ([0, 5, 5], [1, 2, 3], "incr")],
)
def test_piecewise_linear_rejects_bad_points(steps, values, message):
    with pytest.raises(ValueError, match=message):
        recipekit.optimizers.PiecewiseLinear(steps, values)


def test_multiplied_rate_applies_to_matching_variables_and_decay_keeps_base_rate():
    a = keras.Variable(np.ones(2), name="kernel")
    b = keras.Variable(np.ones(2), name="block_bn_beta")
    optimizer = keras.optimizers.SGD(0.1, momentum=0.5, weight_decay=0.1)
    recipekit.optimizers.scale_learning_rates(optimizer, {"bn_beta": 10.0})
    for _ in range(2):
        optimizer.apply([np.ones(2), np.ones(2)], [a, b])
    # Step 1: w *= 1 - 0.1 * 0.1; v = -lr * g; w += v.  Step 2: v = 0.5 v - lr g.
    np.testing.assert_allclose(a.numpy(), [0.7311, 0.7311], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-1.5099, -1.5099], rtol=1e-6)


def test_multiplier_zero_freezes_a_layer_inside_fit():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(1)]
    )
    frozen = model.get_layer("a").get_weights()
    trained = model.layers[1].get_weights()[0]
    optimizer = recipekit.optimizers.scale_learning_rates(
        keras.optimizers.Adam(0.01), {"a/": 0.0}
    )
    model.compile(optimizer, "mse")
    x = np.random.default_rng(0).normal(size=(32, 3))
    model.fit(x, x.sum(1), epochs=2, verbose=0)
    for before, after in zip(frozen, model.get_layer("a").get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(model.layers[1].get_weights()[0], trained)


def test_multipliers_are_checked():
    with pytest.raises(ValueError, match="non-empty dict"):
        recipekit.optimizers.scale_learning_rates(keras.optimizers.SGD(), {})
    with pytest.raises(ValueError, match=">= 0"):
        recipekit.optimizers.scale_learning_rates(keras.optimizers.SGD(), {"a": -1})
    optimizer = keras.optimizers.SGD()
    optimizer.build([keras.Variable(np.ones(2))])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        recipekit.optimizers.scale_learning_rates(optimizer, {"a": 2.0})


def test_multipliers_under_mirrored_strategy():
    # Logical devices must be set before TensorFlow starts: a fresh process.
    report = run_child(
        os.path.join(os.path.dirname(__file__), "mirrored_multipliers_child.py")
    )
    assert report["replicas"] == 2
    assert report["frozen_change"] == 0.0
    assert report["plain_change"] > 1e-3
