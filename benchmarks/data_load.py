"""Time to load the shared CIFAR-10 archive: first (decode) and cached loads.

Prints one JSON object per measurement.

    python benchmarks/data_load.py [--source ../shared/data/cifar10-jpeg.tar.gz]
"""

import argparse
import json
import os
import platform
import tempfile
import time

import recipekit


def machine():
    """CPU model and core count, from /proc/cpuinfo where there is one."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def timed_load(source, cache_dir):
    start = time.perf_counter()
    count = 0
    for split in ("train", "test"):
        images, _, _ = recipekit.data.load_arrays(source, split, cache_dir=cache_dir)
        count += len(images)
    return time.perf_counter() - start, count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="../shared/data/cifar10-jpeg.tar.gz")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache_dir:
        for label in ("first load (decode + write cache)", "cached load"):
            seconds, count = timed_load(args.source, cache_dir)
            print(
                json.dumps(
                    {
                        "benchmark": "data_load",
                        "case": label,
                        "source": args.source,
                        "images": count,
                        "seconds": round(seconds, 2),
                        "images_per_s": round(count / seconds),
                        "machine": machine(),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
