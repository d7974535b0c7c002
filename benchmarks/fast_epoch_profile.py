"""Where the fast recipe's epoch goes on a CPU: its train step, arm by arm (issue 17).

Each arm builds the recipe's training model (`DeviceImages` with alternating
flips and 2-pixel translations in front of `fast_cifar_net`, Nesterov SGD with
`RateFactors`, label-smoothed cross-entropy) on random uint8 images, batch
1024, and times `--steps` steps of `fit` after a warm-up epoch; every arm runs
in its own process, the arms take turns `--rounds` times and the best time is
kept. Reported: seconds per step and the epoch it implies (48 steps of 1024 on
CIFAR-10's 50,000 images), next to the PyTorch peer's measured 213-231 s.

    python benchmarks/fast_epoch_profile.py --steps 4 --rounds 2
"""

import argparse
import json
import subprocess
import sys
import time

ARMS = {
    "jit, EMA (the recipe with --jit)": {"jit": True, "averaging": "ema"},
    "no jit, EMA": {"jit": False, "averaging": "ema"},
    "jit, no averaging": {"jit": True, "averaging": "none"},
    "jit, Lookahead": {"jit": True, "averaging": "lookahead"},
    "jit, mixed_bfloat16, EMA": {"jit": True, "averaging": "ema",
                                 "precision": "mixed_bfloat16"},
    "no jit, mixed_bfloat16, EMA": {"jit": False, "averaging": "ema",
                                    "precision": "mixed_bfloat16"},
}  # fmt: skip


def worker(arm, steps):
    import recipekit  # noqa: I001  (first: a quiet start)

    import keras
    import numpy as np

    settings = ARMS[arm]
    keras.mixed_precision.set_global_policy(settings.get("precision", "float32"))
    keras.utils.set_random_seed(0)
    batch, count = 1024, 1024 * steps
    images = np.random.default_rng(0).integers(0, 256, (count, 32, 32, 3), np.uint8)
    net = recipekit.models.fast_cifar_net(10, mean=[125.0] * 3, std=[63.0] * 3)
    data = recipekit.data.DeviceImages(
        count, (32, 32, 3), images=images, flip="alternating", translate=2
    )
    model = data.training_model(net)
    optimizer = recipekit.optimizers.RateFactors(
        keras.optimizers.SGD(0.1, momentum=0.85, nesterov=True, weight_decay=5e-4),
        {"_bn/beta": 64.0},
    )
    if settings["averaging"] == "ema":
        optimizer = recipekit.optimizers.EMA(optimizer, 0.98)
    elif settings["averaging"] == "lookahead":
        optimizer = recipekit.optimizers.Lookahead(optimizer, 5, 0.5)
    model.compile(
        optimizer,
        keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        jit_compile=settings["jit"] or "auto",
    )
    positions, inputs = recipekit.data.epoch_indices(count, batch, 3, 0)
    targets = np.eye(10, dtype="float32")[np.arange(count) % 10][positions]
    ends = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda *_: ends.append(time.perf_counter())
    )
    start = time.perf_counter()
    model.fit(inputs, targets, batch_size=batch, epochs=3, steps_per_epoch=steps,
              shuffle=False, verbose=0, callbacks=[timer])  # fmt: skip
    times = [b - a for a, b in zip([start, *ends], ends, strict=False)][1:]
    print(json.dumps({"seconds_per_step": min(times) / steps}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--arms", nargs="*", default=list(ARMS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps)
    best = {}
    for _ in range(args.rounds):
        for arm in args.arms:
            done = subprocess.run(
                [sys.executable, __file__, "--worker", arm, "--steps", str(args.steps)],
                capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode:
                raise RuntimeError(done.stderr[-3000:])
            per_step = json.loads(done.stdout.strip().splitlines()[-1])
            best[arm] = min(best.get(arm, 1e9), per_step["seconds_per_step"])
    base = best[args.arms[0]]
    for arm in args.arms:
        print(json.dumps({"arm": arm, "seconds_per_step": round(best[arm], 3),
                          "epoch_s": round(48 * best[arm], 1),
                          "vs_first": round(best[arm] / base, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
