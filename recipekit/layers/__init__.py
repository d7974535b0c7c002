"""Layers Keras does not ship: regularizers named for what they drop, and a
BatchNorm + activation with one hand-written gradient."""

from recipekit.layers._batch_norm_act import BatchNormAct
from recipekit.layers._drop_connect import DropConnectConv2D, DropConnectDense
from recipekit.layers._fractional_max_pooling import (
    FractionalMaxPooling2D,
    average_random_layouts,
)
from recipekit.layers._stochastic_depth import (
    StochasticDepth,
    drop_path,
    linear_decay_rates,
)

__all__ = [
    "BatchNormAct",
    "DropConnectConv2D",
    "DropConnectDense",
    "FractionalMaxPooling2D",
    "StochasticDepth",
    "average_random_layouts",
    "drop_path",
    "linear_decay_rates",
]
