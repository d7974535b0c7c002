"""Where the fast recipe's epoch goes on a CPU: its train step, arm by arm.

`--variant sgd` (issue 17): each arm builds the recipe's training model
(`DeviceImages` with alternating flips and 2-pixel translations in front of
`fast_cifar_net`, Nesterov SGD with `RateFactors`, label-smoothed
cross-entropy), batch 1024. `--variant muon` (issue 23): the Muon variant's
(`fast_cifar_muon`, batch 2000, logits / 256), arm by arm over the candidates
for its bfloat16 step: backend, XLA, the optimizer's share, the augmentation's
share. Random uint8 images; `--steps` steps of `fit` are timed after a warm-up
epoch; every arm runs in its own process (its own KERAS_BACKEND), the arms take
turns `--rounds` times and the best time is kept. Reported: seconds per step
and the epoch it implies (CIFAR-10's 50,000 images).

    python benchmarks/fast_epoch_profile.py --steps 4 --rounds 2
    python benchmarks/fast_epoch_profile.py --variant muon --steps 3 --rounds 2
"""

import argparse
import json
import os
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
BF16 = {"precision": "mixed_bfloat16", "averaging": "none", "jit": False}
MUON_ARMS = {
    "TF, no jit (the recipe)": {**BF16},
    "TF, XLA": {**BF16, "jit": True},
    "JAX": {**BF16, "backend": "jax"},
    "PyTorch": {**BF16, "backend": "torch"},
    "TF, no jit, one SGD for all (optimizer share)": {**BF16, "optimizer": "sgd"},
    "TF, no jit, no flips or translations": {**BF16, "augment": False},
    "TF, no jit, float32": {**BF16, "precision": "float32"},
}  # fmt: skip
BATCH = {"sgd": 1024, "muon": 2000}
# With --baseline PATH, each arm also runs on the recipekit checked out at PATH
# (an earlier commit, e.g. `git worktree add ../before HEAD~1`), named
# "<arm> [baseline]": a before/after in one sitting.


def worker(arm, steps, variant="sgd"):
    import recipekit  # noqa: I001  (first: a quiet start)

    import keras
    import numpy as np

    settings = (MUON_ARMS if variant == "muon" else ARMS)[arm]
    keras.mixed_precision.set_global_policy(settings.get("precision", "float32"))
    keras.utils.set_random_seed(0)
    batch = BATCH[variant]
    count = batch * steps
    images = np.random.default_rng(0).integers(0, 256, (count, 32, 32, 3), np.uint8)
    net = recipekit.models.fast_cifar_net(
        10, mean=[125.0] * 3, std=[63.0] * 3,
        logit_scale=1 / 256 if variant == "muon" else 1 / 9,
    )  # fmt: skip
    augment = settings.get("augment", True)
    data = recipekit.data.DeviceImages(
        count, (32, 32, 3), images=images, flip="alternating" if augment else "none",
        translate=2 if augment else 0,
    )  # fmt: skip
    model = data.training_model(net)
    if variant == "muon" and settings.get("optimizer", "muon") == "muon":
        optimizer = recipekit.models.fast_cifar_muon(3 * steps, steps, batch)
    else:
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
        jit_compile=settings["jit"] or (False if variant == "muon" else "auto"),
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
    parser.add_argument("--variant", choices=sorted(BATCH), default="sgd")
    parser.add_argument("--arms", nargs="*", help="(default: every arm of --variant)")
    parser.add_argument("--baseline", help="a checkout of an earlier recipekit: "
                        "each arm runs on it too, side by side")  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps, args.variant)
    arms = args.arms or list(MUON_ARMS if args.variant == "muon" else ARMS)
    if args.baseline:
        arms = [name for arm in arms for name in (f"{arm} [baseline]", arm)]
    steps_per_epoch = -(-50_000 // BATCH[args.variant])
    best = {}
    for _ in range(args.rounds):
        for arm in arms:
            name = arm.removesuffix(" [baseline]")
            settings = (MUON_ARMS if args.variant == "muon" else ARMS)[name]
            env = dict(os.environ, KERAS_BACKEND=settings.get("backend", "tensorflow"))
            if name != arm:
                env["PYTHONPATH"] = os.path.abspath(args.baseline)
            command = [sys.executable, __file__, "--worker", name, "--steps",
                       str(args.steps), "--variant", args.variant]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode:
                raise RuntimeError(done.stderr[-3000:])
            per_step = json.loads(done.stdout.strip().splitlines()[-1])
            best[arm] = min(best.get(arm, 1e9), per_step["seconds_per_step"])
            print(json.dumps({"arm": arm, **per_step}), flush=True)
    base = best[arms[0]]
    for arm in arms:
        print(json.dumps({"arm": arm, "seconds_per_step": round(best[arm], 3),
                          "epoch_s": round(steps_per_epoch * best[arm], 1),
                          "vs_first": round(best[arm] / base, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
