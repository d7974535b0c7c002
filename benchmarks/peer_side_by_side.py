"""The fast recipe beside its true peer, like for like, seed by seed.

Each variant is set against its own peer from `../shared/peers/` (airbench's
code, ported to the CPU; run, never copied): `--variant muon` (default) is
`recipes/cifar10_fast.py --optimizer muon` against `airbench94_muon.py`,
`--variant sgd` the default recipe against `airbench94.py`. For each seed the
peer runs, then the recipe, one after the other on the same cores, in the same
precision, on the same data. Each run's result is kept under OUT, so a killed
benchmark resumes at the first missing run; the table is printed and written to
OUT/side_by_side.json:

- accuracy without and with TTA, mean +- std over the seeds (the recipe's TTA
  averaging probabilities and, as the peers do, logits);
- seconds per training epoch, steady (the mean of epochs 2..N: epoch 1 of the
  recipe pays for tracing) and the ratio recipe / peer per seed, then its mean;
- the whole wait: each side's process from its command to its printed result,
  and that ratio too; the recipe's `phase_s` (load, build, train, evaluate)
  says where its share went. Every result names the processor.

    python benchmarks/peer_side_by_side.py --data ../shared/data/cifar10-jpeg.tar.gz \\
        --seeds 3 --precision bfloat16 --out runs/side_by_side_bf16
    python benchmarks/peer_side_by_side.py --dry-run --out /tmp/sbs   # seconds

The peers seed with `torch.manual_seed(0)`; run here, that call takes the
benchmark's seed instead (nothing else of theirs changes). On a GPU the peers
run their original fp16 + `torch.compile` whatever `--precision` says, and the
recipe takes `--precision float16` (mixed_float16) there.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tarfile
import time

import machine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(ROOT, "..", "shared", "peers")
SAMPLE = os.path.join(ROOT, "recipekit", "data", "cifar10_sample.tar.gz")
PEER_SCRIPT = {"muon": "airbench94_muon.py", "sgd": "airbench94.py"}
KERAS_PRECISION = {
    "bfloat16": "mixed_bfloat16",
    "float32": "float32",
    "float16": "mixed_float16",
}
# Runs the peer as its own __main__ with torch.manual_seed's argument replaced.
SEEDED = (
    "import runpy, sys, torch; seed = int(sys.argv[1]); f = torch.manual_seed; "
    "torch.manual_seed = lambda _: f(seed); sys.argv = sys.argv[2:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def dry_run_data(out, train=200, test=10):
    """The dry runs' data: the bundled sample's first `train` training and
    `test` test JPEGs of each class, as an archive of the same layout (2,000
    training images: one step of the peers' batches, airbench94_muon's 2,000
    and airbench94's 1,024, which drop the last partial batch)."""
    path = os.path.join(out, "dry_run_data.tar.gz")
    if os.path.exists(path):
        return path
    os.makedirs(out, exist_ok=True)
    limits, counts = {"train": train, "test": test}, {}
    with tarfile.open(SAMPLE) as source, tarfile.open(path + ".tmp", "w:gz") as kept:
        for member in source:
            key = tuple(member.name.split("/")[:2])
            if member.isfile() and counts.get(key, 0) < limits.get(key[0], 0):
                counts[key] = counts.get(key, 0) + 1
                kept.addfile(member, source.extractfile(member))
    os.replace(path + ".tmp", path)
    return path


def _last_json(text):
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON line in the peer's output:\n{text[-2000:]}")


def _table_epoch_seconds(text):
    """Per-epoch training seconds from airbench94's table, whose last column
    is the running `total_time_seconds` (its timer leaves evaluation out).
    On a GPU the table holds a warm-up run first: a total that falls starts a
    new run, and the last run's epochs are returned."""
    runs = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1].isdigit() and cells[6]:
            total = float(cells[6])
            if not runs or total < runs[-1][-1]:
                runs.append([])
            runs[-1].append(total)
    if not runs:
        raise RuntimeError(f"no epoch rows in the peer's table:\n{text[-2000:]}")
    totals = runs[-1]
    return [round(b - a, 2) for a, b in zip([0.0, *totals], totals, strict=False)]


