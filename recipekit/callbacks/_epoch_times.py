"""`EpochTimes`: each epoch's training seconds, written into its logs."""

import time

import keras


class EpochTimes(keras.callbacks.Callback):
    """Adds `epoch_time_s`, the seconds from an epoch's first step to its
    last, to that epoch's logs.

    Keras times nothing a run can keep: its progress bar shows a rate, and a
    `LambdaCallback` list of times dies with the process. In the logs, the
    time goes wherever the logs go: `TrainingCurves` writes it into its JSON
    history and CSV log and reads it back when `BackupAndRestore` resumes a
    killed run, so a resumed run still knows every epoch's time. Put this
    callback first: callbacks after it (validation, curves, backups) are left
    out of the time, as the CIFAR speed records time their epochs.

    Examples:

    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> history = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=2, verbose=0,
    ...                     callbacks=[EpochTimes()])
    >>> times = history.history["epoch_time_s"]
    >>> len(times), min(times) > 0
    (2, True)
    """

    def on_train_begin(self, logs=None):
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._start is not None:
            logs["epoch_time_s"] = time.perf_counter() - self._start
