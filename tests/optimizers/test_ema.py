import os

import keras
import numpy as np
import pytest

import recipekit
from tests.callbacks.conftest import tiny_bn_model, tiny_data
from tests.conftest import run_child


class RecordWeights(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.steps = [[np.array(w) for w in self.model.trainable_weights]]

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([np.array(w) for w in self.model.trainable_weights])


def reference_ema(steps, decay, warmup=True, start=0):
    average = [w.astype(np.float64) for w in steps[0]]
    for s, weights in enumerate(steps[1:]):
        t = s - start
        if t < 0:
            rate = 1.0
        elif decay is None:
            rate = 1 / (t + 1)
        else:
            rate = 1 - (min(decay, (1 + t) / (10 + t)) if warmup else decay)
        average = [a + rate * (w - a) for a, w in zip(average, weights, strict=True)]
    return average


def ema_model(seed=0, steps_per_execution=1, **kwargs):
    model = tiny_bn_model(seed)
    optimizer = recipekit.optimizers.EMA(
        keras.optimizers.SGD(0.1, momentum=0.9), **kwargs
    )
    model.compile(
        optimizer,
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model, optimizer


def assert_close_lists(got, want, **tolerance):
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **tolerance)


def test_average_matches_numpy_step_by_step_and_model_keeps_raw_weights():
    model, ema = ema_model(decay=0.9)
    x, y = tiny_data()
    record = RecordWeights()
    model.fit(
        x, y, batch_size=8, epochs=3, verbose=0, shuffle=False, callbacks=[record]
    )
    assert len(record.steps) == 13
    assert int(ema.iterations) == 12
    assert_close_lists(
        ema.averages, reference_ema(record.steps, 0.9), rtol=1e-5, atol=1e-6
    )
    assert_close_lists(model.trainable_weights, record.steps[-1], rtol=0, atol=0)


@pytest.mark.parametrize("decay, warmup", [(0.5, False), (None, True)])
def test_polyak_and_plain_decay_from_start_step(decay, warmup):
    model, ema = ema_model(decay=decay, warmup=warmup, start_step=6)
    x, y = tiny_data()
    record = RecordWeights()
    model.fit(
        x, y, batch_size=8, epochs=3, verbose=0, shuffle=False, callbacks=[record]
    )
    want = reference_ema(record.steps, decay, warmup, start=6)
    assert_close_lists(ema.averages, want, rtol=1e-5, atol=1e-6)
    if decay is None:  # The plain mean of the weights after steps 6..11.
        mean = [np.mean(v, 0) for v in zip(*record.steps[7:], strict=True)]
        assert_close_lists(ema.averages, mean, rtol=1e-5, atol=1e-6)


def test_steps_per_execution_gives_the_same_average():
    if keras.backend.backend() == "torch":
        pytest.skip("Keras's PyTorch trainer runs one step per execution")
    x, y = tiny_data()
    averages = []
    for steps in (1, 4):
        model, ema = ema_model(steps_per_execution=steps, decay=0.7)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        averages.append([np.array(a) for a in ema.averages])
    assert_close_lists(*averages, rtol=1e-5, atol=1e-7)


def test_validation_in_fit_uses_the_averages_and_swaps_back():
    model, ema = ema_model(decay=0.8)
    x, y = tiny_data()
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=2,
        verbose=0,
        validation_data=(x, y),
        callbacks=[recipekit.callbacks.SwapAverages()],
    )
    raw_loss = model.evaluate(x, y, verbose=0)[0]
    with ema.swapped():
        ema_loss = model.evaluate(x, y, verbose=0)[0]
    assert history.history["val_loss"][-1] == pytest.approx(ema_loss, rel=1e-5)
    assert abs(raw_loss - ema_loss) > 1e-4
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(raw_loss, rel=1e-6)
    ema.use_averages()
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(ema_loss, rel=1e-5)


