"""Measured effects of recipekit's techniques: arms paired by seed, with intervals.

An experiment is a baseline and its arms, a budget, a number of seeds and a
regime chosen where the effect is expected and a run takes minutes. Each arm
is a number read from a recipe run's `metrics.json`: arms of one run (the EMA
and the raw weights, the TTA modes) are paired within the run; arms of two
runs (with and without color jitter) are paired by seed. Every run is a real
recipe command into OUT/<experiment>/<run>/seed<k>/, so a killed harness
resumes: finished runs are reused, a half-finished one resumes from its backup.

For each arm, `benchmarks/EVIDENCE.md` gets: mean +- std over the seeds, the
paired difference to the baseline with its 95% interval (Student t over the
per-seed differences), whether the interval excludes 0, the seeds, the budget,
the wall time and the exact commands.

    python benchmarks/evidence.py                      # --scale cpu, 3 seeds
    python benchmarks/evidence.py --only averaging tta --seeds 5
    python benchmarks/evidence.py --scale paper --list # the GPU protocols
    python benchmarks/evidence.py --dry-run            # seconds: the suite runs it
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz")


@dataclasses.dataclass
class Experiment:
    name: str
    why: str  # why this regime shows the effect, at this budget
    runs: dict  # run name -> recipe and its arguments (without --seed/--out)
    arms: list  # (arm, run name, path into metrics.json); the first: baseline
    budget: str
    reference: str = ""  # a paper's figure under the same protocol, or a peer
    missing: str = ""  # arms the issue asks for that no recipe runs yet
    # run name -> (flag, values): on the first seed each value is run and the
    # one with the best `select` (a validation metric) is used for every seed.
    sweep: dict = dataclasses.field(default_factory=dict)
    select: list = dataclasses.field(default_factory=list)
    error: bool = False  # the metrics hold test errors: shown as 100 - error


def resnet(*extra, epochs=15):
    return ["cifar10_resnet", "--quick", "--epochs", str(epochs), *extra]


def small(*extra):
    """benchmarks/small_net.py: a plain CNN, 4,500 sample images, no augmentation."""
    return ["benchmarks/small_net.py", *extra]


# Learning rates tried for each optimizer (a factor of ~3 apart, around the
# usual value); the best on the validation split is used for every seed.
RATES = {"sgd": (0.01, 0.03, 0.1), "momentum": (0.003, 0.01, 0.03),
         "nesterov": (0.003, 0.01, 0.03), "adagrad": (0.003, 0.01, 0.03),
         "rmsprop": (1e-4, 3e-4, 1e-3), "adam": (1e-4, 3e-4, 1e-3)}  # fmt: skip


def transfer_arms(labels_per_class):
    """The transfer arms at one label budget, read from the same runs."""
    arms = (("scratch", "scratch"), ("L-BFGS probe", "lbfgs_probe"),
            ("SGD probe", "sgd_probe"),
            ("head, then fine-tune top 30%", "head_then_finetune"))  # fmt: skip
    return [(arm, "transfer", ["target", str(labels_per_class), key])
            for arm, key in arms]  # fmt: skip


TRANSFER = ["benchmarks/transfer.py", "--data", SHARED, "--labels-per-class", "50",
            "500", "--backbone", "{out}/transfer/backbone.weights.h5"]  # fmt: skip


CPU = [
    Experiment(
        "averaging",
        "ResNet-20 on the 5,000-image sample for 15 epochs, where the weights "
        "still move at the end, so an average of them can differ",
        {"resnet": resnet(), "polyak": resnet("--polyak-from", "0.5")},
        [
            ("last weights", "resnet", ["test_accuracy"]),
            ("EMA 0.999", "resnet", ["ema_test_accuracy"]),
            (
                "Polyak/SWA from 50%, BatchNorm recomputed",
                "polyak",
                ["polyak_test_accuracy"],
            ),
        ],  # fmt: skip
        "ResNet-20, 15 epochs, 5,000 images; Polyak averages from the first rate "
        "drop on (a run of its own, same seed)",
    ),
    Experiment(
        "tta",
        "the same ResNet-20 runs: TTA helps most where the model is uncertain",
        {"resnet": resnet()},
        [
            ("no TTA", "resnet", ["tta_accuracy", "none"]),
            ("flip", "resnet", ["tta_accuracy", "flip"]),
            ("ten_crop", "resnet", ["tta_accuracy", "ten_crop"]),
        ],  # fmt: skip
        "ResNet-20, 15 epochs, 5,000 images (EMA weights)",
    ),
    Experiment(
        "color",
        "5,000 images: little data, where augmentation matters most",
        {
            "crop+flip": resnet(),
            "+jitter+lighting": resnet("--jitter", "0.4", "--lighting", "0.1"),
        },
        [
            ("crop + flip", "crop+flip", ["ema_test_accuracy"]),
            (
                "+ color jitter 0.4 + PCA lighting 0.1",
                "+jitter+lighting",
                ["ema_test_accuracy"],
            ),
        ],  # fmt: skip
        "ResNet-20, 15 epochs, 5,000 images",
    ),
    Experiment(
        "stochastic_depth",
        "ResNet-20 on 5,000 images overfits: the regularizer has work to do",
        {
            "sd": [
                "cifar_stochastic_depth",
                "--quick",
                "--depth",
                "20",
                "--epochs",
                "15",
            ]
        },  # fmt: skip
        [
            ("none", "sd", ["runs", "without", "test_error"]),
            ("stochastic depth 0.5", "sd", ["runs", "with", "test_error"]),
        ],  # fmt: skip
        "ResNet-20, 15 epochs, 5,000 images (accuracy: 100 - the recipe's test error)",
        reference="Huang et al. 2016, ResNet-110, 500 epochs: 6.41% -> 5.25% error",
        error=True,
    ),
    Experiment(
        "snapshot",
        "equal cost: M cosine cycles vs one step-decay run of the same epochs",
        {
            "snap": [
                "cifar_snapshot_ensemble",
                "--quick",
                "--depth",
                "20",
                "--epochs",
                "16",
                "--snapshots",
                "4",
                "--independent",
            ]
        },  # fmt: skip
        [
            ("one run, step decay", "snap", ["single_model_step_decay_accuracy"]),
            ("snapshot ensemble of 4", "snap", ["ensemble_accuracy"]),
            (
                "4 independent runs of 4 epochs, ensembled",
                "snap",
                ["independent_ensemble_accuracy"],
            ),
        ],  # fmt: skip
        "ResNet-20, 16 epochs, 5,000 images",
        reference="Huang et al. 2017: ensembles of 6 snapshots, 300 epochs",
    ),
    Experiment(
        "regularizers",
        "a plain CNN on 4,500 images without augmentation overfits within a few "
        "epochs: its dense layer and its pooling have something to regularize",
        {
            "none": small(),
            "dropout": small("--head", "dropout"),
            "dropconnect": small("--head", "dropconnect"),
            "fmp": small("--pool", "fractional"),
        },  # fmt: skip
        [
            ("none (max-pooling, plain dense layer)", "none", ["test_accuracy"]),
            ("Dropout 0.5 after the dense layer", "dropout", ["test_accuracy"]),
            ("DropConnect 0.5 in the dense layer", "dropconnect", ["test_accuracy"]),
            (
                "fractional max-pooling sqrt(2) instead of 2x2 max-pooling",
                "fmp",
                ["test_accuracy"],
            ),
        ],  # fmt: skip
        "plain CNN, 15 epochs, SGD momentum 0.01, 4,500 images, no augmentation",
        reference="Graham 2014 (FMP) and Wan et al. 2013 (DropConnect) used "
        "heavy augmentation and far longer training",
    ),
    Experiment(
        "optimizers",
        "one plain CNN and budget for all six, each at its best rate from a "
        "3-point sweep on a validation split (seed 0), never on the test set",
        {name: small("--optimizer", name, "--epochs", "10") for name in RATES},
        [(name, name, ["test_accuracy"]) for name in RATES],
        "plain CNN, 10 epochs, 4,500 images, no augmentation",
        sweep={name: ("--lr", rates) for name, rates in RATES.items()},
        select=["val_accuracy"],
    ),
    Experiment(
        "transfer_50",
        "50 labelled images per class on CIFAR-10 classes 5-9, from a ResNet-20 "
        "pretrained on classes 0-4 (ImageNet weights cannot be fetched here)",
        {"transfer": TRANSFER},
        transfer_arms(50),
        "ResNet-20 backbone (8 source epochs, shared by all seeds), 250 target "
        "images; scratch: 120 epochs",
    ),
    Experiment(
        "transfer_500",
        "500 labelled images per class: where fine-tuning should pull ahead",
        {"transfer": TRANSFER},
        transfer_arms(500),
        "the same runs, 2,500 target images; scratch: 15 epochs",
    ),
]

PAPER = [
    ("ResNet-20, 182 epochs (He et al. 2016: 91.25%)",
     "python benchmarks/gpu_fast_cifar.py run (its resnet20 part)"),
    ("ResNet-56, 182 epochs (He et al. 2016: 93.03%)",
     "python recipes/cifar10_resnet.py --data cifar10 --depth 56"),
    ("Stochastic-depth ResNet-110, 500 epochs (Huang et al. 2016: 5.25% error)",
     "python recipes/cifar_stochastic_depth.py --data cifar10"),
    ("Snapshot ensembles, 300 epochs (Huang et al. 2017)",
     "python recipes/cifar_snapshot_ensemble.py --data cifar10"),
]  # fmt: skip


def dig(metrics, path):
    for key in path:
        metrics = metrics[key]
    return float(metrics)


def paired(base, arm):
    """Mean paired difference and its 95% half-width (t over the seeds)."""
    diffs = [a - b for a, b in zip(arm, base, strict=True)]
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, float("nan")
    from scipy import stats

    t = float(stats.t.ppf(0.975, len(diffs) - 1))
    return mean, t * statistics.stdev(diffs) / len(diffs) ** 0.5


def folder(experiment, run, argv):
    """Where a run writes: the first experiment's with the same command, so that
    experiments reading one run (averaging and TTA) share it."""
    for other in CPU:
        for name, other_argv in other.runs.items():
            if other_argv == argv:
                return os.path.join(other.name, name)
    return os.path.join(experiment.name, run.replace(" ", ""))


def run_one(args, experiment, run, seed, argv=None):
    """One recipe run (reused if finished); its metrics and command."""
    argv = argv or experiment.runs[run]
    recipe, *rest = argv
    out = os.path.join(args.out, folder(experiment, run, argv), f"seed{seed}")
    where = [recipe] if recipe.endswith(".py") else ["recipes", f"{recipe}.py"]
    script = os.path.join(ROOT, *where)
    rest = [a.replace("{out}", args.out) for a in rest]
    if args.data:
        rest = [*rest, "--data", args.data]
    command = [sys.executable, script, *rest, *args.shrink, "--seed", str(seed),
               "--out", out]  # fmt: skip
    path = os.path.join(out, "metrics.json")
    timing = os.path.join(out, "harness_wall_s.json")  # kept for reused runs
    if not os.path.exists(path) or json.load(open(path)).get("status") == "stopped":
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        with open(timing, "w") as f:
            json.dump(time.perf_counter() - started, f)
    with open(path) as f:
        metrics = json.load(f)
    seconds = json.load(open(timing)) if os.path.exists(timing) else 0.0
    # Paths as a reader at the repository's root would type them.
    shown = [os.path.relpath(a, ROOT) if os.path.isabs(a) else a for a in command[2:]]
    shown = " ".join(["python", os.path.relpath(command[1], ROOT), *shown])
    return metrics, shown, seconds


def sweep(args, experiment):
    """Each run's argv at the best swept value (chosen on the first seed)."""
    runs, chosen, wall = dict(experiment.runs), {}, 0.0
    for run, (flag, candidates) in experiment.sweep.items():
        scores = {}
        for value in candidates:
            argv = [*runs[run], flag, str(value)]
            metrics, _, seconds = run_one(
                args, experiment, f"{run} {flag}{value}", args.seed, argv
            )
            scores[value], wall = dig(metrics, experiment.select), wall + seconds
        best = max(candidates, key=lambda v: scores[v])  # the first of ties
        runs[run] = [*runs[run], flag, str(best)]
        chosen[run] = {"flag": flag, "best": best, "scores": scores}
    return runs, chosen, wall


