"""Validation inside `fit` on the averaged weights of a `recipekit.optimizers.EMA`."""

import keras

from recipekit.optimizers import find_ema


class SwapAverages(keras.callbacks.Callback):
    """Evaluates on the EMA's averaged weights inside `fit`, then swaps back.

    Keras's `SwapEMAWeights` does this for `optimizer(use_ema=True)`; this is
    the same for `recipekit.optimizers.EMA` (also inside the
    `LossScaleOptimizer` that mixed precision adds). The `val_*` logs are the
    averaged model's; training, and every other callback's `on_epoch_end`
    (`BackupAndRestore`, `ModelCheckpoint`), see the raw weights and the
    averages where they belong.

    Examples:

    >>> optimizer = recipekit.optimizers.EMA(keras.optimizers.SGD(0.1))
    >>> model.compile(optimizer, "sparse_categorical_crossentropy")
    >>> model.fit(train, validation_data=test, callbacks=[SwapAverages()])
    """

    def __init__(self):
        super().__init__()
        self._swapped = False

    def _ema(self):
        ema = find_ema(getattr(self.model, "optimizer", None))
        if ema is None:
            raise ValueError(
                "SwapAverages needs a model compiled with "
                "recipekit.optimizers.EMA(...) as its optimizer. Received: "
                f"{type(getattr(self.model, 'optimizer', None)).__name__}"
            )
        return ema

    def _swap(self, want):
        ema = self._ema()
        if ema.built and self._swapped != want:
            ema.swap()
            self._swapped = want

    def on_train_begin(self, logs=None):
        self._ema()
        self._swapped = False

    def on_test_begin(self, logs=None):
        self._swap(True)

    def on_test_end(self, logs=None):
        self._swap(False)

    def on_train_end(self, logs=None):
        self._swap(False)
