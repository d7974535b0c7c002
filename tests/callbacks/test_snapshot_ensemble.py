import json
import math
import os
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

import recipekit
from tests.callbacks.conftest import tiny_bn_model, tiny_data


def snapshot_model(lr_max, epochs, steps, cycles, steps_per_execution=1, **kw):
    model = tiny_bn_model(**kw)
    schedule = recipekit.callbacks.SnapshotEnsemble.schedule(
        lr_max, epochs, steps, cycles
    )
    model.compile(
        keras.optimizers.SGD(schedule, momentum=0.9),
        model.loss,
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


class RecordRates(keras.callbacks.Callback):
    """The rate each step is taken with: the schedule at the step's iteration."""

    def on_train_begin(self, logs=None):
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))


def test_cyclic_cosine_rate_per_step_and_snapshots_at_cycle_ends():
    x, y = tiny_data(24)
    model = snapshot_model(0.2, epochs=4, steps=3, cycles=2)
    snapshots = recipekit.callbacks.SnapshotEnsemble(2)
    record, weights = RecordRates(), []
    at_epoch_end = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: weights.append(model.get_weights())
    )
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=4,
        verbose=0,
        callbacks=[snapshots, record, at_epoch_end],
    )
    # 4 epochs x 3 steps = 12 steps, cycles of 6 steps (2 epochs).
    expected = [0.1 * (math.cos(math.pi * (t % 6) / 6) + 1) for t in range(12)]
    np.testing.assert_allclose(record.rates, expected, rtol=1e-5)
    assert history.history["snapshots"] == [0, 1, 1, 2]
    assert len(snapshots.snapshots) == 2
    for snapshot, epoch in zip(snapshots.snapshots, (1, 3), strict=True):
        for a, b in zip(snapshot, weights[epoch], strict=True):
            np.testing.assert_array_equal(a, b)


def test_snapshots_are_the_same_with_steps_per_execution(tmp_path):
    x, y = tiny_data(32)
    runs = []
    for per_execution in (1, 4):
        model = snapshot_model(0.1, 4, 4, 2, steps_per_execution=per_execution)
        snapshots = recipekit.callbacks.SnapshotEnsemble(2)
        model.fit(x, y, batch_size=8, epochs=4, verbose=0, shuffle=False,
                  callbacks=[snapshots])  # fmt: skip
        runs.append(snapshots.snapshots)
    assert len(runs[0]) == len(runs[1]) == 2
    for a_snap, b_snap in zip(*runs, strict=True):
        for a, b in zip(a_snap, b_snap, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_ensemble_model_is_the_mean_of_snapshot_predictions(tmp_path):
    model = tiny_bn_model(logits=True)
    x, y = tiny_data(24)
    snapshots = recipekit.callbacks.SnapshotEnsemble(
        3, directory=str(tmp_path / "snaps")
    )
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[snapshots])
    assert sorted(os.listdir(tmp_path / "snaps")) == [
        f"snapshot_{i}.weights.h5" for i in range(3)
    ]  # Written atomically: no temporary file is left.
    assert snapshots.snapshots == [
        str(tmp_path / "snaps" / f"snapshot_{i}.weights.h5") for i in range(3)
    ]
    members = []
    for path in snapshots.snapshots:
        model.load_weights(path)
        logits = model.predict(x, verbose=0)
        members.append(keras.ops.convert_to_numpy(keras.ops.softmax(logits)))
    ensemble = recipekit.models.ensemble_model(model, snapshots.snapshots)
    np.testing.assert_allclose(
        ensemble.predict(x, verbose=0), np.mean(members, 0), rtol=1e-5, atol=1e-6
    )
    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), np.mean(members, 0), rtol=1e-5, atol=1e-6
    )
    loaded.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    accuracy = loaded.evaluate(x, y, verbose=0)[1]
    assert accuracy == pytest.approx(np.mean(np.mean(members, 0).argmax(1) == y))


def test_snapshot_errors(tmp_path):
    x, y = tiny_data(16)
    with pytest.raises(ValueError, match="epochs divisible by 3"):
        tiny_bn_model().fit(
            x, y, batch_size=8, epochs=4, verbose=0,
            callbacks=[recipekit.callbacks.SnapshotEnsemble(3)],
        )  # fmt: skip
    with pytest.raises(ValueError, match="not a multiple"):
        recipekit.callbacks.SnapshotEnsemble.schedule(0.1, 5, 10, 2)
    with pytest.raises(ValueError, match="lr_max"):
        recipekit.callbacks.SnapshotEnsemble.schedule(0, 4, 10, 2)
    with pytest.raises(ValueError, match="num_snapshots"):
        recipekit.callbacks.SnapshotEnsemble(0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot be written"):
        recipekit.callbacks.SnapshotEnsemble(2, directory=str(blocker / "sub"))
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5)])
    bad = str(tmp_path / "other.weights.h5")
    other.save_weights(bad)
    # Keras warns about the mismatched file before the error: expected here.
    named = "other.weights.h5.*does not match"
    with warnings.catch_warnings(), pytest.raises(ValueError, match=named):
        warnings.filterwarnings("ignore", "Skipping variable loading", UserWarning)
        recipekit.models.ensemble_model(tiny_bn_model(), [bad])


