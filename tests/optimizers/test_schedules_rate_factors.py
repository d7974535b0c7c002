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


def test_step_decay_schedule_with_warmup_matches_the_formula():
    schedule = recipekit.optimizers.StepDecay(0.1, [20, 30], 0.1, warmup_steps=4)
    got = [float(schedule(s)) for s in (0, 1, 3, 4, 19, 20, 29, 30, 99)]
    want = [0.025, 0.05, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    same = recipekit.optimizers.StepDecay.from_config(schedule.get_config())
    assert float(same(25)) == pytest.approx(0.01)
    fractions = recipekit.optimizers.StepDecay.at_fractions(
        0.1, epochs=10, steps_per_epoch=3, warmup_epochs=1
    )
    assert fractions.boundaries == [15, 24] and fractions.warmup_steps == 3


def test_step_decay_schedule_is_exact_with_steps_per_execution():
    if keras.backend.backend() == "torch":
        pytest.skip("Keras's PyTorch trainer runs one step per execution")
    rates = []
    for per_execution in (1, 4):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        schedule = recipekit.optimizers.StepDecay(0.1, [5, 9], warmup_steps=2)
        model.compile(
            keras.optimizers.SGD(schedule), "mse", steps_per_execution=per_execution
        )
        x = np.ones((12, 3), "float32")
        model.fit(x, x[:, 0], batch_size=1, epochs=1, verbose=0)
        optimizer = model.optimizer
        rates.append((int(optimizer.iterations), float(optimizer.learning_rate)))
    assert rates == [(12, pytest.approx(0.001)), (12, pytest.approx(0.001))]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"boundaries": [0]}, "boundaries"),
        ({"boundaries": [5, 3]}, "boundaries"),
        ({"boundaries": [2.5]}, "whole steps.*2.5"),
        ({"boundaries": "12"}, "whole steps.*'12'"),
        ({"boundaries": [5], "factor": 0}, "factor"),
        ({"boundaries": [5], "warmup_steps": -1}, "warmup_steps"),
        ({"boundaries": [5], "learning_rate": 0}, "learning_rate"),
    ],
)
def test_step_decay_schedule_argument_errors(kwargs, match):
    kwargs = {"learning_rate": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        recipekit.optimizers.StepDecay(**kwargs)


def test_rate_factor_applies_to_matching_variables_and_decay_keeps_base_rate():
    a = keras.Variable(np.ones(2), name="kernel")
    b = keras.Variable(np.ones(2), name="block_bn_beta")
    optimizer = recipekit.optimizers.RateFactors(
        keras.optimizers.SGD(0.1, momentum=0.5, weight_decay=0.1), {"bn_beta": 10.0}
    )
    ones = keras.ops.ones(2)
    for _ in range(2):
        optimizer.apply([ones, ones], [a, b])
    # Step 1: w *= 1 - 0.1 * 0.1; v = -lr * g; w += v.  Step 2: v = 0.5 v - lr g.
    np.testing.assert_allclose(a.numpy(), [0.7311, 0.7311], rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-1.5099, -1.5099], rtol=1e-6)
    assert float(optimizer.learning_rate) == pytest.approx(0.1)
    optimizer.learning_rate = 0.05
    assert [float(o.learning_rate) for o in optimizer.optimizers] == pytest.approx(
        [0.5, 0.05]
    )


def test_rate_factors_scale_a_schedule_and_round_trip():
    schedule = recipekit.optimizers.PiecewiseLinear([0, 10], [1.0, 0.0])
    optimizer = recipekit.optimizers.RateFactors(
        keras.optimizers.SGD(schedule), {"/beta": 64.0}
    )
    fast = optimizer.optimizers[0]
    assert float(fast.learning_rate) == pytest.approx(64.0)
    same = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(same, recipekit.optimizers.RateFactors)
    assert same.factors == {"/beta": 64.0}
    assert float(same.optimizers[0].learning_rate) == pytest.approx(64.0)


def test_factor_zero_freezes_a_layer_inside_fit():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(1)]
    )
    frozen = model.get_layer("a").get_weights()
    trained = model.layers[1].get_weights()[0]
    optimizer = recipekit.optimizers.RateFactors(
        keras.optimizers.Adam(0.01), {"a/": 0.0}
    )
    model.compile(optimizer, "mse")
    x = np.random.default_rng(0).normal(size=(32, 3))
    model.fit(x, x.sum(1), epochs=2, verbose=0)
    for before, after in zip(frozen, model.get_layer("a").get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(model.layers[1].get_weights()[0], trained)


def test_rate_factors_are_checked():
    with pytest.raises(ValueError, match="non-empty dict"):
        recipekit.optimizers.RateFactors(keras.optimizers.SGD(), {})
    with pytest.raises(ValueError, match=">= 0"):
        recipekit.optimizers.RateFactors(keras.optimizers.SGD(), {"a": -1})
    with pytest.raises(TypeError, match="optimizer"):
        recipekit.optimizers.RateFactors("sgd", {"a": 2.0})
    optimizer = keras.optimizers.SGD()
    optimizer.build([keras.Variable(np.ones(2))])
    with pytest.raises(ValueError, match="not be built"):
        recipekit.optimizers.RateFactors(optimizer, {"a": 2.0})


@pytest.mark.tf_only
def test_rate_factors_under_mirrored_strategy():
    # Logical devices must be set before TensorFlow starts: a fresh process.
    report = run_child(
        os.path.join(os.path.dirname(__file__), "mirrored_multipliers_child.py")
    )
    assert report["replicas"] == 2
    assert report["frozen_change"] == 0.0
    assert report["plain_change"] > 1e-3


def test_step_decay_rate_in_numpy_equals_the_schedule():
    schedule = recipekit.optimizers.StepDecay(0.1, [100, 150], warmup_steps=10)
    for step in (0, 5, 9, 99, 100, 149, 150, 400):
        assert schedule.rate(step) == pytest.approx(float(schedule(step)), rel=1e-6)