def peer_run(args, seed):
    """One peer run; its JSON line, with the training epochs picked out."""
    path = os.path.join(args.out, "peer", f"seed{seed}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    env = dict(os.environ)
    env.pop("PEER_BF16", None)
    if args.precision == "bfloat16":
        env["PEER_BF16"] = "1"
    if args.epochs:
        env["PEER_EPOCHS"] = str(args.epochs)
    script = os.path.join(args.peers, PEER_SCRIPT[args.variant])
    command = [sys.executable, "-c", SEEDED, str(seed), script, args.data]
    if args.variant == "sgd" and args.epochs:
        command.append(str(args.epochs))
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"peer seed {seed} failed:\n{done.stderr[-3000:]}")
    result = _last_json(done.stdout)
    if "epoch_seconds" in result:
        # airbench94_muon: [whitening fit, epoch 1..N, final TTA evaluation]
        result["train_epoch_s"] = result["epoch_seconds"][1:-1]
    else:  # airbench94 prints only its table: per epoch, the running total
        result["train_epoch_s"] = _table_epoch_seconds(done.stdout)
    result["process_s"] = round(time.perf_counter() - started, 1)
    result["seed"] = seed
    machine.write_json(path, result)
    return result


def recipe_run(args, seed):
    """One recipe run in its own process (its backend from KERAS_BACKEND)."""
    out = os.path.join(args.out, "recipe", f"seed{seed}")
    command = [
        sys.executable, os.path.join(ROOT, "recipes", "cifar10_fast.py"),
        "--data", args.data, "--precision", KERAS_PRECISION[args.precision],
        "--optimizer", args.variant, "--seed", str(seed), "--out", out,
    ]  # fmt: skip
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    command += shlex.split(args.recipe_args)
    if args.variant == "sgd" and not args.epochs:
        # airbench94's own Lookahead and schedule
        command += ["--averaging", "lookahead", "--warmup", "0.23"]
        command += ["--final-lr", "0.07"]
    kept = os.path.join(args.out, "recipe", f"seed{seed}.json")
    if os.path.exists(kept):
        with open(kept) as f:
            return json.load(f)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"recipe seed {seed} failed:\n{done.stderr[-3000:]}")
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    final = [k for k in metrics["accuracy"] if "logit" not in k][-1]
    modes = metrics["accuracy"][final]
    result = {
        "seed": seed,
        "val_acc": modes["none"],
        "tta_val_acc": modes["flip_translate"],
        "logit_tta_val_acc": metrics["accuracy"][f"{final}, logit TTA"][
            "flip_translate"
        ],
        "train_epoch_s": metrics["epoch_times_s"],
        "phase_s": metrics.get("phase_s", {}),
        "backend": metrics["backend"],
        "process_s": round(time.perf_counter() - started, 1),
        "command": " ".join(command),
    }
    machine.write_json(kept, result)
    return result


def steady(epoch_s):
    """Seconds per epoch without the first (tracing, warm caches)."""
    later = epoch_s[1:] or epoch_s
    return sum(later) / len(later)


def mean_std(values):
    values = [float(v) for v in values]
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return round(statistics.fmean(values), 4), round(std, 4)


def summarize(pairs):
    """The table's rows from [(peer, recipe), ...] paired by seed."""
    peers = [p for p, _ in pairs]
    recipes = [r for _, r in pairs]
    ratios = [steady(r["train_epoch_s"]) / steady(p["train_epoch_s"]) for p, r in pairs]
    waits = [r["process_s"] / p["process_s"] for p, r in pairs]
    return {
        "seeds": [p["seed"] for p in peers],
        "peer": {
            "no TTA": mean_std([100 * p["val_acc"] for p in peers]),
            "TTA": mean_std([100 * p["tta_val_acc"] for p in peers]),
            "s/epoch": mean_std([steady(p["train_epoch_s"]) for p in peers]),
        },
        "recipe": {
            "no TTA": mean_std([100 * r["val_acc"] for r in recipes]),
            "TTA": mean_std([100 * r["tta_val_acc"] for r in recipes]),
            "TTA (logits)": mean_std([100 * r["logit_tta_val_acc"] for r in recipes]),
            "s/epoch": mean_std([steady(r["train_epoch_s"]) for r in recipes]),
        },
        "time ratio recipe / peer": mean_std(ratios),
        # The whole wait: each process from its command to its printed result.
        "process_s": {
            "peer": mean_std([p["process_s"] for p in peers]),
            "recipe": mean_std([r["process_s"] for r in recipes]),
        },
        "process ratio recipe / peer": mean_std(waits),
        "per seed ratio": [round(x, 3) for x in ratios],
        "per seed process ratio": [round(x, 3) for x in waits],
        # Each seed's own numbers, so that seeds run apart can be pooled later.
        "per seed": [
            {"seed": p["seed"], "peer": _numbers(p), "recipe": _numbers(r)}
            for p, r in pairs
        ],
    }


