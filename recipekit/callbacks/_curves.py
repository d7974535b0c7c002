"""`TrainingCurves`: a PNG of loss, accuracy and learning rate after every epoch."""

import csv
import json
import os

import keras
import numpy as np

from recipekit._io import atomic_path, write_json


class TrainingCurves(keras.callbacks.Callback):
    """Redraws a PNG of the training curves at the end of every epoch.

    Three panels: loss and accuracy (train and validation, when logged) and the
    learning rate, per epoch, so a user sees where the loss plateaus and the
    rate should decay, and whether validation diverges from training. Keras
    records `History` but draws nothing; TensorBoard needs a server.

    The history is also written, atomically, to `path` with `.json` in place
    of `.png`, and with `csv_path` to a CSV log (one row per epoch, as
    Keras's `CSVLogger`). A run resumed by Keras's `BackupAndRestore` at epoch
    `k` reads the history back and keeps its first `k` epochs, so the plot
    and the log have every epoch once, however often the run was killed.

    Args:
        path: the PNG file to write (folders are created).
        metric: the accuracy-like metric to plot (default `"accuracy"`).
        csv_path: optional CSV file for the per-epoch logs.
        validation_label: the legend of the validation curves, e.g.
            `"validation (EMA weights)"` when `Validate` scores the averages.

    Examples:

    >>> curves = recipekit.callbacks.TrainingCurves("runs/curves.png")
    >>> model.fit(train, epochs=30, validation_data=test, callbacks=[curves])
    """

    def __init__(
        self, path, metric="accuracy", csv_path=None, validation_label="validation"
    ):
        super().__init__()
        if not isinstance(validation_label, str) or not validation_label:
            raise ValueError(
                "Argument `validation_label` must be a non-empty string. Received: "
                f"validation_label={validation_label!r}"
            )
        self.validation_label = validation_label
        if not isinstance(path, str | os.PathLike) or not str(path).lower().endswith(
            ".png"
        ):
            raise ValueError(
                f"Argument `path` must be a .png file path. Received: path={path!r}"
            )
        self.path = str(path)
        self.metric = metric
        self.csv_path = None if csv_path is None else str(csv_path)
        self.history_path = os.path.splitext(self.path)[0] + ".json"
        self.history = {}
        self._first_epoch = True

    def on_train_begin(self, logs=None):
        self._first_epoch = True

    def on_epoch_begin(self, epoch, logs=None):
        if not self._first_epoch:
            return
        self._first_epoch = False
        # Keep the epochs before this one (from a killed run), drop the rest.
        history = self._read() if epoch > 0 else {}
        keep = sum(1 for e in history.get("epoch", []) if e <= epoch)
        self.history = {key: values[:keep] for key, values in history.items()}

    def on_train_end(self, logs=None):
        if self._first_epoch:  # resumed with nothing left to train: its epochs
            self.history = self._read()

    def _read(self):
        """The history written so far (NaN where JSON holds null), or {}."""
        if not os.path.exists(self.history_path):
            return {}
        try:
            with open(self.history_path) as f:
                history = json.load(f)  # null: a non-finite value
            return {
                key: [np.nan if v is None else v for v in values]
                for key, values in history.items()
            }
        except (OSError, ValueError, AttributeError) as error:
            raise ValueError(
                f"The training history {self.history_path!r} is unreadable "
                f"({error}); delete it to start the curves afresh."
            ) from error

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if "learning_rate" not in logs and getattr(self.model, "optimizer", None):
            logs.update(learning_rates(self.model.optimizer))
        self.history.setdefault("epoch", []).append(epoch + 1)
        for key, value in logs.items():
            if np.ndim(value) == 0:
                self.history.setdefault(key, []).append(float(value))
        write_json(self.history_path, self.history, indent=None)  # NaN as null
        if self.csv_path:
            self._write_csv()
        self.draw()

    def _write_csv(self):
        keys = ["epoch", *sorted(k for k in self.history if k != "epoch")]
        rows = len(self.history["epoch"])
        with atomic_path(self.csv_path) as tmp:
            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(keys)
                for i in range(rows):
                    values = [self.history[k] for k in keys]
                    writer.writerow([v[i] if i < len(v) else "" for v in values])

    def draw(self):
        """Writes the PNG from the recorded history; returns its path."""
        figure = self.figure()
        with atomic_path(self.path, ".png") as tmp:
            figure.savefig(tmp, dpi=90)
        return self.path

    def figure(self):
        """The plot of the recorded history, a matplotlib `Figure`."""
        from matplotlib.figure import Figure  # No pyplot: no global state.

        figure = Figure(figsize=(12, 3.6))
        axes = figure.subplots(1, 3)
        epochs = self.history.get("epoch", [])
        rates = ["learning_rate"]
        rates += sorted(k for k in self.history if k.startswith("learning_rate/"))
        panels = [
            ("loss", ["loss", "val_loss"], "linear"),
            (self.metric, [self.metric, f"val_{self.metric}"], "linear"),
            ("learning rate", rates, "log"),
        ]
        for axis, (title, keys, scale) in zip(axes, panels, strict=True):
            for key in keys:
                values = self.history.get(key)
                if values and len(values) == len(epochs):
                    if key.startswith("learning_rate/"):
                        label = key.split("/", 1)[1]  # a sub-optimizer's name
                    elif key.startswith("val_"):
                        label = self.validation_label
                    else:
                        label = "train"
                    axis.plot(epochs, values, marker="o", markersize=3, label=label)
            axis.set_title(title)
            axis.set_xlabel("epoch")
            axis.set_ylabel(title)
            if scale == "log":
                plotted = [v for k in keys for v in self.history.get(k, [])]
                if plotted and min(plotted) > 0:
                    axis.set_yscale("log")
                if len(keys) > 1 and axis.has_data():
                    axis.legend()
            elif axis.has_data():
                axis.legend()
            axis.grid(alpha=0.3)
        figure.tight_layout()
        return figure

    def get_config(self):
        return {
            "path": self.path,
            "metric": self.metric,
            "csv_path": self.csv_path,
            "validation_label": self.validation_label,
        }


def learning_rates(optimizer):
    """The rates to log: `{"learning_rate": rate}`, or for a `MultiOptimizer`
    (which has no single rate) one `"learning_rate/<name>"` per sub-optimizer.

    Wrappers (`EMA`, `Lookahead`, `LossScaleOptimizer`) are looked through.
    """
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    try:
        rate = optimizer.learning_rate
    except AttributeError:  # Keras's MultiOptimizer refuses to have one.
        return {
            f"learning_rate/{part.name}": float(
                keras.ops.convert_to_numpy(part.learning_rate)
            )
            for part in optimizer.optimizers
        }
    return {"learning_rate": float(keras.ops.convert_to_numpy(rate))}
