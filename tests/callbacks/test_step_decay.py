import keras
import numpy as np
import pytest

import recipekit
from tests.callbacks.conftest import RecordRate


def _tiny_model(learning_rate=0.1):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return model


def _data(n=8):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype(
        "float32"
    )


def test_rates_per_epoch_in_logs():
    model = _tiny_model()
    history = model.fit(
        *_data(),
        batch_size=4,
        epochs=6,
        verbose=0,
        callbacks=[recipekit.callbacks.StepDecay([2, 4], factor=0.1)],
    )
    np.testing.assert_allclose(
        history.history["learning_rate"],
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001],
        rtol=1e-6,
    )


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="refused on JAX")
def test_linear_warmup_per_step():
    model = _tiny_model(0.8)
    record = RecordRate()
    model.fit(
        *_data(),
        batch_size=2,
        epochs=3,
        verbose=0,
        callbacks=[recipekit.callbacks.StepDecay([2], 0.5, warmup_epochs=2), record],
    )
    # 4 steps per epoch, 8 warm-up steps: 0.8 * k / 8, then 0.8 * 0.5 at epoch 2.
    expected = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.4, 0.4, 0.4, 0.4]
    np.testing.assert_allclose(record.rates, expected, rtol=1e-6)


def test_schedule_optimizer_is_refused_before_training():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    with pytest.raises(ValueError, match="LearningRateSchedule.*ExponentialDecay"):
        model.fit(
            *_data(),
            epochs=1,
            verbose=0,
            callbacks=[recipekit.callbacks.StepDecay([1])],
        )
    assert int(model.optimizer.iterations) == 0


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 3:
            raise RuntimeError("killed")


# Per-step warm-up from a callback is refused on JAX (see the test below).
WARMUP = 0 if keras.backend.backend() == "jax" else 1


@pytest.mark.parametrize("backup_first", [True, False])
def test_position_survives_backup_and_restore(tmp_path, backup_first):
    def callbacks(*extra):
        backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
        decay = recipekit.callbacks.StepDecay([2, 4], warmup_epochs=WARMUP)
        return [backup, decay, *extra] if backup_first else [decay, backup, *extra]

    x, y = _data()
    model = _tiny_model()
    with pytest.raises(RuntimeError, match="killed"):
        model.fit(
            x,
            y,
            batch_size=4,
            epochs=6,
            verbose=0,
            shuffle=False,
            callbacks=callbacks(Interrupt()),
        )
    resumed = _tiny_model()  # A new process: fresh model, fresh callback.
    history = resumed.fit(
        x, y, batch_size=4, epochs=6, verbose=0, shuffle=False, callbacks=callbacks()
    )
    assert history.epoch == [3, 4, 5]
    np.testing.assert_allclose(
        history.history["learning_rate"], [0.01, 0.001, 0.001], rtol=1e-6
    )
    straight = _tiny_model()
    straight.fit(
        x,
        y,
        batch_size=4,
        epochs=6,
        verbose=0,
        shuffle=False,
        callbacks=[recipekit.callbacks.StepDecay([2, 4], warmup_epochs=WARMUP)],
    )
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"boundaries": [3, 2]}, "strictly increasing.*\\[3, 2\\]"),
        ({"boundaries": [0]}, ">= 1"),
        ({"boundaries": "ab"}, "list of whole epoch numbers"),
        # Fractions were truncated ([2, 5]) and a string iterated ([1, 2]).
        ({"boundaries": [2.9, 5.9]}, "whole epoch numbers.*2.9"),
        ({"boundaries": "12"}, "whole epoch numbers.*'12'"),
        ({"boundaries": [True, 3]}, "whole epoch numbers"),
        ({"boundaries": [2], "factor": 0.0}, "factor.*\\(0, 1\\]"),
        ({"boundaries": [2], "warmup_epochs": -1}, "warmup_epochs.*>= 0"),
    ],
)
def test_argument_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        recipekit.callbacks.StepDecay(**kwargs)


def test_config_round_trip():
    decay = recipekit.callbacks.StepDecay([5, 8], factor=0.2, warmup_epochs=1)
    again = recipekit.callbacks.StepDecay(**decay.get_config())
    assert again.get_config() == {
        "boundaries": [5, 8],
        "factor": 0.2,
        "warmup_epochs": 1,
    }


def test_at_fractions_rounds_and_drops_degenerate_boundaries():
    assert recipekit.callbacks.StepDecay.at_fractions(182).boundaries == [91, 136]
    assert recipekit.callbacks.StepDecay.at_fractions(5).boundaries == [2, 4]
    assert recipekit.callbacks.StepDecay.at_fractions(1).boundaries == []
    assert recipekit.callbacks.StepDecay.at_fractions(2, (0.5, 0.75)).boundaries == [1]
    with pytest.raises(ValueError, match="fractions"):
        recipekit.callbacks.StepDecay.at_fractions(10, (0.5, 1.5))


def test_another_rate_callback_is_detected():
    clash = keras.callbacks.LearningRateScheduler(lambda epoch: 0.05)
    with pytest.raises(ValueError, match="changed the learning rate from 0.1 to 0.05"):
        _tiny_model().fit(
            *_data(), epochs=2, verbose=0,
            callbacks=[recipekit.callbacks.StepDecay([1]), clash],
        )  # fmt: skip


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_another_rate_callback_is_detected_under_mixed_precision(policy):
    # The LossScaleOptimizer that mixed_float16 adds passes the rate through.
    keras.mixed_precision.set_global_policy(policy)
    try:
        clash = keras.callbacks.LearningRateScheduler(lambda epoch: 0.05)
        with pytest.raises(ValueError, match="changed the learning rate"):
            _tiny_model().fit(
                *_data(), epochs=2, verbose=0,
                callbacks=[recipekit.callbacks.StepDecay([1]), clash],
            )  # fmt: skip
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="refused on JAX")
def test_warmup_refuses_steps_per_execution():
    model = _tiny_model()
    model.compile("sgd", "mse", steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution=2"):
        warmup = recipekit.callbacks.StepDecay([1], warmup_epochs=1)
        model.fit(*_data(), epochs=1, verbose=0, callbacks=[warmup])


def test_warmup_from_a_callback_is_refused_on_jax():
    if keras.backend.backend() != "jax":
        pytest.skip("JAX's trainer reads callback-set rates at epoch starts only")
    warmup = recipekit.callbacks.StepDecay([1], warmup_epochs=1)
    with pytest.raises(ValueError, match="recipekit.optimizers.StepDecay"):
        _tiny_model().fit(*_data(), epochs=1, verbose=0, callbacks=[warmup])


def test_the_callback_is_deprecated_for_the_schedule():
    with pytest.warns(DeprecationWarning, match="recipekit.optimizers.StepDecay"):
        recipekit.callbacks.StepDecay([2, 3])
