"""recipekit: known-good Keras training recipes as parts that drop into `model.fit`."""

from recipekit import (
    augment,
    callbacks,
    data,
    distribute,
    layers,
    models,
    optimizers,
    transfer,
)

__version__ = "0.1.0"

__all__ = [
    "augment",
    "callbacks",
    "data",
    "distribute",
    "layers",
    "models",
    "optimizers",
    "transfer",
]
