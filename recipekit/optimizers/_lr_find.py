"""The learning-rate range test (Smith, 2017; fastai's `lr_find`)."""

import dataclasses
import math
import sys

import keras
import numpy as np

from recipekit._checks import check_number, is_integer
from recipekit._keras_utils import is_tf_dataset


@dataclasses.dataclass
class LRFindResult:
    """What `lr_find` measured: each step's rate and loss, and its suggestions.

    Attributes:
        rates: the learning rate of each step.
        losses: each step's training loss (of that batch alone).
        smoothed: the losses smoothed (an exponential average, bias-corrected).
        suggestion: the rate where the smoothed loss falls fastest against
            log(rate) (fastai's "steep"), the usual pick.
        minimum_over_10: a tenth of the rate at the smoothed loss's minimum
            (fastai's older rule), a more cautious pick.
    """

    rates: list
    losses: list
    smoothed: list
    suggestion: float
    minimum_over_10: float

    def plot(self, path):
        """Writes the loss against the rate (log scale), the picks marked."""
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6.5, 4))
        axis = figure.subplots()
        axis.plot(self.rates, self.losses, color="0.75", label="loss of the batch")
        axis.plot(self.rates, self.smoothed, label="smoothed")
        picks = ((self.suggestion, "steepest", "--"),
                 (self.minimum_over_10, "minimum / 10", ":"))  # fmt: skip
        for rate, label, style in picks:
            axis.axvline(rate, color="k", linestyle=style, label=f"{label}: {rate:.2g}")
        axis.set_xscale("log")
        axis.set_xlabel("learning rate")
        axis.set_ylabel("training loss")
        axis.set_title("Learning-rate range test")
        top = min(max(self.smoothed), 4 * min(self.smoothed) + 1e-12)
        axis.set_ylim(min(self.losses) * 0.95, top * 1.05)
        axis.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(path, dpi=110)


def _rate_variable(optimizer):
    """The learning-rate variable that steps the weights (inside wrappers)."""
    while getattr(optimizer, "inner_optimizer", None) is not None:
        optimizer = optimizer.inner_optimizer
    rate = optimizer.learning_rate  # a variable, or a schedule's current value
    if not isinstance(rate, keras.Variable):
        raise ValueError(
            "lr_find() sets the learning rate step by step, but this optimizer's "
            "rate is a schedule. Pass optimizer=... with a float rate, e.g. "
            "keras.optimizers.SGD(0.1, momentum=0.9)."
        )
    return rate


def _batches(x, y, batch_size, seed):
    """Endless batches: arrays shuffled each pass, or a dataset repeated."""
    if is_tf_dataset(x) or y is None and not isinstance(x, np.ndarray):
        while True:
            empty = True
            for batch in x:
                empty = False
                yield batch if isinstance(batch, tuple) else (batch, None)
            if empty:
                raise ValueError("lr_find() got an empty dataset.")
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or not len(x):
        raise ValueError(
            f"lr_find() needs as many labels as images, at least one. Received "
            f"{len(x)} images and {len(y)} labels."
        )
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x) - batch_size + 1, batch_size):
            pick = order[start : start + batch_size]
            yield x[pick], y[pick]


