"""Times the CIFAR-10 recipes on one GPU with Keras's JAX backend, no TensorFlow.

Two steps. Here, once: `prepare` copies the CIFAR-10 archive into `gpu_data/`
and downloads the wheels the GPU machine lacks (keras 3.15.1, namex, optree,
for Python 3.12) into `.whl/`; both folders are ignored by git (about 23 MB).
There, one command (the device tool; carry `.whl` and `gpu_data`):

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \\
        .whl/*.whl && PYTHONPATH=/tmp/site:. KERAS_BACKEND=jax \\
        python3 benchmarks/gpu_fast_cifar.py run --out $OUT

`run` records the card and versions, then sets each variant of the fast
recipe beside its own peer on the same card (`--variants`: Muon with
airbench94_muon in its original fp16 + `torch.compile`, SGD with airbench94 in
its original fp16; from `gpu_data/peers/`, copied there by `prepare` from
`../shared/peers/`; run, not part of the project), the recipe on JAX in
mixed_float16, alternating for `--seeds` seeds while `--budget-s` lasts:
accuracy with and without TTA, the per-epoch time ratio and each side's whole
process (`benchmarks/peer_side_by_side.py`). It writes `OUT/summary.json`
after each variant (a variant starts only with a fifth of the budget left, so
a cut-short call still returns what it did). `--dry-run` shrinks it to seconds
on a CPU (the test suite runs it so).

    python benchmarks/gpu_fast_cifar.py prepare
    python benchmarks/gpu_fast_cifar.py run --dry-run --out /tmp/gpu   # CPU check
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import machine
import peer_side_by_side  # beside this script (its folder is on the path)

# Several processes share the card (this one, each recipe run, each peer run):
# JAX takes memory as it needs it instead of 75% of the card at its start, and
# keeps its compiled programs on disk, so a later run of the same step reuses
# them (the recipe's first epoch still reports what compiling cost).
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jax_cache")
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "gpu_data", "cifar10-jpeg.tar.gz")
PEERS = os.path.join(ROOT, "gpu_data", "peers")  # airbench's scripts, carried
WHEELS = ("keras==3.15.1", "namex==0.1.0", "optree==0.20.0")


def prepare(source):
    os.makedirs(os.path.dirname(DATA), exist_ok=True)
    shutil.copyfile(source, DATA)
    peers = os.path.join(os.path.dirname(source), "..", "peers")
    os.makedirs(PEERS, exist_ok=True)
    for name in ("airbench94.py", "airbench94_muon.py", "LICENSE-airbench"):
        shutil.copyfile(os.path.join(peers, name), os.path.join(PEERS, name))
    platforms = [
        "manylinux_2_28_x86_64",
        "manylinux_2_27_x86_64",
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
    ]
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.12", "--implementation", "cp",
        *[arg for p in platforms for arg in ("--platform", p)],
        "-d", os.path.join(ROOT, ".whl"), *WHEELS,
    ]  # fmt: skip
    subprocess.run(command, check=True)
    print(f"copied {source} -> {DATA}; wheels in .whl/; carry both in the device call")


def side_by_side(args, work, variant, deadline):
    """A variant of the fast recipe beside its own peer, seed by seed, on this card."""
    on_gpu = machine.gpu() is not None
    options = peer_side_by_side.parser().parse_args(["--variant", variant])
    options.data = peer_side_by_side.SAMPLE if args.dry_run else args.data
    options.peers = args.peers if os.path.isdir(args.peers) else PEERS
    options.seeds = 1 if args.dry_run else args.seeds
    options.epochs = 1 if args.dry_run else None
    options.precision = "float16" if on_gpu else "float32"
    options.out = os.path.join(work, f"side_by_side_{variant}")
    result = peer_side_by_side.side_by_side(options, deadline)
    compiled = " + torch.compile" if variant == "muon" else ""
    result["peer precision"] = f"float16{compiled}" if on_gpu else "float32"
    return result


def versions():
    import keras

    found = {"backend": keras.backend.backend(), "keras": keras.__version__}
    if found["backend"] == "jax":
        import jax

        found.update(jax=jax.__version__, devices=[str(d) for d in jax.devices()])
    return found


def run(args):
    """Written after every variant: a call cut short still returns what it did."""
    start = time.perf_counter()
    deadline = start + args.budget_s
    summary = {"machine": machine.describe(), **versions(), "data": args.data}
    print(json.dumps(summary), flush=True)
    work = tempfile.mkdtemp(prefix="gpu_runs_")  # Only summary.json comes back.
    try:
        for variant in args.variants:
            if deadline - time.perf_counter() < args.budget_s / 5:
                summary[f"side_by_side_{variant}"] = "skipped: out of budget"
                continue
            summary[f"side_by_side_{variant}"] = side_by_side(
                args, work, variant, deadline
            )
            machine.write_json(os.path.join(args.out, "summary.json"), summary)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        summary["total_s"] = round(time.perf_counter() - start, 1)
        machine.write_json(os.path.join(args.out, "summary.json"), summary)
    print(json.dumps(summary, indent=2))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare", help="copy the data, download the wheels")
    p.add_argument(
        "--source",
        default=os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz"),
    )
    r = commands.add_parser("run", help="time the recipes (on the GPU machine)")
    r.add_argument("--data", default=DATA)
    r.add_argument("--out", default=os.environ.get("OUT", "runs/gpu"))
    r.add_argument("--seeds", type=int, default=3, help="seeds of each variant")
    r.add_argument("--budget-s", type=float, default=540)
    r.add_argument("--dry-run", action="store_true", help="tiny runs, e.g. on CPU")
    r.add_argument("--variants", nargs="+", choices=("muon", "sgd"),
                   default=["muon", "sgd"], help="recipe variants set beside "
                   "their peers: muon/airbench94_muon, sgd/airbench94")  # fmt: skip
    r.add_argument("--peers", default=os.path.join(ROOT, "..", "shared", "peers"),
                   help="folder of the peer scripts (else gpu_data/peers)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.source)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
