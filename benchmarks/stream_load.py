"""Streamed vs in-memory loading of a folder larger than memory (issue 15).

`write` makes a synthetic folder of `--images` 64x64 JPEGs in 10 classes
(200,000 by default: 2.46 GB decoded). `measure` then runs, each arm in a
fresh process: `recipekit.data.load(folder)` (`auto`: streamed by itself,
above the 1 GiB memory budget; `stream`: forced), `pipeline(batch 256,
training=True)`, and reports the
seconds to the first 20 batches, images/s over the next `--batches`, and the
process's peak RSS; the `memory` arm forces the in-memory path
(`stream=False`, budget raised) for comparison. One JSON line per arm.

    python benchmarks/stream_load.py write --root /tmp/synthetic --images 200000
    python benchmarks/stream_load.py measure --root /tmp/synthetic --arms auto memory
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def write(root, images, size=64, classes=10):
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    start = time.perf_counter()
    for i in range(images):
        label = i % classes
        folder = os.path.join(root, f"class_{label}")
        os.makedirs(folder, exist_ok=True)
        phase = rng.uniform(0, 6.28, 3)
        base = np.stack([np.sin(xx / (3 + label) + p) + np.cos(yy / 5 + p)
                         for p in phase], -1)  # fmt: skip
        pixels = (base * 60 + 128 + rng.normal(0, 12, base.shape)).clip(0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(
            os.path.join(folder, f"{i:07d}.jpg"), quality=90
        )
    seconds = round(time.perf_counter() - start)
    print(json.dumps({"written": images, "seconds": seconds}))


def measure_one(root, arm, batches):
    """Runs in its own process: the numbers of one arm."""
    if arm == "memory":
        os.environ["RECIPEKIT_MEMORY_BUDGET"] = str(16 << 30)
    import recipekit

    start = time.perf_counter()
    stream = {"auto": None, "stream": True, "memory": False}[arm]
    dataset, names = recipekit.data.load(root, stream=stream)
    train = recipekit.data.pipeline(dataset, 256, training=True, seed=0).repeat()
    iterator = iter(train)
    for _ in range(20):
        next(iterator)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    rate = batches * 256 / (time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {"arm": arm, "images": int(dataset.cardinality()), "classes": len(names),
            "first_20_batches_s": round(first, 1), "images_per_s": round(rate),
            "peak_rss_gib": round(peak, 2)}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("write", "measure", "one"))
    parser.add_argument("--root", default="/tmp/synthetic_jpegs")
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--arms", nargs="*", default=["auto", "memory"])
    parser.add_argument("--batches", type=int, default=100)
    args = parser.parse_args()
    if args.step == "write":
        write(args.root, args.images)
    elif args.step == "one":
        print(json.dumps(measure_one(args.root, args.arms[0], args.batches)))
    else:
        for arm in args.arms:
            done = subprocess.run(
                [sys.executable, __file__, "one", "--root", args.root, "--arms", arm,
                 "--batches", str(args.batches)],
                capture_output=True, text=True,
            )  # fmt: skip
            print(done.stdout.strip().splitlines()[-1] if done.returncode == 0
                  else json.dumps({"arm": arm, "error": done.stderr[-2000:]}),
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
