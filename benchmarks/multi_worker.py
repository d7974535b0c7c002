"""Throughput of the ResNet recipe as 1 process vs 2 workers on this machine (issue 15).

Runs `recipes/cifar10_resnet.py` through `recipekit.distribute.launch_local`
(TF_CONFIG on TensorFlow, the KERAS_DISTRIBUTION_* variables on JAX) with the
same global batch, and reads each run's metrics.json: the steady epochs'
time (every epoch after the first, which compiles) and the test accuracy.
On a 2-core machine two workers share the cores and talk over gRPC (TF) or
gloo (JAX), so no speed-up is expected: the point is that they run, and
what the split costs. One JSON line per run, then a Markdown table.

    python benchmarks/multi_worker.py --backends tensorflow jax --epochs 3
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
RECIPE = os.path.join(ROOT, "recipes", "cifar10_resnet.py")


def run(backend, workers, args, out):
    import recipekit

    command = [sys.executable, RECIPE, "--data", args.data, "--depth",
               str(args.depth), "--epochs", str(args.epochs), "--batch-size",
               str(args.batch_size), "--out", out]  # fmt: skip
    env = dict(os.environ, KERAS_BACKEND=backend)
    start = time.perf_counter()
    processes = recipekit.distribute.launch_local(
        command, workers, env=env, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    outputs = [p.communicate()[0] for p in processes]
    wall = time.perf_counter() - start
    for p, output in zip(processes, outputs, strict=True):
        if p.returncode:
            raise SystemExit(
                f"{backend}, {workers} worker(s) failed:\n{output[-3000:]}"
            )
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    steady = metrics["epoch_times_s"][1:]
    return {
        "backend": backend,
        "workers": workers,
        "steady_epoch_s": round(sum(steady) / len(steady), 2),
        "images_per_s": round(
            args.images
            // args.batch_size
            * args.batch_size
            / (sum(steady) / len(steady)),
            1,
        ),  # fmt: skip
        "first_epoch_s": metrics["epoch_times_s"][0],
        "test_accuracy": metrics["test_accuracy"],
        "process_wall_s": round(wall, 1),
        "device": metrics["device"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="cifar10_sample", help="(default: the sample)"
    )
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    import recipekit  # noqa: I001  (first: a quiet start)

    args.images = len(recipekit.data.load_arrays(args.data, "train")[0])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            for workers in (1, 2):
                out = os.path.join(tmp, f"{backend}-{workers}")
                row = run(backend, workers, args, out)
                print(json.dumps(row), flush=True)
                rows.append(row)
    print("\n| backend | workers | steady epoch (s) | images/s | first epoch (s) "
          "| test accuracy |\n|---|---|---|---|---|---|")  # fmt: skip
    for r in rows:
        print(f"| {r['backend']} | {r['workers']} | {r['steady_epoch_s']} | "
              f"{r['images_per_s']} | {r['first_epoch_s']} | "
              f"{r['test_accuracy']:.4f} |")  # fmt: skip


if __name__ == "__main__":
    main()
