import math
import os

import keras
import numpy as np
import pytest
from PIL import Image

import recipekit
from tests.callbacks.conftest import RecordRate, tiny_bn_model, tiny_data


def test_cyclic_cosine_rate_per_step_and_snapshot_count():
    model = tiny_bn_model()
    x, y = tiny_data(24)
    snapshots = recipekit.callbacks.SnapshotEnsemble(3, lr_max=0.2)
    record = RecordRate()
    history = model.fit(
        x, y, batch_size=8, epochs=4, verbose=0, callbacks=[snapshots, record]
    )
    # 4 epochs x 3 steps = 12 steps, cycles of 4 steps.
    expected = [0.1 * (math.cos(math.pi * (t % 4) / 4) + 1) for t in range(12)]
    np.testing.assert_allclose(record.rates, expected, rtol=1e-6)
    assert len(snapshots.snapshots) == 3
    assert history.history["snapshots"] == [0, 1, 2, 3]  # After steps 3, 6, 9, 12.
    np.testing.assert_allclose(
        history.history["learning_rate"],
        [expected[i] for i in (2, 5, 8, 11)],
        rtol=1e-6,
    )
    # The last snapshot is the final weights.
    for a, b in zip(snapshots.snapshots[-1], model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_ensemble_model_is_the_mean_of_snapshot_predictions(tmp_path):
    model = tiny_bn_model(logits=True)
    x, y = tiny_data(24)
    snapshots = recipekit.callbacks.SnapshotEnsemble(
        3, directory=str(tmp_path / "snaps")
    )
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[snapshots])
    assert snapshots.snapshots == [
        str(tmp_path / "snaps" / f"snapshot_{i}.weights.h5") for i in range(3)
    ]
    members = []
    for path in snapshots.snapshots:
        model.load_weights(path)
        logits = model.predict(x, verbose=0)
        members.append(keras.ops.convert_to_numpy(keras.ops.softmax(logits)))
    ensemble = recipekit.callbacks.ensemble_model(model, snapshots.snapshots)
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
    with pytest.raises(
        ValueError, match="num_snapshots=9 exceeds the 4 training steps"
    ):
        tiny_bn_model().fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            verbose=0,
            callbacks=[recipekit.callbacks.SnapshotEnsemble(9)],
        )
    clash = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01)
    with pytest.raises(ValueError, match="Another callback changed the learning rate"):
        tiny_bn_model().fit(
            x,
            y,
            batch_size=8,
            epochs=2,
            verbose=0,
            callbacks=[recipekit.callbacks.SnapshotEnsemble(2), clash],
        )
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(
        optimizer=keras.optimizers.SGD(keras.optimizers.schedules.CosineDecay(0.1, 10)),
        loss="mse",
    )
    with pytest.raises(ValueError, match="LearningRateSchedule"):
        model.fit(
            x,
            np.zeros((16, 2)),
            verbose=0,
            callbacks=[recipekit.callbacks.SnapshotEnsemble(2)],
        )
    with pytest.raises(ValueError, match="num_snapshots"):
        recipekit.callbacks.SnapshotEnsemble(0)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot be written"):
        recipekit.callbacks.SnapshotEnsemble(2, directory=str(blocker / "sub"))
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5)])
    bad = str(tmp_path / "other.weights.h5")
    other.save_weights(bad)
    with pytest.raises(ValueError, match="other.weights.h5.*does not match"):
        recipekit.callbacks.ensemble_model(tiny_bn_model(), [bad])


def test_training_curves_png(tmp_path):
    model = tiny_bn_model()
    x, y = tiny_data(16)
    path = tmp_path / "plots" / "curves.png"
    curves = recipekit.callbacks.TrainingCurves(str(path))
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
    with pytest.raises(ValueError, match="png"):
        recipekit.callbacks.TrainingCurves("curves.jpg")


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 3:
            raise RuntimeError("killed")


def test_resumed_run_ends_with_the_same_averages_and_snapshots(tmp_path, deterministic):
    x, y = tiny_data(32)

    def run(backup_dir, extra=()):
        model = tiny_bn_model()
        ema = recipekit.callbacks.EMA(decay=0.8)
        snaps = recipekit.callbacks.SnapshotEnsemble(3, lr_max=0.1)
        curves = recipekit.callbacks.TrainingCurves(str(tmp_path / "c.png"))
        callbacks = [
            ema,
            snaps,
            curves,
            recipekit.callbacks.BackupAndRestore(backup_dir),
            *extra,
        ]
        model.fit(
            x, y, batch_size=8, epochs=6, verbose=0, shuffle=False, callbacks=callbacks
        )
        return model, ema, snaps, curves

    straight = run(str(tmp_path / "a"))
    with pytest.raises(RuntimeError, match="killed"):
        run(str(tmp_path / "b"), [Interrupt()])
    assert os.path.exists(tmp_path / "b" / "callback_state.npz")
    # Killed at the start of epoch 3: epochs 0-2 are backed up.
    assert recipekit.callbacks.BackupAndRestore(str(tmp_path / "b")).resume_epoch == 3
    assert recipekit.callbacks.BackupAndRestore(str(tmp_path / "a")).resume_epoch == 0
    resumed = run(str(tmp_path / "b"))
    for a, b in zip(straight[0].get_weights(), resumed[0].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(straight[1].shadow_weights, resumed[1].shadow_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert len(resumed[2].snapshots) == 3
    for snap_a, snap_b in zip(straight[2].snapshots, resumed[2].snapshots):
        for a, b in zip(snap_a, snap_b):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert resumed[3].history["epoch"] == [1, 2, 3, 4, 5, 6]
    assert not os.path.exists(tmp_path / "b")  # Deleted once the run completed.
