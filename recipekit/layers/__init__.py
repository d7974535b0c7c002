"""Layers Keras does not ship: regularizers named for what they drop, a
BatchNorm + activation with one hand-written gradient, and a Conv2D whose
kernel gradient is computed tap by tap."""

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
from recipekit.layers._tap_conv import TapConv2D

__all__ = [
    "BatchNormAct",
    "DropConnectConv2D",
    "DropConnectDense",
    "FractionalMaxPooling2D",
    "StochasticDepth",
    "TapConv2D",
    "average_random_layouts",
    "drop_path",
    "linear_decay_rates",
]
