"""Keras callbacks: learning-rate control, weight averaging, ensembles, curves."""

from recipekit.callbacks._batch_norm import recompute_batch_norm
from recipekit.callbacks._curves import TrainingCurves
from recipekit.callbacks._ema import EMA
from recipekit.callbacks._snapshot import SnapshotEnsemble, ensemble_model
from recipekit.callbacks._state import BackupAndRestore
from recipekit.callbacks._step_decay import StepDecay

__all__ = [
    "EMA",
    "BackupAndRestore",
    "SnapshotEnsemble",
    "StepDecay",
    "TrainingCurves",
    "ensemble_model",
    "recompute_batch_norm",
]
