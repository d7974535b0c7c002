"""`TrainingCurves`: a PNG of loss, accuracy and learning rate after every epoch."""

import os

import keras
import numpy as np

from recipekit.callbacks import _state


class TrainingCurves(keras.callbacks.Callback):
    """Redraws a PNG of the training curves at the end of every epoch.

    Three panels: loss and accuracy (train and validation, when logged) and the
    learning rate, per epoch, so a user sees where the loss plateaus and the
    rate should decay, and whether validation diverges from training. Keras
    records `History` but draws nothing; TensorBoard needs a server. The
    history survives a killed run with `recipekit.callbacks.BackupAndRestore`.

    Args:
        path: the PNG file to write (folders are created).
        metric: the accuracy-like metric to plot (default `"accuracy"`).

    Example:

    >>> curves = recipekit.callbacks.TrainingCurves("runs/curves.png")
    >>> model.fit(train, epochs=30, validation_data=test, callbacks=[curves])
    """

    def __init__(self, path, metric="accuracy"):
        super().__init__()
        if not isinstance(path, str | os.PathLike) or not str(path).lower().endswith(
            ".png"
        ):
            raise ValueError(
                f"Argument `path` must be a .png file path. Received: path={path!r}"
            )
        self.path = str(path)
        self.metric = metric
        self.history = {}
        self._restored = False

    def set_model(self, model):
        super().set_model(model)
        _state.register(model, self)

    def on_train_begin(self, logs=None):
        if not self._restored:
            self.history = {}
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if "learning_rate" not in logs and getattr(self.model, "optimizer", None):
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )
        self.history.setdefault("epoch", []).append(epoch + 1)
        for key, value in logs.items():
            if np.ndim(value) == 0:
                self.history.setdefault(key, []).append(float(value))
        self.draw()

    def on_train_end(self, logs=None):
        self._restored = False
        _state.unregister(self.model, self)

    def draw(self):
        """Writes the PNG from the recorded history; returns its path."""
        from matplotlib.figure import Figure  # No pyplot: no global state.

        figure = Figure(figsize=(12, 3.6))
        axes = figure.subplots(1, 3)
        epochs = self.history.get("epoch", [])
        panels = [
            ("loss", ["loss", "val_loss"], "linear"),
            (self.metric, [self.metric, f"val_{self.metric}"], "linear"),
            ("learning rate", ["learning_rate"], "log"),
        ]
        for axis, (title, keys, scale) in zip(axes, panels):
            for key in keys:
                values = self.history.get(key)
                if values and len(values) == len(epochs):
                    label = "validation" if key.startswith("val_") else "train"
                    axis.plot(epochs, values, marker="o", markersize=3, label=label)
            axis.set_title(title)
            axis.set_xlabel("epoch")
            if scale == "log" and self.history.get("learning_rate"):
                if min(self.history["learning_rate"]) > 0:
                    axis.set_yscale("log")
            elif axis.has_data():
                axis.legend()
            axis.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(self.path, dpi=90)
        return self.path

    def get_state(self):
        return {key: np.asarray(values) for key, values in self.history.items()}

    def set_state(self, state):
        self.history = {key: list(np.asarray(v).tolist()) for key, v in state.items()}
        self._restored = True

    def get_config(self):
        return {"path": self.path, "metric": self.metric}
