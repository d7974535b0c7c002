"""Where JAX loses to TensorFlow on a CPU: the train step under XLA CPU flags.

The fast CIFAR net (and ResNet-20) trained by `fit` on random 32x32 batches of
256 for a few steps, on TensorFlow and on JAX with each set of `XLA_FLAGS`
below; every arm runs in its own process, the arms take turns, `--rounds`
times, and the best seconds per step is kept. Prints one JSON object per arm.

    python benchmarks/jax_cpu_flags.py [--model fast|resnet20] [--steps 8]
"""

import argparse
import json
import os
import subprocess
import sys
import time

ARMS = {
    "tensorflow": ("tensorflow", ""),
    "jax": ("jax", ""),
    "jax onednn": ("jax", "--xla_cpu_use_onednn=true"),
    "jax xnnpack": ("jax", "--xla_cpu_use_xnnpack=true"),
    "jax no thunk runtime": ("jax", "--xla_cpu_use_thunk_runtime=false"),
}


def worker(model_name, steps, batch):
    import keras
    import numpy as np

    import recipekit

    keras.utils.set_random_seed(0)
    if model_name == "fast":
        model = recipekit.models.fast_cifar_net(10, mean=[120.0] * 3, std=[60.0] * 3)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        model = recipekit.models.cifar_resnet(20, 10, mean=[120.0] * 3, std=[60.0] * 3)
        loss = "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True), loss)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch * steps, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, batch * steps)
    ends = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda *_: ends.append(time.perf_counter()),
        on_epoch_end=lambda *_: ends.append(time.perf_counter()),
    )
    model.fit(x, y, batch_size=batch, epochs=3, verbose=0, callbacks=[timer])
    per_step = min(ends[i + 1] - ends[i] for i in (2, 4)) / steps  # epochs 2, 3
    print(json.dumps({"seconds_per_step": per_step}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("fast", "resnet20"), default="fast")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.model, args.steps, args.batch)
    best = {}
    for _ in range(args.rounds):
        for arm, (backend, flags) in ARMS.items():
            env = {**os.environ, "KERAS_BACKEND": backend, "XLA_FLAGS": flags}
            command = [sys.executable, __file__, "--worker", "--model", args.model]
            command += ["--steps", str(args.steps), "--batch", str(args.batch)]
            result = subprocess.run(command, env=env, capture_output=True, text=True)
            if result.returncode:
                best[arm] = f"failed: {result.stderr.strip().splitlines()[-1]}"
                continue
            seconds = json.loads(result.stdout.strip().splitlines()[-1])
            seconds = seconds["seconds_per_step"]
            if isinstance(best.get(arm, 0.0), float):
                best[arm] = min(best.get(arm, seconds), seconds)
    reference = best.get("tensorflow")
    for arm, seconds in best.items():
        row = {"benchmark": "jax_cpu_flags", "model": args.model, "arm": arm,
               "batch": args.batch, "cpu_cores": os.cpu_count()}  # fmt: skip
        if isinstance(seconds, float):
            row["seconds_per_step"] = round(seconds, 4)
            if isinstance(reference, float):
                row["vs_tensorflow"] = round(seconds / reference, 2)
        else:
            row["result"] = seconds
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
