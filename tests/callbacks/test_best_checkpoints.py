"""BestCheckpoints: the k best models by a monitored metric, written atomically."""

import json
import os

import keras
import numpy as np
import pytest

import recipekit
from recipekit.callbacks import BestCheckpoints


class FakeLogs(keras.callbacks.Callback):
    """Writes a scripted value into each epoch's logs (runs before the others)."""

    def __init__(self, name, values):
        super().__init__()
        self.name, self.values = name, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.name] = self.values[epoch]


def tiny_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def fit(model, folder, values, initial_epoch=0, **kwargs):
    x, y = np.zeros((4, 2), "float32"), np.zeros(4, "float32")
    best = BestCheckpoints(str(folder), **kwargs)
    monitor = kwargs.get("monitor", "val_accuracy")
    model.fit(x, y, epochs=len(values), initial_epoch=initial_epoch, verbose=0,
              callbacks=[FakeLogs(monitor, values), best])  # fmt: skip
    return best


def kept(folder):
    with open(folder / "best.json") as f:
        index = json.load(f)
    files = sorted(n for n in os.listdir(folder) if n.endswith(".keras"))
    return [(e["epoch"], e["value"]) for e in index["best"]], files


def test_keeps_the_k_best_by_accuracy_and_deletes_the_rest(tmp_path):
    fit(tiny_model(), tmp_path, [0.1, 0.5, 0.3, 0.6, 0.2, 0.5], k=2)
    assert kept(tmp_path) == (
        [(4, 0.6), (2, 0.5)],
        ["epoch002.keras", "epoch004.keras"],
    )


def test_a_loss_is_ranked_low_first_and_nan_never_kept(tmp_path):
    fit(tiny_model(), tmp_path, [3.0, float("nan"), 1.0, 2.0], monitor="val_loss", k=2)
    assert kept(tmp_path) == (
        [(3, 1.0), (4, 2.0)],
        ["epoch003.keras", "epoch004.keras"],
    )


def test_a_resumed_run_continues_the_ranking(tmp_path):
    model = tiny_model()
    fit(model, tmp_path, [0.4, 0.9], k=2)
    fit(model, tmp_path, [0.0, 0.0, 0.5, 0.1], initial_epoch=2, k=2)
    assert kept(tmp_path) == (
        [(2, 0.9), (3, 0.5)],
        ["epoch002.keras", "epoch003.keras"],
    )


def test_the_saved_model_loads_and_holds_the_ema_averages(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    ema = recipekit.optimizers.EMA(keras.optimizers.SGD(0.1), 0.5)
    model.compile(ema, "mse")
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    logs = FakeLogs("val_accuracy", [0.1, 0.2])  # the last epoch is the best
    model.fit(x, x.sum(1), epochs=2, verbose=0,
              callbacks=[logs, BestCheckpoints(str(tmp_path), k=1)])  # fmt: skip
    saved = keras.saving.load_model(str(tmp_path / "epoch002.keras")).get_weights()
    raw = model.get_weights()  # the swap was undone after the save
    with ema.swapped():
        averaged = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(saved, averaged, strict=True))
    assert not all(np.allclose(a, b) for a, b in zip(saved, raw, strict=True))


def test_a_missing_monitor_warns_once_and_saves_nothing(tmp_path):
    with pytest.warns(UserWarning, match="'val_top5', which the logs lack") as seen:
        model = tiny_model()
        model.fit(np.zeros((4, 2)), np.zeros(4), epochs=3, verbose=0,
                  callbacks=[BestCheckpoints(str(tmp_path), "val_top5")])  # fmt: skip
    assert len([w for w in seen if "val_top5" in str(w.message)]) == 1
    assert not os.path.exists(tmp_path / "best.json")


def test_no_temporary_file_is_left_when_a_save_fails(tmp_path):
    class Unsavable(keras.Model):
        def save(self, *args, **kwargs):
            with open(args[0], "w") as f:
                f.write("half")
            raise OSError(28, "No space left on device")

    inner = tiny_model()
    best = BestCheckpoints(str(tmp_path), k=1, model=Unsavable())
    with pytest.raises(OSError, match="No space left"):
        inner.fit(np.zeros((4, 2)), np.zeros(4), epochs=1, verbose=0,
                  callbacks=[FakeLogs("val_accuracy", [0.5]), best])  # fmt: skip
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "kwargs, match",
    [({"folder": ""}, "`folder` must be a path"),
     ({"k": 0}, "`k` must be an integer >= 1"),
     ({"k": 2.5}, "`k` must be an integer >= 1"),
     ({"mode": "best"}, "`mode` must be one of"),
     ({"monitor": ""}, "`monitor` must be a log name")],
)  # fmt: skip
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BestCheckpoints(**{"folder": "out", **kwargs})
