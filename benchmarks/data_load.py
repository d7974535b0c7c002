"""Time to load a CIFAR-10 copy: the first load (decode) and cached loads.

A cached load is the cache's fingerprint of the source (every byte of an
archive, or of every file of a folder) plus reading the decoded arrays back.
`--baseline PATH` runs the same measurement with the recipekit of another
checkout (e.g. `git worktree add ../before <commit>`) in the same sitting,
each in its own process, alternating, so the two are side by side.

Prints one JSON object per measurement and appends it to
`benchmarks/results/data_load.jsonl` (`--results DIR` elsewhere).

    python benchmarks/data_load.py --source path/to/cifar10-folder \\
        --repeats 3 --baseline ../before
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import machine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz")


def timed_load(source, cache_dir):
    import recipekit

    start = time.perf_counter()
    count = 0
    for split in ("train", "test"):
        images, _, _ = recipekit.data.load_arrays(source, split, cache_dir=cache_dir)
        count += len(images)
    return time.perf_counter() - start, count


def measure(args):
    """In this process: one first load, then `repeats` cached loads."""
    with tempfile.TemporaryDirectory() as cache_dir:
        cases = ["first load (decode + write cache)"]
        cases += ["cached load"] * args.repeats
        for label in cases:
            seconds, count = timed_load(args.source, cache_dir)
            measurement = {
                "code": args.code,
                "case": label,
                "source": args.source,
                "images": count,
                "seconds": round(seconds, 3),
                "images_per_s": round(count / seconds),
            }
            machine.record("data_load", measurement, args.results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.normpath(SHARED))
    parser.add_argument("--repeats", type=int, default=3, help="cached loads")
    parser.add_argument("--baseline", help="a checkout to time beside this one")
    parser.add_argument("--rounds", type=int, default=1, help="alternations")
    parser.add_argument("--results", default=machine.RESULTS, help="JSON lines here")
    parser.add_argument("--code", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.code is not None or not args.baseline:
        args.code = args.code or "this checkout"
        return measure(args)
    checkouts = {"this checkout": ROOT, "baseline": os.path.abspath(args.baseline)}
    for _ in range(args.rounds):
        for code, path in checkouts.items():
            env = {**os.environ, "PYTHONPATH": path}
            command = [sys.executable, os.path.abspath(__file__), "--source",
                       args.source, "--repeats", str(args.repeats),
                       "--results", args.results, "--code", code]  # fmt: skip
            subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
