"""Keras callbacks for what must watch a run from outside: curves, snapshots, rates."""

from recipekit.callbacks._best import BestCheckpoints
from recipekit.callbacks._curves import TrainingCurves
from recipekit.callbacks._epoch_times import EpochTimes
from recipekit.callbacks._keras_backup import (
    BackupAndRestore,
    all_finite,
    backup_epoch,
)
from recipekit.callbacks._snapshot import SnapshotEnsemble
from recipekit.callbacks._step_decay import StepDecay
from recipekit.callbacks._swap_averages import SwapAverages
from recipekit.callbacks._validate import Validate
from recipekit.callbacks._whitening_bias import StopWhiteningBias

__all__ = [
    "BackupAndRestore",
    "BestCheckpoints",
    "EpochTimes",
    "SnapshotEnsemble",
    "StepDecay",
    "StopWhiteningBias",
    "SwapAverages",
    "TrainingCurves",
    "Validate",
    "all_finite",
    "backup_epoch",
]
