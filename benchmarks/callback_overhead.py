"""`model.fit` time per epoch of ResNet-20 with recipekit's averaging vs none.

Side by side in one process: plain SGD, recipekit's `optimizers.EMA` (decay
0.999), Keras's `SGD(use_ema=True)`, and `SnapshotEnsemble` (in memory), on pre-loaded
tensors so only the model and the callbacks are timed. The cases take turns
(`--repeats` rounds), so a machine whose speed drifts hits all alike: in each
round every case runs one `fit` of two epochs of `--steps` steps, and the second
epoch is timed (the first traces the step). The best round is reported. Prints
one JSON object per measurement.

    python benchmarks/callback_overhead.py [--steps 40] [--repeats 4]
"""

import argparse
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

import recipekit


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def build(averaging=None):
    """ResNet-20 with SGD; `averaging` "recipekit" or "keras" adds an EMA."""
    keras.utils.set_random_seed(0)
    model = recipekit.models.cifar_resnet(20, mean=[125.0] * 3, std=[63.0] * 3)
    optimizer = keras.optimizers.SGD(
        0.1, momentum=0.9, nesterov=True, use_ema=averaging == "keras"
    )
    if averaging == "recipekit":
        optimizer = recipekit.optimizers.EMA(optimizer, 0.999)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (20 * 128, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, 20 * 128)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(128).cache().repeat()
    cases = {
        "no callbacks": (lambda: build(), lambda: []),
        "recipekit optimizers.EMA(0.999)": (lambda: build("recipekit"), lambda: []),
        "Keras SGD(use_ema=True)": (lambda: build("keras"), lambda: []),
        "recipekit SnapshotEnsemble(2)": (
            lambda: build(),
            lambda: [recipekit.callbacks.SnapshotEnsemble(2)],
        ),
    }
    models = {name: make() for name, (make, _) in cases.items()}
    times = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, (_, callbacks) in cases.items():
            timer = EpochTimer()
            models[name].fit(
                data, epochs=2, steps_per_epoch=args.steps, verbose=0,
                callbacks=[*callbacks(), timer],
            )  # fmt: skip
            times[name].append(timer.seconds[1])  # The first epoch traces.
    base = min(times["no callbacks"])
    for name, values in times.items():
        print(
            json.dumps(
                {
                    "benchmark": "callback_overhead",
                    "case": name,
                    "steps": args.steps,
                    "epoch_s_runs": [round(v, 2) for v in values],
                    "epoch_s_best": round(min(values), 2),
                    "overhead_percent": round(100 * (min(values) / base - 1), 2),
                    "cpu_cores": os.cpu_count(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
