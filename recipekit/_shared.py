"""Private helpers that every recipekit package may use (and only these).

A package never imports another package's private module: what two packages
share lives here (argument checks: `recipekit._checks`).

Strict JSON: Python's `json` writes NaN and infinity as bare `NaN` and
`Infinity`, which other parsers refuse; recipekit writes them as null.
"""

import json
import math
import os

import keras
import numpy as np

# StochasticDepth's modes, which cifar_resnet checks too.
STOCHASTIC_DEPTH_MODES = ("row", "batch")


def strict_json(value):
    """`value` with every NaN or infinity as None: strict JSON, which
    parsers other than Python's accept (`json.dump` writes bare `NaN`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_json(path, value, indent=2):
    """Writes strict JSON atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(strict_json(value), f, indent=indent, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:
        if error.filename:
            raise
        raise OSError(error.errno, error.strerror, path) from error  # name it
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def is_tf_dataset(value):
    """True for a `tf.data.Dataset`, without importing TensorFlow otherwise."""
    module = type(value).__module__
    return module.startswith("tensorflow") and hasattr(value, "element_spec")


def pixel_moments(images_or_dataset, batch_size=1024, extremes=False):
    """Per-channel mean and covariance of all pixels, streamed in float64.

    Args:
        images_or_dataset: an array or tensor `(N, H, W, C)`, or a
            `tf.data.Dataset` of images or `(image, label)`, batched or not.
        batch_size: images per streamed batch when the input is not batched.
        extremes: also return the smallest and largest pixel value.

    Returns:
        `(mean, covariance, dtype)`: shapes `(C,)` and `(C, C)` in the images'
        units, and the images' numpy dtype; with `extremes`, `(low, high)` too.
    """
    if is_tf_dataset(images_or_dataset):
        dataset = images_or_dataset
        if isinstance(dataset.element_spec, tuple):
            dataset = dataset.map(lambda image, *rest: image)
        if dataset.element_spec.shape.rank == 3:
            dataset = dataset.batch(batch_size)
        batches = iter(dataset)
    else:
        array = images_or_dataset
        batches = (array[i : i + batch_size] for i in range(0, len(array), batch_size))
    count, total, outer, dtype = 0, 0.0, 0.0, None
    low, high = np.inf, -np.inf
    for batch in batches:
        batch = np.asarray(batch)
        if batch.ndim != 4:
            raise ValueError(
                "Expected images of shape (N, H, W, C). Received a batch of shape "
                f"{batch.shape}"
            )
        dtype = batch.dtype
        pixels = batch.reshape(-1, batch.shape[-1]).astype(np.float64)
        total += pixels.sum(axis=0)
        outer += pixels.T @ pixels
        count += len(pixels)
        if extremes and pixels.size:
            low, high = min(low, pixels.min()), max(high, pixels.max())
    if count < 2:
        raise ValueError("Pixel statistics need a dataset with at least two pixels.")
    mean = total / count
    moments = (mean, outer / count - np.outer(mean, mean), dtype)
    return (*moments, (float(low), float(high))) if extremes else moments


def ends_in_softmax(model):
    """True when the model's last layer applies a softmax (it outputs probabilities).

    TTA and snapshot ensembles average probabilities; a model for which this is
    False is taken to output logits and gets a softmax first.
    """
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return True
    return getattr(getattr(last, "activation", None), "__name__", None) == "softmax"


def decay_epochs(epochs, fractions):
    """Epochs nearest `fractions` of a run, without epoch 0 or the run's end."""
    if any(not 0 < f < 1 for f in fractions):
        raise ValueError(
            "Argument `fractions` must be numbers in (0, 1). Received: "
            f"fractions={fractions!r}"
        )
    rounded = {round(f * epochs) for f in fractions}
    return sorted(b for b in rounded if 1 <= b < epochs)


def check_boundaries(boundaries, unit):
    """`boundaries` as strictly increasing whole numbers >= 1, or a ValueError.

    Whole numbers only: `int(2.9)` would silently be 2, and the string "12"
    iterates as [1, 2]. `unit` ("steps", "epoch numbers") is for the message.
    """

    def whole(b):
        if isinstance(b, bool):
            return False
        if isinstance(b, int | np.integer):
            return True
        return isinstance(b, float | np.floating) and float(b).is_integer()

    try:
        values = None if isinstance(boundaries, str | bytes) else list(boundaries)
    except TypeError:
        values = None
    if values is None or not all(whole(b) for b in values):
        raise ValueError(
            f"Argument `boundaries` must be a list of whole {unit}. Received: "
            f"boundaries={boundaries!r}"
        )
    values = [int(b) for b in values]
    if any(b < 1 for b in values) or values != sorted(set(values)):
        raise ValueError(
            f"Argument `boundaries` must be strictly increasing {unit} >= 1. "
            f"Received: boundaries={boundaries!r}"
        )
    return values


def find_ema(optimizer):
    """The `EMA` inside `optimizer` (through Keras's LossScaleOptimizer), or None."""
    from recipekit.optimizers import EMA  # here: optimizers imports this module

    while optimizer is not None:
        if isinstance(optimizer, EMA):
            return optimizer
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return None
