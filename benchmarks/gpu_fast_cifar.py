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

`profile` (the same device command with `profile` for `run`) looks for
where the Muon recipe's time per epoch goes on the card: airbench94_muon
once, then the recipe under each candidate of ARMS (per-epoch validation,
bfloat16 instead of float16 with loss scaling, 5 steps or a whole epoch per
compiled call), `--rounds` times in turn: steady and first (compiling)
epochs, each phase of the process (`phase_s`), and both ratios to the peer.

`paper` runs the published protocols (`evidence.py --scale paper`: ResNet-20
for 182 epochs first, then stochastic depth, snapshot ensembles, ResNet-56)
in turn, each recipe into its own folder, until `--budget-s` is spent. The
recipe running then is stopped (its backup holds its state), and the run
folders come back packed in OUT/paper_runs.tar.00, .01, ... (15 MiB parts).
Copy those parts into `gpu_runs/` here and carry `gpu_runs` too in the next
call: each recipe resumes where it stopped, and a finished one is reported,
not run again (only its metrics.json comes back). OUT/summary.json has every
protocol's state and metrics. The device command is the one above with
`paper` for `run` (carry `.whl`, `gpu_data` and `gpu_runs`); back here,
`rm -rf gpu_runs && mkdir gpu_runs && cp FILES_AT/paper_runs.tar.* gpu_runs/`
(only the latest call's parts).

    python benchmarks/gpu_fast_cifar.py prepare
    python benchmarks/gpu_fast_cifar.py run --dry-run --out /tmp/gpu   # CPU check
    python benchmarks/gpu_fast_cifar.py profile --dry-run --out /tmp/gpu
    python benchmarks/gpu_fast_cifar.py paper --dry-run --out /tmp/gpu
"""

import argparse
import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import evidence  # beside this script (its folder is on the path)
import machine
import peer_side_by_side

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
CARRIED = os.path.join(ROOT, "gpu_runs")  # the paper runs' parts, carried back
PART = 15 * 2**20  # bytes per part: the device tool returns files of 16 MiB at most
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


def _options(args, work, variant, name):
    """peer_side_by_side's settings for one variant on this card."""
    on_gpu = machine.gpu() is not None
    options = peer_side_by_side.parser().parse_args(["--variant", variant])
    options.data = args.data
    if args.dry_run:
        options.data = peer_side_by_side.dry_run_data(work)
    options.peers = args.peers if os.path.isdir(args.peers) else PEERS
    options.seeds = 1 if args.dry_run else args.seeds
    options.epochs = 1 if args.dry_run else None
    options.precision = "float16" if on_gpu else "float32"
    options.out = os.path.join(work, name)
    return options


def _peer_precision(variant):
    if machine.gpu() is None:
        return "float32"
    return "float16 + torch.compile" if variant == "muon" else "float16"


def side_by_side(args, work, variant, deadline):
    """A variant of the fast recipe beside its own peer, seed by seed, on this card."""
    options = _options(args, work, variant, f"side_by_side_{variant}")
    result = peer_side_by_side.side_by_side(options, deadline)
    result["peer precision"] = _peer_precision(variant)
    return result


# Where the Muon recipe's 0.224 s per epoch on the H200 (against the peer's
# 0.160 s) may go, each a candidate run as an arm beside airbench94_muon on the
# same card. Not an arm: buffer donation, which Keras's JAX trainer already
# does (its train step is jitted with donate_argnums=0, the training state).
ARMS = {
    "recipe": "",
    "validation every epoch (the old default)": "--validate",
    "bfloat16 (no loss scaling)": "--precision mixed_bfloat16",
    "5 steps per call": "--steps-per-execution 5",
    "an epoch per call": "--steps-per-execution 0",
}


def profile(args, work, deadline):
    """airbench94_muon once, then each arm of the Muon recipe, round after
    round while the budget lasts: per-epoch time (steady, and the first with
    its compile), each phase of the process, and the ratios to the peer."""
    options = _options(args, work, "muon", "profile")
    peer = peer_side_by_side.peer_run(options, args.seed)
    peer_epoch = peer_side_by_side.steady(peer["train_epoch_s"])
    runs, slowest = {name: [] for name in args.arms}, 0.0
    for round_ in range(args.rounds):
        for number, name in enumerate(args.arms):
            if deadline - time.perf_counter() < slowest:
                break
            started = time.perf_counter()
            options.recipe_args = ARMS[name]
            options.out = os.path.join(work, f"arm{number}_round{round_}")
            runs[name].append(peer_side_by_side.recipe_run(options, args.seed))
            slowest = max(slowest, time.perf_counter() - started)
    arms = {}
    for name, done in runs.items():
        if not done:
            arms[name] = "skipped: out of budget"
            continue
        epoch = statistics.median(peer_side_by_side.steady(r["train_epoch_s"])
                                  for r in done)  # fmt: skip
        process = statistics.median(r["process_s"] for r in done)
        arms[name] = {
            "flags": ARMS[name], "rounds": len(done),
            "s/epoch (steady, median)": round(epoch, 4),
            "per-epoch ratio to the peer": round(epoch / peer_epoch, 3),
            "first epoch s (with compile)": [r["train_epoch_s"][0] for r in done],
            "process s (median)": round(process, 1),
            "process ratio to the peer": round(process / peer["process_s"], 3),
            "phase_s": done[-1]["phase_s"],
            "TTA %": [round(100 * r["tta_val_acc"], 2) for r in done],
        }  # fmt: skip
    return {
        "peer": {"script": "airbench94_muon.py", "s/epoch (steady)":
                 round(peer_epoch, 4), "process s": peer["process_s"],
                 "TTA %": round(100 * peer["tta_val_acc"], 2),
                 "precision": _peer_precision("muon")},
        "arms": arms,
    }  # fmt: skip


def run_until(command, deadline, grace_s=60):
    """Runs `command` until it ends or `deadline` (a `time.perf_counter()`);
    then Ctrl-C (a recipe saves its state and exits), and a kill after
    `grace_s`. Returns its exit status, or "stopped" where the deadline came."""
    # Ctrl-C restored: a process started in the background ignores SIGINT, and
    # its children would inherit that.
    child = subprocess.Popen(
        command, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    try:
        return child.wait(timeout=max(0.0, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return "stopped"


def unpack(carried, folder):
    """The parts of an earlier call's runs (`carried`/paper_runs.tar.NN), joined
    and read safely (no path out of `folder`, no links out) into `folder`."""
    parts = sorted(glob.glob(os.path.join(carried, "paper_runs.tar.[0-9][0-9]")))
    if not parts:
        return False
    joined = folder + ".carried.tar"
    with open(joined, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out)
    with tarfile.open(joined) as archive:
        archive.extractall(folder, filter="data")
    os.remove(joined)
    return True


def pack(folder, out, finished=()):
    """`folder`'s runs as OUT/paper_runs.tar.00, .01, ... of `PART` bytes. Of a
    `finished` run only its metrics.json goes (the tool returns 64 MiB at
    most, and a finished ResNet-110 run's models alone come near that)."""
    joined = folder + ".tar"
    with tarfile.open(joined, "w") as archive:
        for name in sorted(os.listdir(folder)):
            kept = os.path.join(name, "metrics.json") if name in finished else name
            archive.add(os.path.join(folder, kept), arcname=kept)
    os.makedirs(out, exist_ok=True)
    names = []
    with open(joined, "rb") as f:
        while chunk := f.read(PART):
            names.append(f"paper_runs.tar.{len(names):02d}")
            with open(os.path.join(out, names[-1]), "wb") as part:
                part.write(chunk)
    os.remove(joined)
    return names


def paper(args, work, deadline):
    """Each published protocol in turn (`evidence.PAPER`), resumed from the
    carried runs, while the budget lasts; their states and metrics."""
    runs = os.path.join(work, "paper")
    os.makedirs(runs, exist_ok=True)
    carried = unpack(args.carried, runs)
    progress_path = os.path.join(runs, "progress.json")
    progress = json.load(open(progress_path)) if os.path.exists(progress_path) else {}
    found = {}
    for name, what, (recipe, *flags) in evidence.PAPER:
        if name not in args.protocols:
            continue
        folder = os.path.join(runs, name)
        metrics_path = os.path.join(folder, "metrics.json")
        flags = [*flags, "--data", os.path.abspath(args.data)]
        if args.dry_run:  # a tiny net for 2 epochs (2 snapshots) on tiny data
            flags += ["--epochs", "2", "--depth", "8", "--batch-size", "32"]
            flags += ["--snapshots", "2"] if recipe == "cifar_snapshot_ensemble" else []
        entry = progress.setdefault(
            name, {"protocol": what, "train_s": 0.0, "calls": 0}
        )
        if not os.path.exists(metrics_path) and deadline - time.perf_counter() > 90:
            print(f"[{time.strftime('%H:%M:%S')}] paper: {name}", flush=True)
            shown = [
                os.path.relpath(f, ROOT) if f.startswith(ROOT) else f for f in flags
            ]
            entry["command"] = " ".join(["python", f"recipes/{recipe}.py", *shown])
            flags += ["--out", folder]
            started = time.perf_counter()
            script = os.path.join(ROOT, "recipes", f"{recipe}.py")
            entry["last exit"] = run_until(
                [sys.executable, script, *flags], deadline, grace_s=30
            )
            entry["train_s"] = round(
                entry["train_s"] + time.perf_counter() - started, 1
            )
            entry["calls"] += 1
        if os.path.exists(metrics_path):  # finished, or stopped (a bad loss)
            metrics = evidence.numbers(json.load(open(metrics_path)))
            entry["state"] = metrics.get("status", "finished")
            found[name] = {**entry, "metrics": metrics}
        else:
            status = entry.get("last exit")
            entry["state"] = "resumes in the next call"
            if not entry["calls"]:
                entry["state"] = "not started"
            elif status != "stopped":
                entry["state"] = f"failed (exit status {status}; output above)"
            found[name] = dict(entry)
    machine.write_json(progress_path, progress)
    done = [name for name, run in found.items() if "metrics" in run]
    parts = pack(runs, args.out, finished=done)
    return {"carried in": carried, "parts": parts, "protocols": found}


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
        if args.command == "profile":
            summary["profile"] = profile(args, work, deadline)
        if args.command == "paper":
            summary["paper"] = paper(args, work, deadline)
        for variant in args.variants if args.command == "run" else ():
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
    r.add_argument("--variants", nargs="+", choices=("muon", "sgd"),
                   default=["muon", "sgd"], help="recipe variants set beside "
                   "their peers: muon/airbench94_muon, sgd/airbench94")  # fmt: skip
    f = commands.add_parser("profile", help="the Muon step's candidates as arms")
    f.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    f.add_argument("--rounds", type=int, default=2, help="runs of each arm")
    f.add_argument("--seed", type=int, default=0)
    r.add_argument("--seeds", type=int, default=3, help="seeds of each variant")
    f.set_defaults(seeds=1)  # profile: one seed (--seed), arms in --rounds
    a = commands.add_parser("paper", help="the published protocols, in turn")
    a.add_argument(
        "--carried",
        default=CARRIED,
        help="where the last call's paper_runs.tar.NN parts were carried (gpu_runs)",
    )
    names = [name for name, _, _ in evidence.PAPER]
    a.add_argument(
        "--protocols",
        nargs="+",
        choices=names,
        default=names,
        help="which, in the order of evidence.PAPER",
    )
    for sub in (r, f, a):
        sub.add_argument("--data", default=DATA)
        sub.add_argument("--out", default=os.environ.get("OUT", "runs/gpu"))
        sub.add_argument("--budget-s", type=float, default=540)
        sub.add_argument("--dry-run", action="store_true", help="tiny runs, on CPU")
    for sub in (r, f):
        sub.add_argument("--peers", help="folder of the peer scripts (else "
                         "gpu_data/peers)", default=os.path.join(ROOT, "..",
                         "shared", "peers"))  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.source)
        return 0
    if args.command == "paper" and args.dry_run:
        args.data = evidence.tiny_data(tempfile.mkdtemp())
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
