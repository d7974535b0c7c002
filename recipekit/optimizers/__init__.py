"""Optimizer tour: 2-D loss surfaces and optimizer paths (Keras's own optimizers)."""

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
    "SADDLE",
    "SURFACES",
    "TWO_WELLS",
    "Surface",
    "adam_without_bias_correction",
    "grid",
    "keras_trajectory",
    "lbfgs_trajectory",
]
