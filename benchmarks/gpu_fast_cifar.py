"""Times the CIFAR-10 recipes on one GPU with Keras's JAX backend, no TensorFlow.

Two steps. Here, once: `prepare` copies the CIFAR-10 archive into `gpu_data/`
and downloads the wheels the GPU machine lacks (keras 3.15.1, namex, optree,
for Python 3.12) into `.whl/`; both folders are ignored by git (about 23 MB).
There, one command (the device tool; carry `.whl` and `gpu_data`):

    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site \\
        .whl/*.whl && PYTHONPATH=/tmp/site:. KERAS_BACKEND=jax \\
        python3 benchmarks/gpu_fast_cifar.py run --out $OUT

`run` records the card and versions, then:
0. each variant of the fast recipe beside its own peer (`--peer-variants`:
   Muon with airbench94_muon in its original fp16 + `torch.compile`, SGD with
   airbench94 in its original fp16; from `gpu_data/peers/`, copied there by
   `prepare` from `../shared/peers/`; run, not part of the project) on the
   same card, the recipe on JAX in mixed_float16, alternating for
   `--peer-seeds` seeds while the budget lasts: accuracy with and without TTA
   and the per-epoch time ratio (`benchmarks/peer_side_by_side.py`);
1. the fast recipe (`recipes/cifar10_fast.py`, 10 epochs, `--precision`) for as
   many seeds as fit in `--fast-budget-s`: accuracy with and without TTA, wall
   time, per-epoch times (the first pays for compilation), mean and std;
2. ResNet-20 (`recipes/cifar10_resnet.py`) on the 182-epoch schedule, as far
   as what is left of `--budget-s` allows: a 2-epoch run times an epoch, then
   the largest number of epochs that fits runs (the schedule stays the
   182-epoch one; `stopped_at_epoch` says where it stopped);
(`--stages` picks some) and writes everything to `OUT/summary.json` after
each stage (a stage starts only with a fifth of `--budget-s` left, so a
cut-short call still returns what it did). `--dry-run` shrinks it all to
seconds on a CPU (the test suite runs it so).

    python benchmarks/gpu_fast_cifar.py prepare
    python benchmarks/gpu_fast_cifar.py run --dry-run --out /tmp/gpu   # CPU check
"""

import argparse
import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

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
TARGET = 0.94
STAGES = ("side_by_side", "fast", "resnet")


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


def load_recipe(name):
    path = os.path.join(ROOT, "recipes", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def machine():
    import keras

    info = {"backend": keras.backend.backend(), "keras": keras.__version__}
    try:
        query = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]
        info["gpu"] = subprocess.run(
            query, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        info["gpu"] = f"none ({type(error).__name__})"
    if info["backend"] == "jax":
        import jax

        info["jax"] = jax.__version__
        info["devices"] = [str(d) for d in jax.devices()]
    return info


def mean_std(values):
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)
    return round(mean, 4), round(var**0.5, 4)


def fast_runs(args, work, deadline):
    recipe = load_recipe("cifar10_fast")
    runs = []
    for seed in range(args.seeds):
        started = time.perf_counter()
        config = dataclasses.replace(
            recipe.Config(), data=args.data, seed=seed, precision=args.precision,
            out=os.path.join(work, f"fast_seed{seed}"),
            **({"epochs": 2, "batch_size": 32} if args.dry_run else {}),
        )  # fmt: skip
        metrics = recipe.main(config)
        times = metrics["epoch_times_s"]
        runs.append(
            {
                "seed": seed,
                "test_accuracy": metrics["test_accuracy"],
                "tta_accuracy": metrics["tta_accuracy"],
                "wall_time_s": metrics["wall_time_s"],
                "epoch_times_s": times,
                # Without the first epoch's compilation: later epochs' mean x n.
                "steady_time_s": round(
                    sum(times[1:]) / (len(times) - 1) * len(times), 2
                )
                if len(times) > 1
                else times[0],
            }
        )
        print(json.dumps({"benchmark": "gpu_fast_cifar", **runs[-1]}), flush=True)
        if time.perf_counter() + (time.perf_counter() - started) > deadline:
            break
    tta, plain = (
        mean_std([r[k] for r in runs]) for k in ("tta_accuracy", "test_accuracy")
    )
    steady = mean_std([r["steady_time_s"] for r in runs])
    return {
        "runs": runs,
        "tta_accuracy_mean_std": tta,
        "test_accuracy_mean_std": plain,
        "steady_time_s_mean_std": steady,
        "reaches_94": tta[0] >= TARGET,
    }


