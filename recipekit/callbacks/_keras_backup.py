"""The one place recipekit reads the files of Keras's `BackupAndRestore`.

Keras offers no public way to ask, before `fit`, which epoch a backup will
resume from; input pipelines that bake every epoch into one stream (seeded
shuffles and flips that depend on the epoch) need it to skip what was trained.
This reads `training_metadata.json`, which Keras 3.15 writes next to the
backed-up weights. tests/callbacks/test_keras_backup.py fails loudly if a Keras
upgrade changes that layout.
"""

import json
import os

_METADATA = "training_metadata.json"
_WEIGHTS = "latest.weights.h5"


def backup_epoch(backup_dir):
    """The epoch a `fit` with `keras.callbacks.BackupAndRestore(backup_dir)` resumes at.

    0 when there is no backup. Keras 3.15 resumes a backup written mid-epoch
    (`save_freq` in batches) at the start of that epoch, with the weights of
    the step it was written at; recipes back up once per epoch.

    Args:
        backup_dir: the `backup_dir` given to `BackupAndRestore`.

    Returns:
        An int >= 0.

    Example:

    >>> recipekit.callbacks.backup_epoch("runs/none/backup")
    0
    """
    metadata = os.path.join(backup_dir, _METADATA)
    if not os.path.exists(os.path.join(backup_dir, _WEIGHTS)):
        return 0
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
    _check_weights(backup_dir)
    return epoch


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
