"""Callback state that survives a killed run: a BackupAndRestore that saves it.

Keras's `BackupAndRestore` saves the model's and the optimizer's variables, not
the state of callbacks, so a resumed run would lose EMA averages, snapshots or
plotted history. recipekit's stateful callbacks register themselves with the
model they train; `recipekit.callbacks.BackupAndRestore` (a drop-in subclass of
Keras's) writes their state next to the weights, at the same moments, and
restores it when the run resumes.
"""

import json
import os
import tempfile
import weakref

import keras
import numpy as np

_REGISTRY = weakref.WeakKeyDictionary()


def register(model, callback):
    """Registers a stateful callback (with `get_state`/`set_state`) for `model`."""
    callbacks = _REGISTRY.setdefault(model, [])
    if not any(c is callback for c in callbacks):
        callbacks.append(callback)


def unregister(model, callback):
    callbacks = _REGISTRY.get(model, [])
    callbacks[:] = [c for c in callbacks if c is not callback]


def registered(model):
    return list(_REGISTRY.get(model, []))


def _keys(callbacks):
    counts = {}
    keys = []
    for callback in callbacks:
        name = type(callback).__name__
        keys.append(f"{name}_{counts.get(name, 0)}")
        counts[name] = counts.get(name, 0) + 1
    return keys


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras's `BackupAndRestore`, plus the state of recipekit's callbacks.

    Use it exactly like `keras.callbacks.BackupAndRestore`. Besides the model
    and optimizer it saves the state of every recipekit callback of the same
    `fit` (`EMA` shadow weights and step count, `SnapshotEnsemble` snapshots and
    position, `TrainingCurves` history) to `backup_dir/callback_state.npz`, so a
    run killed mid-training and started again with the same command ends as if
    it had never stopped.

    Args:
        backup_dir: folder for the backup (removed at the end of a completed
            run when `delete_checkpoint`).
        save_freq: `"epoch"` or a number of batches.
        double_checkpoint: keep the previous backup too.
        delete_checkpoint: delete the backup when training completes.

    Example:

    >>> ema = recipekit.callbacks.EMA()
    >>> backup = recipekit.callbacks.BackupAndRestore("runs/backup")
    >>> model.fit(train, epochs=30, callbacks=[ema, backup])
    """

    def __init__(
        self,
        backup_dir,
        save_freq="epoch",
        double_checkpoint=False,
        delete_checkpoint=True,
    ):
        super().__init__(
            backup_dir,
            save_freq=save_freq,
            double_checkpoint=double_checkpoint,
            delete_checkpoint=delete_checkpoint,
        )
        self._state_path = os.path.join(backup_dir, "callback_state.npz")

    @property
    def resume_epoch(self):
        """The epoch a `fit` with this callback will start from (0: no backup).

        Input pipelines that depend on the epoch (a schedule baked into a
        dataset of all epochs, say) use it to skip what was already trained.
        """
        path = os.path.join(self.backup_dir, "training_metadata.json")
        if not os.path.exists(self._weights_path) or not os.path.exists(path):
            return 0
        with open(path) as f:
            return int(json.load(f)["epoch"])

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if not os.path.exists(self._state_path):
            return
        callbacks = registered(self.model)
        with np.load(self._state_path, allow_pickle=False) as saved:
            arrays = {name: saved[name] for name in saved.files}
        for key, callback in zip(_keys(callbacks), callbacks):
            prefix = key + "/"
            state = {
                k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)
            }
            if state:
                callback.set_state(state)

    def _save_model(self):
        super()._save_model()
        callbacks = registered(self.model)
        arrays = {}
        for key, callback in zip(_keys(callbacks), callbacks):
            for name, value in callback.get_state().items():
                arrays[f"{key}/{name}"] = np.asarray(value)
        handle, tmp = tempfile.mkstemp(dir=self.backup_dir, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(tmp, self._state_path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
