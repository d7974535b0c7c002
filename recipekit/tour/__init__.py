"""The optimizer tour's demonstration pieces: loss surfaces and optimizer paths.

Kept apart from `recipekit.optimizers` (what a training run uses): these exist
to draw how SGD, momentum, Adam and L-BFGS move on small 2-D surfaces.
"""

from recipekit.tour._surfaces import (
    BOWL,
    OPTIMIZERS,
    SADDLE,
    SURFACES,
    TWO_WELLS,
    Surface,
    grid,
)
from recipekit.tour._trajectory import (
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
