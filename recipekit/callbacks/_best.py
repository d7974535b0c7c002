"""`BestCheckpoints`: the k best models of a run by a monitored metric."""

import json
import math
import os
import warnings

import keras

from recipekit._checks import is_integer
from recipekit._io import atomic_path, write_json
from recipekit.optimizers import find_ema

INDEX = "best.json"


class BestCheckpoints(keras.callbacks.Callback):
    """Keeps the `k` best models of a run, ranked by a monitored metric.

    After each epoch whose `monitor` value ranks among the best `k` so far,
    the model is saved to `folder/epochNNN.keras` (1-based epoch), and the
    file that drops out of the best `k` is deleted. `folder/best.json` lists
    the kept files, best first, with their epochs and values. Every file is
    written whole or not at all (a temporary file, then a rename), like
    `BackupAndRestore`'s backups, and a run resumed by `BackupAndRestore`
    continues the ranking from `best.json`. Keras's `ModelCheckpoint` keeps
    one best model (`save_best_only`) or every epoch's; timm's `CheckpointSaver`
    keeps the best k, which is what this does for Keras.

    With `averaged=True` (the default) and a `recipekit.optimizers.EMA` as
    the optimizer, the saved weights are the averaged ones (swapped in for
    the save, then back), as `SwapAverages` validates them.

    Args:
        folder: where the models and `best.json` go.
        monitor: the log to rank by, e.g. `"val_accuracy"` or `"val_loss"`.
        k: how many models to keep, >= 1.
        mode: `"max"`, `"min"`, or `"auto"` (min for names with "loss" in
            them, max otherwise).
        model: the model to save (default: the one being trained), e.g. the
            network inside a `DeviceImages` training model.
        averaged: save an EMA optimizer's averaged weights.

    Examples:

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> x, y = np.zeros((8, 2)), np.ones(8)
    >>> _ = model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0,
    ...               callbacks=[BestCheckpoints(folder, "val_loss", k=2)])
    >>> sorted(os.listdir(folder))
    ['best.json', 'epoch002.keras', 'epoch003.keras']
    """

    def __init__(self, folder, monitor="val_accuracy", k=3, mode="auto",
                 model=None, averaged=True):  # fmt: skip
        super().__init__()
        if not isinstance(folder, str | os.PathLike) or not str(folder):
            raise ValueError(
                f"Argument `folder` must be a path. Received: folder={folder!r}"
            )
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(
                f"Argument `monitor` must be a log name. Received: monitor={monitor!r}"
            )
        if not is_integer(k) or k < 1:
            raise ValueError(f"Argument `k` must be an integer >= 1. Received: k={k!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                "Argument `mode` must be one of ('auto', 'min', 'max'). "
                f"Received: mode={mode!r}"
            )
        self.folder = os.fspath(folder)
        self.monitor = monitor
        self.k = int(k)
        self.mode = ("min" if "loss" in monitor else "max") if mode == "auto" else mode
        self.saved_model = model
        self.averaged = bool(averaged)
        self.best = []  # [{"epoch", "value", "path"}], best first
        self._warned = False

    def _better(self, a, b):
        return a < b if self.mode == "min" else a > b

    def on_train_begin(self, logs=None):
        path = os.path.join(self.folder, INDEX)
        self.best = []
        if os.path.exists(path):  # a resumed run: continue its ranking
            with open(path) as f:
                kept = json.load(f)["best"]
            here = os.path.join
            self.best = [
                e for e in kept if os.path.exists(here(self.folder, e["path"]))
            ]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            if not self._warned:
                warnings.warn(
                    f"BestCheckpoints ranks by {self.monitor!r}, which the logs "
                    f"lack (they have {sorted(logs or {})}); nothing is saved. "
                    "Pass validation data, or another `monitor`.",
                    stacklevel=2,
                )
                self._warned = True
            return
        value = float(value)
        if math.isnan(value):
            return
        full = len(self.best) >= self.k
        if full and not self._better(value, self.best[-1]["value"]):
            return
        name = f"epoch{epoch + 1:03d}.keras"
        self._save(os.path.join(self.folder, name))
        entry = {"epoch": epoch + 1, "value": value, "path": name}
        self.best = [e for e in self.best if e["epoch"] != epoch + 1]
        worse = [i for i, e in enumerate(self.best) if self._better(value, e["value"])]
        position = worse[0] if worse else len(self.best)
        self.best.insert(position, entry)
        dropped, self.best = self.best[self.k :], self.best[: self.k]
        index = {"monitor": self.monitor, "mode": self.mode, "best": self.best}
        write_json(os.path.join(self.folder, INDEX), index)
        for old in dropped:
            path = os.path.join(self.folder, old["path"])
            if os.path.exists(path):
                os.remove(path)

    def _save(self, path):
        model = self.saved_model or self.model
        ema = (
            find_ema(getattr(self.model, "optimizer", None)) if self.averaged else None
        )
        with atomic_path(path, suffix=".keras") as tmp:
            if ema is not None and ema.built:
                with ema.swapped():
                    model.save(tmp)
            else:
                model.save(tmp)

    def get_config(self):
        return {"folder": self.folder, "monitor": self.monitor, "k": self.k,
                "mode": self.mode, "averaged": self.averaged}  # fmt: skip
