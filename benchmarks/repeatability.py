"""Does the fast CIFAR recipe repeat exactly with the same seed? (issue 17)

Runs `recipes/cifar10_fast.py` `--rounds` times per arm, each in a fresh
process with the same seed, and compares the trained raw weights
(`model.keras`) bit for bit and the accuracies. Arms:
- `jit`: `--jit` (XLA), as the full-data runs were made;
- `no_jit`: TensorFlow's graph executor, oneDNN kernels;
- `jit_op_determinism`: `--jit` with `TF_DETERMINISTIC_OPS=1` (what
  `tf.config.experimental.enable_op_determinism()` sets);
- `no_jit_op_determinism`: the same without XLA;
- `no_jit_no_onednn`: `TF_ENABLE_ONEDNN_OPTS=0` (Eigen kernels).
One JSON line per run, then one per arm and a Markdown table.

    python benchmarks/repeatability.py --epochs 2 --rounds 2
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE = os.path.join(HERE, "..", "recipes", "cifar10_fast.py")
ARMS = {
    "jit": (["--jit"], {}),
    "no_jit": ([], {}),
    "jit_op_determinism": (["--jit"], {"TF_DETERMINISTIC_OPS": "1"}),
    "no_jit_op_determinism": ([], {"TF_DETERMINISTIC_OPS": "1"}),
    "no_jit_no_onednn": ([], {"TF_ENABLE_ONEDNN_OPTS": "0"}),
}


def weights_of(path):
    import recipekit  # noqa: F401, I001  (first: a quiet start; registers layers)

    import keras

    model = keras.saving.load_model(path, safe_mode=True, compile=False)
    return [np.asarray(w) for w in model.get_weights()]


def run_once(flags, env, args, out):
    command = [sys.executable, RECIPE, "--data", args.data, "--epochs",
               str(args.epochs), "--batch-size", str(args.batch_size), "--seed",
               "0", "--out", out, *flags]  # fmt: skip
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="cifar10_sample")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--arms", nargs="*", default=list(ARMS))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arm in args.arms:
            flags, env = ARMS[arm]
            runs = []
            for r in range(args.rounds):
                out = os.path.join(tmp, f"{arm}_{r}")
                metrics = run_once(flags, env, args, out)
                weights = weights_of(os.path.join(out, "model.keras"))
                runs.append((metrics, weights))
                print(json.dumps({"arm": arm, "round": r,
                                  "raw": metrics["accuracy"]["raw"]["none"],
                                  "ema": metrics["accuracy"]["ema"]["none"],
                                  "epoch_times_s": metrics["epoch_times_s"]}),
                      flush=True)  # fmt: skip
            first = runs[0][1]
            diff = max(
                float(np.max(np.abs(a - b))) if a.size else 0.0
                for _, w in runs[1:]
                for a, b in zip(first, w, strict=True)
            )
            row = {
                "arm": arm,
                "identical": diff == 0.0,
                "max_weight_diff": diff,
                "raw_accuracies": [m["accuracy"]["raw"]["none"] for m, _ in runs],
                "mean_epoch_s": round(float(np.mean(
                    [np.mean(m["epoch_times_s"][1:] or m["epoch_times_s"])
                     for m, _ in runs])), 1),
            }  # fmt: skip
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\n| arm | bit-identical | max weight diff | raw accuracy per run | "
          "epoch s |\n|---|---|---|---|---|")  # fmt: skip
    for r in rows:
        accuracies = ", ".join(f"{100 * a:.2f}" for a in r["raw_accuracies"])
        print(f"| {r['arm']} | {r['identical']} | {r['max_weight_diff']:.3g} | "
              f"{accuracies} | {r['mean_epoch_s']} |")  # fmt: skip


if __name__ == "__main__":
    main()
