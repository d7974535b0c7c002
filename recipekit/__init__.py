"""recipekit: known-good Keras training recipes as parts that drop into `model.fit`.

Subpackages are imported when first used, so `import recipekit` is cheap and
works without TensorFlow (on Keras's JAX or PyTorch backend); the parts that
are tf.data by nature (`recipekit.data.pipeline`, the tf.data augmentation
ops) import TensorFlow when they are called.
"""

import importlib

__version__ = "0.1.0"

__all__ = [
    "augment",
    "callbacks",
    "data",
    "distribute",
    "evaluate",
    "layers",
    "models",
    "optimizers",
    "tour",
    "transfer",
]


def __getattr__(name):
    if name in __all__:
        module = importlib.import_module(f"recipekit.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'recipekit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