def resnet_run(args, work, deadline):
    recipe = load_recipe("cifar10_resnet")
    base = dataclasses.replace(
        recipe.Config(), data=args.data, depth=20, precision=args.precision,
        tta_modes=("none", "flip"),
        **({"epochs": 4, "batch_size": 32} if args.dry_run else {}),
    )  # fmt: skip
    probe = recipe.main(
        dataclasses.replace(base, stop_epoch=2, out=os.path.join(work, "probe"))
    )
    epoch_s = probe["epoch_times_s"][-1]
    left = deadline - time.perf_counter() - 3 * epoch_s - 30  # compile, evaluation
    epochs = max(1, min(base.epochs, int(left / epoch_s)))
    metrics = recipe.main(
        dataclasses.replace(base, stop_epoch=epochs, out=os.path.join(work, "resnet"))
    )
    return {
        "schedule_epochs": base.epochs,
        "stopped_at_epoch": epochs,
        "fraction_of_schedule": round(epochs / base.epochs, 3),
        "probe_epoch_s": epoch_s,
        **{k: metrics[k] for k in ("test_accuracy", "ema_test_accuracy",
                                   "tta_accuracy", "wall_time_s",
                                   "train_images_per_s", "epoch_times_s")},
    }  # fmt: skip


def side_by_side(args, work, variant, deadline):
    """A variant of the fast recipe beside its own peer, seed by seed, on this card."""
    import peer_side_by_side  # beside this script (its folder is on the path)

    gpu = machine()["gpu"]
    on_gpu = not gpu.startswith("none")
    options = peer_side_by_side.parser().parse_args(["--variant", variant])
    options.data = args.peer_data or (peer_side_by_side.SAMPLE if args.dry_run
                                      else args.data)  # fmt: skip
    options.peers = args.peers if os.path.isdir(args.peers) else PEERS
    options.seeds = 1 if args.dry_run else args.peer_seeds
    options.epochs = 1 if args.dry_run else None
    options.precision = "float16" if on_gpu else "float32"
    options.out = os.path.join(work, f"side_by_side_{variant}")
    result = peer_side_by_side.side_by_side(options, deadline)
    compiled = " + torch.compile" if variant == "muon" else ""
    result["peer precision"] = f"float16{compiled}" if on_gpu else "float32"
    return result


def _write_summary(summary, out):
    """Written after every stage: a call cut short still returns what it did."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "summary.json.tmp"), "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(os.path.join(out, "summary.json.tmp"), os.path.join(out, "summary.json"))


def run(args):
    start = time.perf_counter()
    deadline = start + args.budget_s
    summary = {"machine": machine(), "precision": args.precision, "data": args.data}
    print(json.dumps(summary), flush=True)
    import recipekit

    loaded = time.perf_counter()
    recipekit.data.load_arrays(args.data, "train")  # Decode once into the cache.
    summary["decode_s"] = round(time.perf_counter() - loaded, 1)
    work = tempfile.mkdtemp(prefix="gpu_runs_")  # Only summary.json comes back.
    try:
        stages = set(args.stages)
        peer_variants = args.peer_variants if "side_by_side" in stages else ()
        for variant in peer_variants if args.peer_seeds else ():
            # A stage starts only with at least a fifth of the budget left.
            if deadline - time.perf_counter() < args.budget_s / 5:
                summary[f"side_by_side_{variant}"] = "skipped: out of budget"
                continue
            summary[f"side_by_side_{variant}"] = side_by_side(
                args, work, variant, deadline
            )
            _write_summary(summary, args.out)
        fast_deadline = min(deadline, time.perf_counter() + args.fast_budget_s)
        if "fast" in stages and time.perf_counter() < fast_deadline:
            summary["fast"] = fast_runs(args, work, fast_deadline)
            _write_summary(summary, args.out)
        if "resnet" in stages:
            enough = deadline - time.perf_counter() > args.budget_s / 5
            summary["resnet20"] = (resnet_run(args, work, deadline) if enough
                                   else "skipped: out of budget")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
        summary["total_s"] = round(time.perf_counter() - start, 1)
        _write_summary(summary, args.out)
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
    r.add_argument("--seeds", type=int, default=10)
    r.add_argument("--fast-budget-s", type=float, default=180)
    r.add_argument("--budget-s", type=float, default=540)
    r.add_argument("--precision", default="mixed_bfloat16")
    r.add_argument("--dry-run", action="store_true", help="tiny runs, e.g. on CPU")
    r.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                   help="which to run (default: all three, in order)")  # fmt: skip
    r.add_argument(
        "--peer-seeds",
        type=int,
        default=3,
        help="seeds of the side-by-side with airbench94_muon (0: none)",
    )
    r.add_argument("--peer-variants", nargs="+", choices=("muon", "sgd"),
                   default=["muon", "sgd"], help="recipe variants set beside "
                   "their peers: muon/airbench94_muon, sgd/airbench94")  # fmt: skip
    r.add_argument("--peer-data", help="archive for the side-by-side (default --data)")
    r.add_argument("--peers", default=os.path.join(ROOT, "..", "shared", "peers"),
                   help="folder of the peer scripts (else gpu_data/peers)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.source)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
