"""Keras's `BackupAndRestore`, made to survive a kill at any instant.

Keras 3.15's callback overwrites `latest.weights.h5` in place: a kill (or a
full disk) while the file is open leaves half a file and loses every finished
epoch. `BackupAndRestore` here writes each backup into `backup_dir/.pending/`
first, marks it complete, then renames its files into place; a run restarted
after a kill finishes an interrupted rename or drops an incomplete write, so
the folder always holds one whole backup. It also never backs up non-finite
weights: a NaN or infinite loss stops training (as Keras's `TerminateOnNaN`
does) and the last good backup stays.

`backup_epoch` reads the same files (Keras 3.15's layout, the one place
recipekit does; tests/callbacks/test_keras_backup.py fails loudly if a Keras
upgrade changes it).
"""

import errno
import json
import math
import os
import shutil

import keras
import numpy as np

_METADATA = "training_metadata.json"
_WEIGHTS = "latest.weights.h5"
_PENDING = ".pending"
_COMPLETE = "COMPLETE"


def backup_epoch(backup_dir):
    """The epoch a `fit` with `BackupAndRestore(backup_dir)` resumes at.

    0 when there is no backup. Keras 3.15 resumes a backup written mid-epoch
    (`save_freq` in batches) at the start of that epoch, with the weights of
    the step it was written at; recipes back up once per epoch. A backup write
    cut short by a kill counts as not written, a whole one not yet renamed into
    place as written (the next run finishes it: see `BackupAndRestore`); this
    only reads, so it may watch a running backup. A damaged weights file is
    reported by folder, with what to do.

    Args:
        backup_dir: the `backup_dir` given to `BackupAndRestore`.

    Returns:
        An int >= 0.

    Examples:

    >>> recipekit.callbacks.backup_epoch("runs/none/backup")
    0
    """
    pending = os.path.join(backup_dir, _PENDING)
    if os.path.exists(os.path.join(pending, _COMPLETE)):
        backup_dir = pending  # written whole; the next run renames it into place
    if not os.path.exists(os.path.join(backup_dir, _WEIGHTS)):
        return 0
    _check_weights(backup_dir)  # Also without metadata: a cut first write.
    metadata = os.path.join(backup_dir, _METADATA)
    if not os.path.exists(metadata):
        return 0
    try:
        with open(metadata) as f:
            state = json.load(f)
        epoch = int(state["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"The backup in {backup_dir!r} is unreadable ({error}). Delete the "
            "folder to start the run again from scratch."
        ) from error
    return epoch


def recover(backup_dir):
    """Finishes or drops a backup write that a kill interrupted.

    A complete pending write (its `COMPLETE` mark exists) is renamed into
    place; an incomplete one is removed, leaving the previous backup.
    """
    pending = os.path.join(backup_dir, _PENDING)
    if not os.path.isdir(pending):
        return
    if os.path.exists(os.path.join(pending, _COMPLETE)):
        for name in (_WEIGHTS, _METADATA):
            source = os.path.join(pending, name)
            if os.path.exists(source):
                os.replace(source, os.path.join(backup_dir, name))
    shutil.rmtree(pending)


def _check_weights(backup_dir):
    """Opens the backed-up weights file, so a damaged one is reported here, by
    folder, not deep inside `fit` as a raw HDF5 error."""
    import h5py  # Keras's own weights format; installed with Keras.

    path = os.path.join(backup_dir, _WEIGHTS)
    try:
        with h5py.File(path, "r") as weights:
            weights.visit(lambda name: None)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise ValueError(
            f"The backup in {backup_dir!r} is damaged: {_WEIGHTS} cannot be read "
            f"({type(error).__name__}: {error}). Delete the folder to start the run "
            "again from scratch."
        ) from error


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def all_finite(variables):
    """True when every value of every variable is finite."""
    for variable in variables:
        value = keras.ops.convert_to_numpy(variable)
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            return False
    return True


def state_bytes(model):
    """Bytes a weights file of `model` (and its optimizer) takes, about."""
    variables = list(model.weights)
    if model.optimizer is not None:
        variables += list(model.optimizer.variables)
    total = 0
    for variable in variables:
        shape = [int(d) for d in variable.shape]
        total += int(np.prod(shape)) * np.dtype(variable.dtype).itemsize
    return total


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras's `BackupAndRestore` that no kill, full disk or NaN can undo.

    A drop-in for `keras.callbacks.BackupAndRestore` (same files, same
    resume): each backup is written whole into `backup_dir/.pending/`, marked
    complete, then renamed into place, so a kill at any instant leaves the
    previous backup or the new one, never half a file (the next run finishes
    or drops the interrupted write). Before writing, it checks the disk has
    room for the new backup beside the old one and stops with an error that
    says how much is needed (h5py can crash the process on a full disk).

    A non-finite training loss stops training at that batch, and non-finite
    weights are never backed up: the last good backup stays, and `stopped`
    says where it happened (None while training is sound). With
    `delete_checkpoint=True` the backup is removed at the end of a sound run
    only.

    Args:
        backup_dir: folder for the backup (the run's own; nothing else in it).
        save_freq: `"epoch"`, or back up every this many batches.
        delete_checkpoint: remove the backup when training ends soundly.

    Examples:

    >>> import os, tempfile
    >>> folder = os.path.join(tempfile.mkdtemp(), "backup")
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> x = np.ones((8, 2), "float32")
    >>> backup = recipekit.callbacks.BackupAndRestore(folder, delete_checkpoint=False)
    >>> _ = model.fit(x, x[:, 0], epochs=2, verbose=0, callbacks=[backup])
    >>> sorted(os.listdir(folder)), backup.stopped
    (['latest.weights.h5', 'training_metadata.json'], None)
    >>> recipekit.callbacks.backup_epoch(folder)  # a rerun resumes here
    2
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        if isinstance(save_freq, bool) or not (
            save_freq == "epoch" or (isinstance(save_freq, int) and save_freq >= 1)
        ):
            raise ValueError(
                "Argument `save_freq` must be 'epoch' or an integer >= 1. "
                f"Received: save_freq={save_freq!r}"
            )
        super().__init__(
            backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint
        )
        self.stopped = None
        self._epoch = 0
        self._batches = 0

    @staticmethod
    def recover(backup_dir):
        """Finishes or drops a backup write that a kill interrupted: a
        complete pending write is moved into place, a partial one removed.
        `fit` does this itself; call it before reading a backup from outside
        (`recipekit.run` does, before it reads `backup_epoch`)."""
        recover(backup_dir)

    def on_train_begin(self, logs=None):
        self.stopped = None
        if os.path.isdir(self.backup_dir):
            recover(self.backup_dir)
            backup_epoch(self.backup_dir)  # names a damaged file
        super().on_train_begin(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop(f"non-finite loss ({loss}) at epoch {self._epoch + 1}, "
                       f"batch {batch + 1}")  # fmt: skip
            return
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._write(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._stop(f"non-finite loss ({loss}) in epoch {epoch + 1}")
        elif not all_finite(self.model.weights):
            self._stop(f"non-finite weights after epoch {epoch + 1}")
        elif self.save_freq == "epoch":
            self._write(epoch + 1, 0)

    def on_train_end(self, logs=None):
        if self.stopped is None:
            super().on_train_end(logs)

    def _stop(self, reason):
        kept = backup_epoch(self.backup_dir) if os.path.isdir(self.backup_dir) else 0
        self.stopped = f"{reason}; the backup keeps epoch {kept} ({self.backup_dir})"
        self.model.stop_training = True

    def _write(self, epoch, batch):
        """One whole backup: pending files, a COMPLETE mark, then renames."""
        os.makedirs(self.backup_dir, exist_ok=True)
        recover(self.backup_dir)
        needed = int(state_bytes(self.model) * 1.1) + 2**20
        free = shutil.disk_usage(self.backup_dir).free
        if free < needed:
            raise OSError(
                errno.ENOSPC,
                f"No room for the backup in {self.backup_dir!r}: it needs about "
                f"{needed / 2**20:.1f} MB, {free / 2**20:.1f} MB are free. Free "
                "some space and run the same command again: it resumes from the "
                "last backup",
            )
        pending = os.path.join(self.backup_dir, _PENDING)
        os.makedirs(pending)
        weights = os.path.join(pending, _WEIGHTS)
        self.model.save_weights(weights, overwrite=True)
        with open(os.path.join(pending, _METADATA), "w") as f:
            json.dump({"epoch": epoch, "batch": batch}, f)
            f.flush()
            os.fsync(f.fileno())
        _fsync(weights)
        with open(os.path.join(pending, _COMPLETE + ".tmp"), "w") as f:
            f.write("complete")
            f.flush()
            os.fsync(f.fileno())
        os.replace(
            os.path.join(pending, _COMPLETE + ".tmp"), os.path.join(pending, _COMPLETE)
        )
        _fsync(pending)
        recover(self.backup_dir)
        _fsync(self.backup_dir)

    def get_config(self):
        return {
            "backup_dir": self.backup_dir,
            "save_freq": self.save_freq,
            "delete_checkpoint": self.delete_checkpoint,
        }
