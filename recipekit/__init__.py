"""recipekit: known-good Keras training recipes as parts that drop into `model.fit`.

`import recipekit` registers every layer, schedule and optimizer it ships (so
`keras.saving.load_model` finds them) and works without TensorFlow, on Keras's
JAX or PyTorch backend: the parts that are tf.data by nature import TensorFlow
when they are first used (`recipekit.data.pipeline`, `augment.albumentations_map`).
`recipekit.transfer` and `recipekit.tour` are imported when first used.

`import recipekit` does nothing but import: the quiet start-up the recipes
and `recipekit-tta` use is their own call (`recipekit_cli.quiet_start()`).
"""

import importlib

try:
    import keras  # noqa: F401  (and with it the backend KERAS_BACKEND names)
except ModuleNotFoundError as _error:
    raise ImportError(
        f"recipekit needs Keras and one Keras backend, and {_error.name!r} is not "
        "installed. Install the backend's extra: pip install 'recipekit[tensorflow]' "
        "(Keras's default backend, and the tf.data path), 'recipekit[jax]' or "
        "'recipekit[torch]', and pick it with KERAS_BACKEND=tensorflow|jax|torch."
    ) from _error

from recipekit import (  # noqa: E402
    augment,
    callbacks,
    data,
    distribute,
    evaluate,
    layers,
    losses,
    models,
    optimizers,
    report,
    run,
)

__version__ = "0.1.0"

_LAZY = ("tour", "transfer")

__all__ = [
    "augment",
    "callbacks",
    "data",
    "distribute",
    "evaluate",
    "layers",
    "losses",
    "models",
    "optimizers",
    "report",
    "run",
    "tour",
    "transfer",
]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f"recipekit.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'recipekit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