def measure(args, experiment):
    values = {arm: [] for arm, _, _ in experiment.arms}
    runs, chosen, wall = sweep(args, experiment)
    commands = {}
    for seed in range(args.seed, args.seed + args.seeds):
        results = {}
        for run, argv in runs.items():
            if run in chosen:
                tag = f"{run} {chosen[run]['flag']}{chosen[run]['best']}"
                if seed == args.seed:  # the sweep's own run
                    metrics, command, _ = run_one(args, experiment, tag, seed, argv)
                    results[run] = metrics
                    commands[run] = command.replace(f"--seed {seed}", "--seed S")
                    commands[run] = commands[run].replace(f"seed{seed}", "seedS")
                    continue
                metrics, command, seconds = run_one(args, experiment, tag, seed, argv)
            else:
                metrics, command, seconds = run_one(args, experiment, run, seed)
            results[run] = metrics
            commands[run] = command.replace(f"--seed {seed}", "--seed S").replace(
                f"seed{seed}", "seedS"
            )
            wall += seconds
        for arm, run, path in experiment.arms:
            value = 100 * dig(results[run], path)
            values[arm].append(100 - value if experiment.error else value)
    base_name = experiment.arms[0][0]
    rows = []
    for arm, _, _ in experiment.arms:
        v = values[arm]
        std = statistics.stdev(v) if len(v) > 1 else 0.0
        row = {"arm": arm, "mean": statistics.fmean(v), "std": std, "values": v}
        if arm != base_name:
            diff, half = paired(values[base_name], v)
            row.update(diff=diff, half=half, significant=abs(diff) > half)
        rows.append(row)
    seeds = list(range(args.seed, args.seed + args.seeds))
    return {"experiment": experiment.name, "rows": rows, "commands": commands,
            "wall_s": wall, "seeds": seeds, "sweep": chosen}  # fmt: skip