def _numbers(run):
    """One run's accuracies (%) and seconds, rounded, for the record."""
    keys = ("val_acc", "tta_val_acc", "logit_tta_val_acc")
    kept = {k: round(100 * run[k], 2) for k in keys if k in run}
    kept["s/epoch"] = round(steady(run["train_epoch_s"]), 2)
    kept["process_s"] = round(run["process_s"], 1)
    return kept


def table(summary, args):
    def cell(pair):
        return f"{pair[0]:.2f} +- {pair[1]:.2f}"

    seeds = len(summary["seeds"])
    lines = [
        f"{args.variant} vs {PEER_SCRIPT[args.variant]}, {args.precision}, "
        f"{seeds} seed(s) each, data {args.data}, on {summary['machine']}",
        "| run | no TTA | TTA | TTA (logits) | s/epoch (steady) | process s |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("peer", "recipe"):
        row = summary[name]
        logits = cell(row["TTA (logits)"]) if "TTA (logits)" in row else "(its TTA)"
        lines.append(
            f"| {name} | {cell(row['no TTA'])} | {cell(row['TTA'])} | {logits} | "
            f"{cell(row['s/epoch'])} | {cell(summary['process_s'][name])} |"
        )
    ratio = summary["time ratio recipe / peer"]
    lines.append(
        f"time ratio recipe / peer per epoch: {ratio[0]:.3f} +- {ratio[1]:.3f} "
        f"(per seed: {summary['per seed ratio']})"
    )
    wait = summary["process ratio recipe / peer"]
    lines.append(
        f"time ratio recipe / peer, whole process: {wait[0]:.3f} +- {wait[1]:.3f} "
        f"(per seed: {summary['per seed process ratio']})"
    )
    return "\n".join(lines)


def side_by_side(args, deadline=None):
    """Alternates peer and recipe seed by seed; returns the summary.

    With a `deadline` (a `time.perf_counter()` value), a seed starts only
    while the time left exceeds what the slowest seed so far took."""
    pairs, slowest = [], 0.0
    for seed in range(args.seed, args.seed + args.seeds):
        if pairs and deadline is not None and deadline - time.perf_counter() < slowest:
            print(f"side by side: {len(pairs)} seed(s), no time for more", flush=True)
            break
        started = time.perf_counter()
        peer = peer_run(args, seed)
        print(json.dumps({"peer": PEER_SCRIPT[args.variant], **peer}), flush=True)
        recipe = recipe_run(args, seed)
        print(json.dumps({"recipe": args.variant, **recipe}), flush=True)
        pairs.append((peer, recipe))
        slowest = max(slowest, time.perf_counter() - started)
    summary = {**summarize(pairs), "machine": machine.describe()}
    summary["runs"] = [{"peer": p, "recipe": r} for p, r in pairs]
    summary["table"] = table(summary, args)
    machine.write_json(os.path.join(args.out, "side_by_side.json"), summary)
    print(summary["table"], flush=True)
    return summary


def parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="CIFAR-10 archive (split/class/*.jpg)")
    p.add_argument("--variant", choices=("muon", "sgd"), default="muon")
    p.add_argument("--precision", choices=sorted(KERAS_PRECISION), default="bfloat16")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--epochs", type=float, default=None, help="(default: the peer's)")
    p.add_argument("--peers", default=PEERS, help="folder of the peer scripts")
    p.add_argument("--recipe-args", default="", help="more recipe flags, quoted")
    p.add_argument("--out", default="runs/side_by_side")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="2,000 images of the bundled sample, 1 epoch, 1 seed: checks the path",
    )
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.seeds < 1:
        parser().error(f"--seeds must be >= 1, got {args.seeds}")
    if args.dry_run:
        args.data = args.data or dry_run_data(args.out)
        args.epochs, args.seeds = 1, 1
    if args.data is None:
        args.data = os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz")
    if args.epochs is not None and float(args.epochs).is_integer():
        args.epochs = int(args.epochs)
    for path in (args.data, os.path.join(args.peers, PEER_SCRIPT[args.variant])):
        if not os.path.exists(path):
            parser().error(f"{path} does not exist")
    summary = side_by_side(args)
    if not args.dry_run:  # a real measurement joins the record (results/*.jsonl)
        fields = {k: v for k, v in summary.items() if k not in ("runs", "table")}
        machine.record("peer_side_by_side", {"variant": args.variant,
                       "precision": args.precision, "epochs": args.epochs,
                       **fields}, echo=False)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
