"""`model.fit` time per epoch of ResNet-20 with recipekit's callbacks vs none.

Side by side in one process: no callbacks, recipekit `EMA` (decay 0.999),
Keras's `SGD(use_ema=True)`, and `SnapshotEnsemble` (in memory), on pre-loaded
tensors so only the model and the callbacks are timed. The cases take turns
(`--repeats` rounds), so a machine whose speed drifts hits all alike: in each
round every case runs one `fit` of two epochs of `--steps` steps, and the second
epoch is timed (the first traces the step). The best round is reported. Prints
one JSON object per measurement.

    python benchmarks/callback_overhead.py [--steps 40] [--repeats 4] [--update-only]

It also times the EMA's in-graph update alone (`--update-only`: just that), the
resolution a whole-epoch comparison lacks on a machine whose speed drifts.
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


def build(use_ema=False):
    keras.utils.set_random_seed(0)
    model = recipekit.models.cifar_resnet(20, mean=[125.0] * 3, std=[63.0] * 3)
    model.compile(
        optimizer=keras.optimizers.SGD(
            0.1, momentum=0.9, nesterov=True, use_ema=use_ema
        ),
        loss="sparse_categorical_crossentropy",
    )
    return model


def ema_update_cost(calls=200):
    """Time of the EMA's in-graph update alone, for ResNet-20's weights."""
    model = build()
    ema = recipekit.callbacks.EMA()
    ema._create(model)
    ema._active.assign(1.0)
    update = tf.function(ema._update)
    update()
    start = time.perf_counter()
    for _ in range(calls):
        update()
    values = sum(int(np.prod(w.shape)) for w in model.weights)
    ms = 1000 * (time.perf_counter() - start) / calls
    print(json.dumps({"benchmark": "ema_update_alone", "values": values,
                      "ms_per_step": round(ms, 3)}), flush=True)  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument(
        "--update-only", action="store_true", help="only time the EMA update itself"
    )
    args = parser.parse_args()
    ema_update_cost()
    if args.update_only:
        return
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (20 * 128, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, 20 * 128)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(128).cache().repeat()
    cases = {
        "no callbacks": (lambda: build(), lambda: []),
        "recipekit EMA(0.999)": (lambda: build(), lambda: [recipekit.callbacks.EMA()]),
        "Keras SGD(use_ema=True)": (lambda: build(use_ema=True), lambda: []),
        "recipekit SnapshotEnsemble(3)": (
            lambda: build(),
            lambda: [recipekit.callbacks.SnapshotEnsemble(3)],
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