def markdown(results, experiments, args):
    lines = [
        "# Evidence: what each technique buys, measured",
        "",
        f"Written by `python benchmarks/evidence.py {' '.join(args.argv)}` on "
        f"{platform.node()} ({os.cpu_count()} CPUs), "
        f"{datetime.date.today().isoformat()}. Paired by seed; the interval is "
        "the 95% Student t interval of the per-seed differences to the baseline "
        "(the first arm); 'yes' when it excludes 0.",
        "",
        "## Summary",
        "",
        "| experiment | arm vs baseline | effect (points, 95% CI) | clear? |",
        "|---|---|---|---|",
    ]
    for result in results:
        base = result["rows"][0]["arm"]
        for row in result["rows"][1:]:
            clear = "yes" if row["significant"] else "no, within noise"
            effect = f"{row['diff']:+.2f} +- {row['half']:.2f}"
            arm = f"{row['arm']} vs {base}"
            lines.append(f"| {result['experiment']} | {arm} | {effect} | {clear} |")
    lines.append("")
    for result in results:
        experiment = experiments[result["experiment"]]
        lines += [f"## {experiment.name}", ""]
        lines += [f"Regime: {experiment.budget}. Why: {experiment.why}.", ""]
        if experiment.reference:
            lines += [f"Reference: {experiment.reference}.", ""]
        lines += ["| arm | mean +- std (%) | vs baseline (95% CI) | clear? | seeds |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for row in result["rows"]:
            diff = (f"{row['diff']:+.2f} +- {row['half']:.2f}" if "diff" in row
                    else "baseline")  # fmt: skip
            clear = ("yes" if row.get("significant") else "no, within noise"
                     ) if "diff" in row else ""  # fmt: skip
            lines.append(f"| {row['arm']} | {row['mean']:.2f} +- {row['std']:.2f} | "
                         f"{diff} | {clear} | {len(row['values'])} |")  # fmt: skip
        for run, pick in result.get("sweep", {}).items():
            tried = ", ".join(
                f"{v:g}: {100 * a:.1f}" for v, a in pick["scores"].items()
            )
            lines += ["", f"{run}: {pick['flag']} {pick['best']:g} chosen on "
                      f"validation accuracy (seed {args.seed}; {tried})."]  # fmt: skip
        lines += ["", f"Wall time: {result['wall_s'] / 60:.1f} min. Commands:", ""]
        lines += [f"    {c}" for c in result["commands"].values()]
        if experiment.missing:
            lines += ["", f"Not measured yet: {experiment.missing}."]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=("cpu", "paper"), default="cpu")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--only", nargs="+", help="experiments to run (default all)")
    p.add_argument("--data", help="data for every run (default: each recipe's)")
    p.add_argument("--out", default="runs/evidence")
    p.add_argument("--report", default=os.path.join(HERE, "EVIDENCE.md"))
    p.add_argument("--list", action="store_true", help="list the experiments")
    p.add_argument("--dry-run", action="store_true",
                   help="2 seeds, 1 epoch of ResNet-8, tiny data")  # fmt: skip
    args = p.parse_args(argv)
    args.argv = argv
    if args.scale == "paper":
        for i, (what, command) in enumerate(PAPER, 1):
            print(f"{i}. {what}\n   {command}")
        print("These run on a GPU: benchmarks/gpu_fast_cifar.py runs them in "
              "priority order within one device call.")  # fmt: skip
        return 0
    experiments = {e.name: e for e in CPU}
    if args.list:
        for e in CPU:
            print(f"{e.name}: {e.budget}; arms: {[a for a, _, _ in e.arms]}")
        return 0
    chosen = args.only or list(experiments)
    unknown = sorted(set(chosen) - set(experiments))
    if unknown:
        p.error(f"unknown experiments {unknown}; see --list")
    args.shrink = []
    if args.dry_run:  # tiny data, 1 epoch of ResNet-8, 2 seeds, 2 experiments
        import numpy as np

        args.seeds, args.shrink = 2, ["--epochs", "1", "--depth", "8"]
        chosen = args.only or ["averaging", "color"]
        os.makedirs(args.out, exist_ok=True)
        args.data = os.path.join(args.out, "tiny.npz")
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (160, 32, 32, 3), dtype=np.uint8)
        np.savez(args.data, x_train=x[:128], y_train=np.arange(128) % 2,
                 x_test=x[128:], y_test=np.arange(32) % 2)  # fmt: skip
    results = [measure(args, experiments[name]) for name in chosen]
    text = markdown(results, experiments, args)
    with open(args.report, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
