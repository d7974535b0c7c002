"""Optimizer tour surfaces and paths; LR schedules and per-variable LR factors."""

from recipekit.optimizers._multipliers import scale_learning_rates
from recipekit.optimizers._schedules import PiecewiseLinear
from recipekit.optimizers._surfaces import (
    BOWL,
    OPTIMIZERS,
    SADDLE,
    SURFACES,
    TWO_WELLS,
    Surface,
    grid,
)
from recipekit.optimizers._trajectory import (
    adam_without_bias_correction,
    keras_trajectory,
    lbfgs_trajectory,
)

__all__ = [
    "BOWL",
    "OPTIMIZERS",
    "PiecewiseLinear",
    "SADDLE",
    "SURFACES",
    "TWO_WELLS",
    "Surface",
    "adam_without_bias_correction",
    "grid",
    "keras_trajectory",
    "lbfgs_trajectory",
    "scale_learning_rates",
]