def test_training_curves_png(tmp_path):
    model = tiny_bn_model()
    x, y = tiny_data(16)
    path = tmp_path / "plots" / "curves.png"
    curves = recipekit.callbacks.TrainingCurves(
        str(path), csv_path=str(tmp_path / "log.csv")
    )
    model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        validation_data=(x, y),
        callbacks=[recipekit.callbacks.StepDecay([2]), curves],
    )
    assert curves.history["epoch"] == [1, 2, 3]
    np.testing.assert_allclose(
        curves.history["learning_rate"], [0.1, 0.1, 0.01], rtol=1e-6
    )
    assert len(curves.history["val_loss"]) == 3
    with Image.open(path) as image:
        assert image.size == (1080, 324)  # 12 x 3.6 in at 90 dpi.
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].split(",")[0] == "epoch" and len(rows) == 4
    assert json.loads((tmp_path / "plots" / "curves.json").read_text()) == (
        curves.history
    )
    with pytest.raises(ValueError, match="png"):
        recipekit.callbacks.TrainingCurves("curves.jpg")
    # Every axis is labelled; the validation curves say which weights they use.
    curves.validation_label = "validation (EMA weights)"
    axes = curves.figure().axes
    assert [a.get_ylabel() for a in axes] == ["loss", "accuracy", "learning rate"]
    assert [a.get_xlabel() for a in axes] == ["epoch"] * 3
    legend = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert legend == ["train", "validation (EMA weights)"]
    with pytest.raises(ValueError, match="validation_label"):
        recipekit.callbacks.TrainingCurves("c.png", validation_label="")


def test_training_curves_log_each_rate_of_a_multi_optimizer(tmp_path):
    """Keras's MultiOptimizer has no single rate: one column per sub-optimizer,
    named after it, also through an averaging wrapper; one line each."""
    model = tiny_bn_model()
    head = keras.optimizers.SGD(
        recipekit.optimizers.PiecewiseLinear([0, 4], [0.4, 0.0]), name="head"
    )
    split = keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(
            keras.optimizers.SGD(0.1, name="body"),
            {f".*{model.layers[-1].name}/.*": head},
        )
    )
    model.compile(recipekit.optimizers.EMA(split, 0.5), model.loss)
    curves = recipekit.callbacks.TrainingCurves(
        str(tmp_path / "c.png"), csv_path=str(tmp_path / "log.csv")
    )
    x, y = tiny_data(16)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[curves])
    assert "learning_rate" not in curves.history
    np.testing.assert_allclose(curves.history["learning_rate/body"], [0.1, 0.1])
    np.testing.assert_allclose(curves.history["learning_rate/head"], [0.2, 0.0])
    header = (tmp_path / "log.csv").read_text().splitlines()[0].split(",")
    assert {"learning_rate/body", "learning_rate/head"} <= set(header)
    rates = curves.figure().axes[2]
    assert [t.get_text() for t in rates.get_legend().get_texts()] == ["body", "head"]
    assert rates.get_yscale() == "linear"  # a rate reached 0


class Interrupt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("killed")


@pytest.mark.parametrize("killed_at", [1, 2, 4])
def test_killed_run_resumes_to_the_same_end(tmp_path, deterministic, killed_at):
    """Weights, averages, snapshots and the curves' history after a kill."""
    x, y = tiny_data(32)

    def run(out, extra=()):
        model = tiny_bn_model()
        schedule = recipekit.callbacks.SnapshotEnsemble.schedule(0.1, 6, 4, 3)
        ema = recipekit.optimizers.EMA(keras.optimizers.SGD(schedule), 0.8)
        model.compile(ema, model.loss, metrics=["accuracy"])
        snaps = recipekit.callbacks.SnapshotEnsemble(3, str(out / "snaps"))
        curves = recipekit.callbacks.TrainingCurves(
            str(out / "c.png"), csv_path=str(out / "log.csv")
        )
        callbacks = [
            recipekit.callbacks.SwapAverages(),
            snaps,
            curves,
            keras.callbacks.BackupAndRestore(str(out / "backup")),
            *extra,
        ]
        model.fit(
            x, y, batch_size=8, epochs=6, verbose=0, shuffle=False,
            validation_data=(x, y), callbacks=callbacks,
        )  # fmt: skip
        return model, ema, snaps, curves

    straight = run(tmp_path / "a")
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path / "b", [Interrupt(killed_at)])
    assert recipekit.callbacks.backup_epoch(str(tmp_path / "b" / "backup")) == (
        killed_at
    )
    resumed = run(tmp_path / "b")
    for a, b in zip(straight[0].weights, resumed[0].weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(straight[1].averages, resumed[1].averages, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert len(resumed[2].snapshots) == 3
    for path_a, path_b in zip(straight[2].snapshots, resumed[2].snapshots, strict=True):
        for a, b in zip(load(path_a), load(path_b), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert resumed[3].history["epoch"] == [1, 2, 3, 4, 5, 6]
    for key, values in straight[3].history.items():
        np.testing.assert_allclose(resumed[3].history[key], values, rtol=1e-5)
    log = (tmp_path / "b" / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["1", "2", "3", "4", "5", "6"]


def load(path):
    model = tiny_bn_model()
    with warnings.catch_warnings():  # The file's optimizer is not this one's.
        warnings.simplefilter("ignore")
        model.load_weights(path)
    return model.get_weights()
