"""Validation of another model (the network inside a training model) during `fit`."""

import keras

from recipekit._checks import is_integer
from recipekit.optimizers import find_ema


class Validate(keras.callbacks.Callback):
    """Evaluates a model that shares the trained weights, after every epoch.

    A training model can wrap the network it trains: `DeviceImages` in front
    of it, fed `(index, epoch)` pairs instead of images. Keras's
    `validation_data` would have to go through that wrapper; this evaluates the
    network itself on `data` and writes its metrics into the logs as `val_*`
    (so `TrainingCurves`, `CSVLogger`, `EarlyStopping` see them). When the
    training optimizer is a `recipekit.optimizers.EMA`, the evaluation runs on
    the averaged weights (`averages=True`), as `SwapAverages` does for
    `validation_data`.

    Args:
        model: the compiled (loss and metrics) model to evaluate; it shares
            its weights with the model being trained.
        data: `(x, y)` arrays or a dataset, as `model.evaluate` takes.
        batch_size: batch size for arrays.
        averages: evaluate on the EMA's averages if the optimizer has one.

    Examples:

    >>> net.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> train_model.fit(pairs, y, callbacks=[Validate(net, (x_test, y_test))])
    """

    def __init__(self, model, data, batch_size=512, averages=True):
        super().__init__()
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"Argument `model` must be a keras.Model. Received: {model!r}"
            )
        if not is_integer(batch_size):
            raise ValueError(
                "Argument `batch_size` must be a positive integer. Received: "
                f"batch_size={batch_size!r}"
            )
        if batch_size < 1:
            raise ValueError(
                "Argument `batch_size` must be a positive integer. Received: "
                f"batch_size={batch_size!r}"
            )
        self.validation_model = model
        self.data = data
        self.batch_size = batch_size
        self.averages = bool(averages)

    def _evaluate(self):
        if isinstance(self.data, tuple):
            x, y = self.data
            return self.validation_model.evaluate(
                x, y, batch_size=self.batch_size, verbose=0, return_dict=True
            )
        return self.validation_model.evaluate(self.data, verbose=0, return_dict=True)

    def on_epoch_end(self, epoch, logs=None):
        ema = find_ema(getattr(self.model, "optimizer", None))
        if self.averages and ema is not None and ema.built:
            with ema.swapped():
                results = self._evaluate()
        else:
            results = self._evaluate()
        if logs is not None:
            logs.update({f"val_{name}": float(v) for name, v in results.items()})
