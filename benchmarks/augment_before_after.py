"""Images/s of the CIFAR policies: this tree against an older commit, in one run.

The augmentation ops moved from TensorFlow code to `keras.ops` code that runs
in tf.data and on the device. This measures the tf.data path of both versions
side by side: each version runs in its own subprocess (the old one from `git
archive REF recipekit`), alternating, `--rounds` times, on the same images;
the best pass of each is kept. With `--device`, it also times this tree's
on-device path under JAX: the same policy's `apply` jit-compiled on batches.

    python benchmarks/augment_before_after.py --before 347cf6e [--images 10000]
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

BATCH = 256
CASES = {
    "full policy": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4,
                    "lighting": 0.1},
    "pad+crop+flip": {},
}  # fmt: skip


def best_rate(run, count, repeats):
    run()  # Warm-up (tracing, compilation, caches).
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = max(best, count / (time.perf_counter() - start))
    return best


def worker(args):
    """Times the tf.data path (or, with --device, the JAX device path)."""
    import numpy as np

    import recipekit

    x, _, _ = recipekit.data.load_arrays(args.data, "train")
    x = x[: args.images]
    rates = {}
    for name, kwargs in CASES.items():
        policy = recipekit.augment.cifar_policy(**kwargs)
        if args.device:
            import jax

            step = jax.jit(lambda batch, seed, policy=policy: policy(batch, seed=seed))
            batches = [
                jax.device_put(x[i : i + BATCH])
                for i in range(0, len(x) - BATCH + 1, BATCH)
            ]

            def run(step=step, batches=batches):
                out = None
                for i, batch in enumerate(batches):
                    out = step(batch, np.array([0, i], np.int32))
                out.block_until_ready()

            count = len(batches) * BATCH
        else:
            import tensorflow as tf

            images = tf.data.Dataset.from_tensor_slices(x).cache()
            for _ in images:
                pass
            dataset = images.batch(BATCH).map(
                policy, num_parallel_calls=tf.data.AUTOTUNE
            )

            def run(dataset=dataset):
                for _ in dataset:
                    pass

            count = len(x)
        rates[name] = best_rate(run, count, args.repeats)
    print(json.dumps(rates))


def measure(tree, args, device=False):
    env = {**os.environ, "PYTHONPATH": tree}
    if device:
        env["KERAS_BACKEND"] = "jax"
    command = [sys.executable, __file__, "--worker", "--data", args.data]
    command += ["--images", str(args.images), "--repeats", str(args.repeats)]
    if device:
        command.append("--device")
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"worker failed ({tree}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git commit of the old version")
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg.tar.gz")
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data = os.path.abspath(args.data)
    if args.worker:
        return worker(args)
    if not args.before:
        parser.error("--before COMMIT is required")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(
            ["git", "-C", repo, "archive", args.before, "recipekit"],
            capture_output=True,
            check=True,
        ).stdout
        with tempfile.TemporaryFile() as f:
            f.write(archive)
            f.seek(0)
            with tarfile.open(fileobj=f) as tar:
                tar.extractall(old, filter="data")
        best = {"before": {}, "after": {}}
        for _ in range(args.rounds):
            for label, tree in (("before", old), ("after", repo)):
                for name, rate in measure(tree, args).items():
                    best[label][name] = max(best[label].get(name, 0.0), rate)
    for name in CASES:
        before, after = best["before"][name], best["after"][name]
        print(json.dumps({
            "benchmark": "augment_before_after", "path": "tf.data", "case": name,
            "before": args.before, "images": args.images,
            "before_images_per_s": round(before), "after_images_per_s": round(after),
            "after_over_before": round(after / before, 3),
            "cpu_cores": os.cpu_count(),
        }))  # fmt: skip
    if args.device:
        for name, rate in measure(repo, args, device=True).items():
            print(json.dumps({
                "benchmark": "augment_before_after", "path": "device (JAX, jit)",
                "case": name, "images": args.images,
                "after_images_per_s": round(rate), "cpu_cores": os.cpu_count(),
            }))  # fmt: skip


if __name__ == "__main__":
    main()