def lr_find(model, x, y=None, optimizer=None, min_lr=1e-7, max_lr=10.0,
            steps=100, batch_size=32, diverge=4.0, smoothing=0.98, seed=0,
            verbose="auto"):  # fmt: skip
    """The learning-rate range test: trains with an exponentially growing rate.

    Each step trains one batch at a rate from `min_lr` to `max_lr` (a
    geometric sweep over `steps` steps) and records that batch's loss; the
    sweep stops early once the smoothed loss exceeds `diverge` times its
    minimum. The model is left as it was: its weights (BatchNorm statistics
    included) are restored and it is compiled again as before, with its own
    optimizer, which the sweep never steps (the sweep uses a copy, or
    `optimizer`). Keras has no range test; fastai's `lr_find` is the model.

    Args:
        model: a compiled Keras model.
        x: inputs (an array), or a `tf.data.Dataset` (or any iterable) of
            `(inputs, labels)` batches.
        y: labels, with array inputs.
        optimizer: the optimizer to sweep with; default a copy of the model's.
            Its rate must be a float (not a schedule).
        min_lr: the sweep's first rate, > 0.
        max_lr: the sweep's last rate, > min_lr.
        steps: batches in the sweep, >= 2.
        batch_size: images per step, with array inputs.
        diverge: stop once the smoothed loss exceeds this many times its
            minimum (> 1).
        smoothing: the exponential average's weight of the past, in [0, 1).
        seed: the order of the batches, with array inputs.
        verbose: a progress bar (`"auto"`: on a terminal).

    Returns:
        An `LRFindResult`: `rates`, `losses`, `smoothed`, `suggestion`,
        `minimum_over_10`, and `plot(path)`.

    Examples:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    >>> model.compile(keras.optimizers.SGD(0.1), keras.losses.
    ...               SparseCategoricalCrossentropy(from_logits=True))
    >>> x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> before = model.get_weights()
    >>> found = lr_find(model, x, y, min_lr=1e-4, max_lr=100.0, steps=60)
    >>> 1e-4 <= found.suggestion <= 100.0, len(found.rates) <= 60
    (True, True)
    >>> all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    True
    """
    if getattr(model, "optimizer", None) is None:
        raise ValueError("lr_find() needs a compiled model: call model.compile(...).")
    min_lr = check_number("min_lr", min_lr, "(0, inf)")
    max_lr = check_number("max_lr", max_lr, "(0, inf)")
    if not min_lr < max_lr:
        raise ValueError(
            f"Argument `min_lr` must be below `max_lr`. Received: min_lr={min_lr}, "
            f"max_lr={max_lr}"
        )
    steps = check_number("steps", steps, "[2, inf)", integer=True)
    batch_size = check_number("batch_size", batch_size, "[1, inf)", integer=True)
    diverge = check_number("diverge", diverge, "(1, inf)")
    smoothing = check_number("smoothing", smoothing, "[0, 1)")
    if not is_integer(seed):
        raise ValueError(f"Argument `seed` must be an int. Received: seed={seed!r}")
    compiled = keras.saving.deserialize_keras_object(model.get_compile_config())
    own_optimizer = model.optimizer
    sweep_optimizer = optimizer or compiled["optimizer"]
    rate = _rate_variable(sweep_optimizer)
    weights = model.get_weights()
    rates = np.geomspace(min_lr, max_lr, steps)
    verbose = sys.stdout.isatty() if verbose == "auto" else bool(verbose)
    bar = keras.utils.Progbar(steps, stateful_metrics=["loss"]) if verbose else None
    losses, smoothed, average, best = [], [], 0.0, math.inf
    model.compile(**{**compiled, "optimizer": sweep_optimizer})
    try:
        batches = _batches(x, y, batch_size, seed)
        for step, step_rate in enumerate(rates):
            rate.assign(step_rate)
            inputs, labels = next(batches)
            loss = model.train_on_batch(inputs, labels, return_dict=True)["loss"]
            loss = float(loss)
            losses.append(loss)
            average = smoothing * average + (1 - smoothing) * loss
            smoothed.append(average / (1 - smoothing ** (step + 1)))
            if bar is not None:
                bar.update(step + 1, [("loss", loss)])
            if not math.isfinite(smoothed[-1]) or smoothed[-1] > diverge * best:
                break
            best = min(best, smoothed[-1])
    finally:
        model.set_weights(weights)
        model.compile(**{**compiled, "optimizer": own_optimizer})
    finite = [(s, r) for s, r in zip(smoothed, rates, strict=False) if math.isfinite(s)]
    if len(finite) < 2:
        raise ValueError(
            "lr_find(): the loss was not finite after the first step; start lower "
            f"(min_lr={min_lr:g})."
        )
    values = np.array([s for s, _ in finite])
    logs = np.log10([r for _, r in finite])
    slopes = np.gradient(values, logs)
    return LRFindResult(
        rates=[float(r) for r in rates[: len(losses)]],
        losses=losses,
        smoothed=[float(s) for s in smoothed],
        suggestion=float(finite[int(np.argmin(slopes))][1]),
        minimum_over_10=float(finite[int(np.argmin(values))][1] / 10),
    )
