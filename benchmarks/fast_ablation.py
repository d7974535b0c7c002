"""What each trick of the fast CIFAR-10 recipe is worth, at one epoch budget.

Runs `recipes/cifar10_fast.py` on the shared CIFAR-10 once per arm, each arm
the full recipe with one trick removed, all at `--epochs` (same seed):
- `full`: everything on;
- `no_label_smoothing`: label smoothing 0 instead of 0.2;
- `no_whitening`: a trainable 2x2 conv instead of the frozen whitening layer;
- `bn_momentum_0.4`: BatchNorm statistics keeping 40% per step, not 60% (the
  first full run's setting, from misreading PyTorch's momentum convention);
- `random_flip`: a coin per image and epoch instead of alternating flips;
- `lookahead`: airbench94's Lookahead instead of the EMA;
- `airbench_schedule`: warm-up over 23% of the steps and a final rate of 0.07
  x peak (airbench94's), instead of 20% and 0;
- `lookahead_airbench_schedule`: both.
EMA and TTA need no extra run: every arm scores its raw and its averaged
weights without TTA and with the mirror plus 1-pixel shifts (`flip_translate`),
averaging the views' probabilities and, on the averaged weights, their logits
(airbench94's). Prints one JSON
line per arm and a Markdown table at the end. About 16 minutes per arm at
3 epochs on 2 CPU cores (measured with --jit, which is slower on a CPU).

    python benchmarks/fast_ablation.py --epochs 3
    python benchmarks/fast_ablation.py --epochs 10 --arms full no_whitening
"""

import argparse
import dataclasses
import importlib.util
import json
import os

ARMS = {
    "full": {},
    "no_label_smoothing": {"label_smoothing": 0.0},
    "no_whitening": {"whitening": False},
    "bn_momentum_0.4": {"bn_momentum": 0.4},
    "random_flip": {"flip": "random"},
    "lookahead": {"averaging": "lookahead"},
    "airbench_schedule": {"warmup": 0.23, "final_lr": 0.07},
    "lookahead_airbench_schedule": {
        "averaging": "lookahead",
        "warmup": 0.23,
        "final_lr": 0.07,
    },
}
HERE = os.path.dirname(os.path.abspath(__file__))


def load_recipe():
    path = os.path.join(HERE, "..", "recipes", "cifar10_fast.py")
    spec = importlib.util.spec_from_file_location("cifar10_fast", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table(results):
    rows = [
        "| arm | raw | raw + TTA | averaged | averaged + TTA | + logit TTA | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm, m in results.items():
        acc = m["accuracy"]
        averaged = next((w for w in acc if w != "raw" and "logit" not in w), "raw")
        logits = acc.get(f"{averaged}, logit TTA", {}).get("flip_translate")
        cells = [
            f"{100 * acc[w][mode]:.2f}"
            for w in ("raw", averaged)
            for mode in ("none", "flip_translate")
        ]
        cells.append("-" if logits is None else f"{100 * logits:.2f}")
        rows.append(
            f"| {arm} ({averaged}) | {' | '.join(cells)} | {m['wall_time_s']:.0f} |"
        )
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=os.path.join(HERE, "..", "..", "shared", "data", "cifar10-jpeg.tar.gz"),
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jit", action="store_true")
    parser.add_argument("--out", default="runs/fast_ablation")
    args = parser.parse_args()
    recipe = load_recipe()
    results = {}
    for arm in args.arms:
        config = dataclasses.replace(
            recipe.Config(),
            data=args.data,
            epochs=args.epochs,
            seed=args.seed,
            jit=args.jit,
            out=os.path.join(args.out, arm),
            tta_modes=("none", "flip_translate"),
            **ARMS[arm],
        )
        metrics = recipe.main(config)
        results[arm] = metrics
        line = {"benchmark": "fast_ablation", "arm": arm, "epochs": args.epochs}
        print(
            json.dumps(
                {
                    **line,
                    **{
                        k: metrics[k]
                        for k in ("accuracy", "wall_time_s", "train_images_per_s")
                    },
                }
            ),
            flush=True,
        )
    print(table(results))


if __name__ == "__main__":
    main()
