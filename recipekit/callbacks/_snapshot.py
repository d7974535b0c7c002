"""Snapshot ensembles (Huang et al., 2017): train 1, get M for free."""

import os

import keras
import numpy as np

from recipekit._checks import is_integer
from recipekit._io import atomic_path
from recipekit.callbacks._keras_backup import all_finite


class SnapshotEnsemble(keras.callbacks.Callback):
    """Saves a snapshot of the weights at the end of each learning-rate cycle.

    Huang et al. (2017) split a run into `M = num_snapshots` equal cycles,
    anneal the learning rate within each by a cosine that restarts at
    `lr_max`, `lr = lr_max / 2 * (cos(pi * (t mod T_c) / T_c) + 1)`, per step,
    and keep the weights at the end of each cycle; averaging the snapshots'
    predictions gives an ensemble for the cost of one run. The rate is Keras's
    own `CosineDecayRestarts` with `t_mul=1, m_mul=1` (`SnapshotEnsemble.schedule`
    builds it), driven by `optimizer.iterations`, so it is exact with
    `steps_per_execution > 1` and resumes with the optimizer. Cycles are whole
    epochs (`epochs` must be a multiple of `num_snapshots`), so a snapshot is
    taken at an epoch's end, where every backend has its weights in hand.

    Snapshots are kept in memory (`directory=None`) or written to
    `directory/snapshot_<i>.weights.h5` (atomically); `.snapshots` lists them,
    and `recipekit.models.ensemble_model(model, snapshots)` builds the averaged
    model. A cycle that ends with non-finite weights gives no snapshot: training
    stops there, and `stopped` says so (None while training is sound). Written
    snapshots survive a killed run resumed by Keras's `BackupAndRestore`;
    in-memory ones do not (the resumed run says so).

    Args:
        num_snapshots: number of cycles and snapshots M (>= 1).
        directory: where to write snapshots, or None to keep them in memory.
        model: the model whose weights are snapshotted; default the model
            being trained. Pass the network when `fit` trains a wrapper around
            it (`DeviceImages.training_model(net)`), so the snapshots load
            into the network and `ensemble_model(net, snapshots)`.

    Examples:

    >>> epochs, steps = 6, 40
    >>> schedule = SnapshotEnsemble.schedule(0.2, epochs, steps, num_snapshots=3)
    >>> model.compile(keras.optimizers.SGD(schedule, momentum=0.9), ...)
    >>> snapshots = SnapshotEnsemble(3, directory="runs/snapshots")
    >>> model.fit(train, epochs=epochs, callbacks=[snapshots])
    >>> ensemble = recipekit.models.ensemble_model(model, snapshots.snapshots)
    """

    def __init__(self, num_snapshots, directory=None, model=None):
        super().__init__()
        _check_count(num_snapshots)
        if model is not None and not isinstance(model, keras.Model):
            raise ValueError(
                f"Argument `model` must be a keras.Model or None. Received: {model!r}"
            )
        self._target = model
        if directory is not None:
            try:
                os.makedirs(directory, exist_ok=True)
                probe = os.path.join(directory, ".write_test")
                with open(probe, "w") as f:
                    f.write("ok")
                os.remove(probe)
            except OSError as error:
                raise ValueError(
                    f"Argument `directory`={directory!r} cannot be written: {error}"
                ) from error
        self.num_snapshots = num_snapshots
        self.directory = directory
        self._snapshots = []
        self._first_epoch = True
        self.stopped = None

    @staticmethod
    def schedule(lr_max, epochs, steps_per_epoch, num_snapshots):
        """The cyclic cosine rate: Keras's `CosineDecayRestarts`, M equal cycles.

        Examples:

        >>> s = SnapshotEnsemble.schedule(0.2, epochs=4, steps_per_epoch=3,
        ...                               num_snapshots=2)
        >>> print([round(float(s(t)), 4) for t in (0, 3, 6)])
        [0.2, 0.1, 0.2]
        """
        _check_count(num_snapshots)
        if not 0 < lr_max < float("inf"):  # NaN fails too
            raise ValueError(
                f"Argument `lr_max` must be a finite number > 0. Received: {lr_max!r}"
            )
        if epochs % num_snapshots:
            raise ValueError(
                f"epochs={epochs} is not a multiple of num_snapshots="
                f"{num_snapshots}: snapshot cycles are whole epochs."
            )
        cycle = epochs // num_snapshots * steps_per_epoch
        return keras.optimizers.schedules.CosineDecayRestarts(
            float(lr_max), cycle, t_mul=1.0, m_mul=1.0, alpha=0.0
        )

    @property
    def snapshots(self):
        """Snapshot file paths (with `directory`) or weight lists (in memory)."""
        return list(self._snapshots)

    def _path(self, index):
        return os.path.join(self.directory, f"snapshot_{index}.weights.h5")

    def on_train_begin(self, logs=None):
        epochs = self.params.get("epochs")
        if epochs % self.num_snapshots:
            raise ValueError(
                f"SnapshotEnsemble({self.num_snapshots}) needs epochs divisible by "
                f"{self.num_snapshots} (cycles are whole epochs); fit has "
                f"epochs={epochs}."
            )
        self.cycle_epochs = epochs // self.num_snapshots
        self._first_epoch = True
        self.stopped = None

    def on_epoch_begin(self, epoch, logs=None):
        if not self._first_epoch:
            return
        self._first_epoch = False
        # The snapshots of the cycles finished before this (possibly resumed)
        # epoch; nothing from a later cycle of an earlier run.
        done = epoch // self.cycle_epochs
        if self.directory is None:
            if done > len(self._snapshots):
                raise ValueError(
                    f"This run resumes at epoch {epoch}, after {done} snapshot "
                    "cycles, but in-memory snapshots do not survive a restart. "
                    "Pass `directory=` to SnapshotEnsemble to resume such runs."
                )
            self._snapshots = self._snapshots[:done]
            return
        missing = [i for i in range(done) if not os.path.exists(self._path(i))]
        if missing:
            raise ValueError(
                f"This run resumes at epoch {epoch}, but snapshot file "
                f"{self._path(missing[0])!r} is missing from a finished cycle."
            )
        self._snapshots = [self._path(i) for i in range(done)]

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.cycle_epochs == 0:
            index = len(self._snapshots)
            target = self._target if self._target is not None else self.model
            if not all_finite(target.weights):
                # Never a NaN member: no snapshot, and training stops here.
                self.stopped = f"non-finite weights at the end of cycle {index + 1}"
                self.model.stop_training = True
            elif self.directory is None:
                self._snapshots.append([np.array(w) for w in target.get_weights()])
            else:
                path = self._path(index)
                with atomic_path(path, ".weights.h5") as tmp:
                    target.save_weights(tmp)
                self._snapshots.append(path)
        if logs is not None:
            logs["snapshots"] = len(self._snapshots)

    def get_config(self):
        return {"num_snapshots": self.num_snapshots, "directory": self.directory}


def _check_count(num_snapshots):
    if not is_integer(num_snapshots) or num_snapshots < 1:
        raise ValueError(
            "Argument `num_snapshots` must be an integer >= 1. Received: "
            f"num_snapshots={num_snapshots!r}"
        )
