"""Snapshot ensembles (Huang et al., 2017): train 1, get M for free."""

import math
import os

import keras
import numpy as np

from recipekit.callbacks import _state
from recipekit.callbacks._lr_control import LearningRateController
from recipekit.models._outputs import ends_in_softmax


class SnapshotEnsemble(LearningRateController):
    """Cyclic cosine annealing per step, with a snapshot at the end of each cycle.

    Huang et al. (2017) split a run of `T` steps into `M = num_snapshots`
    cycles of `T_c = ceil(T / M)` steps and anneal the learning rate within
    each one, `lr = lr_max / 2 * (cos(pi * (t mod T_c) / T_c) + 1)`, restarting
    at `lr_max`; the weights at the end of each cycle are a snapshot, and
    averaging the snapshots' predictions gives an ensemble at the cost of one
    training run. Keras has no snapshot ensembles, and its learning-rate
    schedulers step per epoch where the paper anneals per step.

    Snapshots are kept in memory (`directory=None`) or written to
    `directory/snapshot_<i>.weights.h5`; `.snapshots` lists them, and
    `ensemble_model(model, ensemble.snapshots)` builds the averaged model. The
    rate of each epoch's last step is written into the logs as `learning_rate`.

    Args:
        num_snapshots: number of cycles and snapshots M (>= 1).
        lr_max: the rate at the start of each cycle.
        directory: where to write snapshots, or None to keep them in memory.

    Example:

    >>> snapshots = recipekit.callbacks.SnapshotEnsemble(5, lr_max=0.2)
    >>> model.fit(train, epochs=200, callbacks=[snapshots])
    >>> ensemble = recipekit.callbacks.ensemble_model(model, snapshots.snapshots)
    >>> ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> ensemble.evaluate(test)
    """

    def __init__(self, num_snapshots, lr_max=0.1, directory=None):
        super().__init__()
        if (
            isinstance(num_snapshots, bool)
            or not isinstance(num_snapshots, int)
            or num_snapshots < 1
        ):
            raise ValueError(
                "Argument `num_snapshots` must be an integer >= 1. Received: "
                f"num_snapshots={num_snapshots!r}"
            )
        if (
            isinstance(lr_max, bool)
            or not isinstance(lr_max, int | float)
            or lr_max <= 0
        ):
            raise ValueError(
                f"Argument `lr_max` must be > 0. Received: lr_max={lr_max!r}"
            )
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
        self.lr_max = float(lr_max)
        self.directory = directory
        self._snapshots = []
        self._restored = False
        self._step = 0

    @property
    def snapshots(self):
        """Snapshot file paths (with `directory`) or weight lists (in memory)."""
        return list(self._snapshots)

    def learning_rate(self, step):
        """The rate at global step `step` (0-based) of the run."""
        position = step % self.cycle_length
        return self.lr_max / 2 * (math.cos(math.pi * position / self.cycle_length) + 1)

    def set_model(self, model):
        super().set_model(model)
        self._check_optimizer(model)
        _state.register(model, self)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        steps, epochs = self.params.get("steps"), self.params.get("epochs")
        if not steps:
            raise ValueError(
                "SnapshotEnsemble needs the number of steps per epoch; pass "
                "`steps_per_epoch` to fit or use a dataset of known size."
            )
        self.total_steps = steps * epochs
        if self.num_snapshots > self.total_steps:
            raise ValueError(
                f"num_snapshots={self.num_snapshots} exceeds the {self.total_steps} "
                f"training steps of this run ({epochs} epochs x {steps} steps); "
                "use fewer snapshots or train longer."
            )
        self.cycle_length = math.ceil(self.total_steps / self.num_snapshots)
        self._steps_per_epoch = steps
        if not self._restored:
            self._snapshots = []

    def on_epoch_begin(self, epoch, logs=None):
        self._step = epoch * self._steps_per_epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._check_untouched(batch)
        self._set(self.learning_rate(self._step))

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.cycle_length == 0 or self._step == self.total_steps:
            self._take_snapshot()

    def _take_snapshot(self):
        index = len(self._snapshots)
        if index >= self.num_snapshots:
            return
        if self.directory is None:
            self._snapshots.append([np.array(w) for w in self.model.get_weights()])
        else:
            path = os.path.join(self.directory, f"snapshot_{index}.weights.h5")
            self.model.save_weights(path, overwrite=True)
            self._snapshots.append(path)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self._last_set
            logs["snapshots"] = len(self._snapshots)

    def on_train_end(self, logs=None):
        self._restored = False
        _state.unregister(self.model, self)

    # State for BackupAndRestore ---------------------------------------------

    def get_state(self):
        state = {"count": np.asarray(len(self._snapshots))}
        for i, snapshot in enumerate(self._snapshots):
            if isinstance(snapshot, str):
                state[f"path_{i}"] = np.asarray(snapshot)
            else:
                for j, w in enumerate(snapshot):
                    state[f"weights_{i}_{j}"] = w
        return state

    def set_state(self, state):
        snapshots = []
        for i in range(int(state["count"])):
            if f"path_{i}" in state:
                snapshots.append(str(state[f"path_{i}"]))
            else:
                count = len([k for k in state if k.startswith(f"weights_{i}_")])
                snapshots.append([state[f"weights_{i}_{j}"] for j in range(count)])
        self._snapshots = snapshots
        self._restored = True

    def get_config(self):
        return {
            "num_snapshots": self.num_snapshots,
            "lr_max": self.lr_max,
            "directory": self.directory,
        }


def ensemble_model(model, snapshots, name="snapshot_ensemble"):
    """One Keras model that averages the softmax outputs of several snapshots.

    Each snapshot (a `.weights.h5` path or a list of weights as from
    `model.get_weights()`) is loaded into a clone of `model`; the ensemble's
    output is the mean of their probabilities. A model that outputs logits
    (no final softmax) gets a softmax on each member first, so the ensemble
    always averages probabilities. The result can be compiled, evaluated in one
    pass over the data, saved and loaded like any model.

    Args:
        model: the architecture the snapshots were taken from.
        snapshots: a list of paths or weight lists (>= 1).
        name: the ensemble model's name.

    Returns:
        A functional `keras.Model` with the same inputs as `model`.

    Example:

    >>> ensemble = recipekit.callbacks.ensemble_model(model, snapshots.snapshots)
    """
    if not snapshots:
        raise ValueError("ensemble_model() needs at least one snapshot.")
    members = []
    for i, snapshot in enumerate(snapshots):
        member = keras.models.clone_model(model)
        member.name = f"{name}_member_{i}"
        try:
            if isinstance(snapshot, str | os.PathLike):
                if not os.path.exists(snapshot):
                    raise FileNotFoundError(
                        f"Snapshot file {snapshot!r} does not exist."
                    )
                member.load_weights(snapshot)
            else:
                member.set_weights(snapshot)
        except (ValueError, KeyError) as error:
            raise ValueError(
                f"Snapshot {snapshot if isinstance(snapshot, str) else i!r} does not "
                f"match the model {model.name!r}: {error}"
            ) from error
        members.append(member)
    inputs = keras.Input(model.input_shape[1:], name=f"{name}_input")
    softmax = not ends_in_softmax(model)
    outputs = []
    for member in members:
        y = member(inputs)
        if softmax:
            y = keras.layers.Softmax(dtype="float32")(y)
        outputs.append(y)
    average = outputs[0] if len(outputs) == 1 else keras.layers.Average()(outputs)
    return keras.Model(inputs, average, name=name)