def test_saved_model_carries_the_averages(tmp_path):
    model, ema = ema_model(decay=0.8)
    x, y = tiny_data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.optimizer, recipekit.optimizers.EMA)
    assert loaded.optimizer.get_config() == ema.get_config()
    assert_close_lists(loaded.optimizer.averages, ema.averages, rtol=0, atol=0)


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("killed")


def test_keras_backup_and_restore_resumes_the_averages_exactly(tmp_path):
    x, y = tiny_data()

    def run(backup, extra=()):
        model, ema = ema_model(decay=0.8)
        callbacks = [keras.callbacks.BackupAndRestore(backup), *extra]
        model.fit(
            x, y, batch_size=8, epochs=4, verbose=0, shuffle=False, callbacks=callbacks
        )
        return model, ema

    straight = run(str(tmp_path / "a"))
    with pytest.raises(RuntimeError, match="killed"):
        run(str(tmp_path / "b"), [Interrupt()])
    assert recipekit.callbacks.backup_epoch(str(tmp_path / "b")) == 2
    resumed = run(str(tmp_path / "b"))
    assert int(resumed[1].iterations) == 16
    assert_close_lists(straight[1].averages, resumed[1].averages, rtol=0, atol=1e-7)
    assert_close_lists(straight[0].weights, resumed[0].weights, rtol=0, atol=1e-7)


def test_mixed_precision_wraps_the_ema_and_still_averages():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model, ema = ema_model(decay=0.5)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        x, y = tiny_data()
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert int(ema.iterations) == 4
    assert float(ema.learning_rate) == pytest.approx(0.1)
    moved = [np.abs(np.array(a) - np.array(w)).max() for a, w in
             zip(ema.averages, model.trainable_weights, strict=True)]  # fmt: skip
    assert max(moved) > 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"decay": 1.0}, "decay"),
        ({"decay": 0}, "decay"),
        ({"decay": True}, "decay"),
        ({"start_step": -1}, "start_step"),
        ({"start_step": 1.5}, "start_step"),
    ],
)
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        recipekit.optimizers.EMA(keras.optimizers.SGD(), **kwargs)


def test_wrapping_errors():
    with pytest.raises(TypeError, match="optimizer"):
        recipekit.optimizers.EMA("sgd")
    inner = recipekit.optimizers.EMA(keras.optimizers.SGD())
    with pytest.raises(ValueError, match="must not be an EMA"):
        recipekit.optimizers.EMA(inner)
    with pytest.raises(ValueError, match="no averages yet"):
        inner.swap()
    model = tiny_bn_model()
    with pytest.raises(ValueError, match="SwapAverages needs"):
        x, y = tiny_data(8)
        model.fit(x, y, verbose=0, callbacks=[recipekit.callbacks.SwapAverages()])


def test_recompute_batch_norm_sets_cumulative_batch_statistics():
    model = tiny_bn_model()
    x, _ = tiny_data(24)
    batches = [x[i : i + 8] for i in range(0, 24, 8)]
    used = recipekit.models.recompute_batch_norm(model, batches)
    dense = model.layers[0]
    hidden = [keras.ops.convert_to_numpy(dense(b)) for b in batches]
    bn = model.layers[1]
    np.testing.assert_allclose(
        bn.moving_mean.numpy(), np.mean([h.mean(0) for h in hidden], 0), rtol=1e-5
    )
    np.testing.assert_allclose(
        bn.moving_variance.numpy(), np.mean([h.var(0) for h in hidden], 0), rtol=1e-4
    )
    assert used == 3 and bn.momentum == 0.8
    assert recipekit.models.recompute_batch_norm(model, batches, steps=1) == 1


@pytest.mark.tf_only
def test_mirrored_training_with_ema():
    # Logical devices must be set before TensorFlow starts: a fresh process.
    report = run_child(os.path.join(os.path.dirname(__file__), "mirrored_ema_child.py"))
    assert report["replicas"] == 2
    assert report["error"] < 1e-5
