"""Measured effects of recipekit's techniques: arms paired by seed, with intervals.

An experiment is a baseline and its arms, a regime chosen (and written into
EVIDENCE.md) before its runs, and the paper figure it corresponds to. Each arm
is a number read from a run's `metrics.json`: arms of one run (the EMA and the
raw weights, the TTA modes) are paired within the run; arms of two runs (with
and without color jitter) are paired by seed. Every run is a real recipe or
benchmark command into OUT/<experiment>/<run>/seed<k>/, so a killed harness
resumes: finished runs are reused, a half-finished one resumes from its backup.

The seed rule, fixed before any run: every experiment runs `--seeds` seeds
(default 5); while an arm's 95% half-width exceeds `--target` points (0.5) and
fewer than `--max-seeds` (10) seeds have run, one more seed runs; an arm still
above the target says how many seeds it would need at its observed spread.

The report goes to OUT/EVIDENCE.md, rewritten after each experiment; only
`--publish` writes the committed benchmarks/EVIDENCE.md (never a dry run).
It holds every experiment: those `--only` leaves out are reported from their
finished runs, none started.
`--no-run` writes the report from the runs already finished, starting none.

Every finished run is also appended to a ledger committed with the project,
`benchmarks/results/evidence_runs.jsonl` (one JSON line: the run, its command,
the numbers of its `metrics.json`, wall time, processor, commit, date), and a
run found there is not run again: runs outlive the machine and the OUT folder
they ran in. `--ledger` names another file (a dry run keeps its own in OUT).

    python benchmarks/evidence.py --out runs/evidence            # all, 5+ seeds
    python benchmarks/evidence.py --only ema tta --out runs/evidence
    python benchmarks/evidence.py --out runs/evidence --no-run --publish
    python benchmarks/evidence.py --scale paper --list  # the GPU protocols
    python benchmarks/evidence.py --dry-run --out /tmp/e  # seconds: the suite runs it
"""

import argparse
import dataclasses
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

import machine

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PUBLISHED = os.path.join(HERE, "EVIDENCE.md")
LEDGER = os.path.join(HERE, "results", "evidence_runs.jsonl")
SHARED = os.path.join(ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz")


@dataclasses.dataclass
class Experiment:
    name: str
    why: str  # why this regime shows the effect, at this budget
    runs: dict  # run name -> recipe and its arguments (without --seed/--out)
    arms: list  # (arm, run name, path into metrics.json); the first: baseline
    budget: str
    paper: str = ""  # the published effect: paper, protocol, number
    # The paper's direction (+1 helps, -1 hurts): one for every arm, or
    # {arm: direction} where the paper reports arms apart (others: none).
    expect: int | dict = 0
    reason: str = ""  # written after the runs: why ours differs, if it does
    unmeasurable: str = ""  # why no regime on this machine can show the effect
    missing: str = ""  # arms the issue asks for that no recipe runs yet
    # run name -> (flag, values): on the first seed each value is run and the
    # one with the best `select` (a validation metric) is used for every seed.
    sweep: dict = dataclasses.field(default_factory=dict)
    select: list = dataclasses.field(default_factory=list)
    error: bool = False  # the metrics hold test errors: shown as 100 - error


# The workhorse: the fast net (recipes/cifar10_fast.py, SGD, 10 epochs: the
# recipe's own budget) in bfloat16 on all 50,000 training and 10,000 test
# images. Arms that need no TTA score only the untransformed test set.
FAST = "cifar10_fast --optimizer sgd --precision mixed_bfloat16 --evaluate-raw".split()
BASELINE = [*FAST, "--tta-modes", "none", "flip", "flip_translate", "ten_crop"]


# The recipe's default, the Muon variant, at its published 8 epochs.
MUON = "cifar10_fast --precision mixed_bfloat16 --tta-modes none".split()


def fast(*extra):
    return [*FAST, "--tta-modes", "none", *extra]


def small(*extra):
    """benchmarks/small_net.py on the full data: a plain CNN, no augmentation."""
    return ["benchmarks/small_net.py", *extra]


EMA_NONE = ["accuracy", "ema", "none"]  # the SGD recipe's final weights, no TTA
# Learning rates tried for each optimizer: five points a factor of ~3 apart
# (the 3-point grid of the small-data runs had its best at an edge for SGD,
# AdaGrad and RMSProp); the best on the validation split is used for every seed.
RATES = {"sgd": (0.01, 0.03, 0.1, 0.3, 1.0),
         "momentum": (0.001, 0.003, 0.01, 0.03, 0.1),
         "nesterov": (0.001, 0.003, 0.01, 0.03, 0.1),
         "adagrad": (0.003, 0.01, 0.03, 0.1, 0.3),
         "rmsprop": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3),
         "adam": (3e-5, 1e-4, 3e-4, 1e-3, 3e-3)}  # fmt: skip


def transfer_arms(labels_per_class):
    """The transfer arms at one label budget, read from the same runs."""
    arms = (("scratch", "scratch"), ("L-BFGS probe", "lbfgs_probe"),
            ("SGD probe", "sgd_probe"),
            ("head, then fine-tune top 30%", "head_then_finetune"))  # fmt: skip
    return [(arm, "transfer", ["target", str(labels_per_class), key])
            for arm, key in arms]  # fmt: skip


TRANSFER = ["benchmarks/transfer.py", "--labels-per-class", "50", "500",
            "--backbone", "{out}/transfer/backbone.weights.h5"]  # fmt: skip
SMALL_EPOCHS = (
    "20"  # the plain CNN on 45,000 images: past its best by then (~1 min an epoch here)
)

CPU = [
    Experiment(
        "ema",
        "the fast net's weights still move in the last epochs (its rate decays "
        "to 0 over the last 80% of steps), so an average over the last ~50 "
        "steps (decay 0.98) can sit lower in the loss than the last weights",
        {"sgd": BASELINE},
        [
            ("raw weights", "sgd", ["accuracy", "raw", "none"]),
            ("EMA 0.98 from epoch 2", "sgd", EMA_NONE),
        ],  # fmt: skip
        "fast net, SGD, 10 epochs, batch 1024, bfloat16, 50,000 images; no TTA",
        paper="Polyak & Juditsky 1992: averaged iterates converge at the "
        "optimal rate (a theorem, no accuracy figure); Zhang et al. 2019 "
        "(ResNet-18, CIFAR-10, 200 epochs): Polyak averaging 95.26 vs SGD "
        "95.23% (+0.03)",
        expect=+1,
        reason="the rate falls linearly to 0, so the last weights have already "
        "settled; an average of the last ~50 steps lags behind them, into "
        "weights taken at a higher rate (the papers average at a constant or "
        "step-decayed rate).",
    ),
    Experiment(
        "tta",
        "the same runs (EMA weights): test views the net was trained to see "
        "(mirrors, 2-pixel translations) average out its mistakes",
        {"sgd": BASELINE},
        [
            ("no TTA", "sgd", EMA_NONE),
            ("flip", "sgd", ["accuracy", "ema", "flip"]),
            ("flip_translate", "sgd", ["accuracy", "ema", "flip_translate"]),
            (
                "ten_crop (of the image padded by 2)",
                "sgd",
                ["accuracy", "ema", "ten_crop"],
            ),
        ],  # fmt: skip
        "fast net, SGD, 10 epochs, EMA weights, 50,000 images",
        paper="airbench94 (Jordan 2024) scores flip + translate TTA; its "
        "Muon port on this JPEG copy: 89.57 -> 90.60% (+1.03, 3 seeds, "
        "RESULTS.md); Krizhevsky et al. 2012 average ten crops (no figure "
        "for them alone)",
        expect=+1,
    ),
    Experiment(
        "label_smoothing",
        "the fast net is trained to a low loss in 10 epochs; smoothing (0.2) "
        "keeps its logits from growing overconfident on the training set",
        {"sgd": BASELINE, "ls0": fast("--label-smoothing", "0")},
        [("none", "ls0", EMA_NONE), ("label smoothing 0.2", "sgd", EMA_NONE)],
        "fast net, SGD, 10 epochs, EMA weights, 50,000 images; no TTA",
        paper="Szegedy et al. 2016 (Inception-v3, ImageNet): 0.1 smoothing "
        "-0.2 points of top-1 error; airbench94 uses 0.2 on CIFAR-10",
        expect=+1,
    ),
    Experiment(
        "color",
        "each colour augmentation on its own, on top of the recipe's flips and "
        "2-pixel translations, on all 50,000 images for 10 epochs",
        {
            "sgd": BASELINE,
            "jitter": fast("--jitter", "0.4"),
            "lighting": fast("--lighting", "0.1"),
        },  # fmt: skip
        [
            ("crop + flip", "sgd", EMA_NONE),
            ("+ color jitter 0.4", "jitter", EMA_NONE),
            ("+ PCA lighting 0.1", "lighting", EMA_NONE),
        ],  # fmt: skip
        "fast net, SGD, 10 epochs, EMA weights, 50,000 images; no TTA",
        paper="Krizhevsky et al. 2012 (ImageNet): PCA lighting -1 point of "
        "top-1 error; no CIFAR-10 figure (airbench and the ResNet papers use "
        "crop and flip only)",
        expect=+1,
    ),
    Experiment(
        "augmentations",
        "each modern augmentation on its own, on top of the recipe's flips and "
        "2-pixel translations, at the recipe's 10 epochs. The papers train "
        "200+ epochs, where a strong regularizer has time to pay; 10 epochs "
        "may be too few, and then the row shows the cost a user would pay",
        {
            "sgd": BASELINE,
            "mixup": fast("--mixup", "0.8"),
            "cutmix": fast("--cutmix", "1.0"),
            "rand": fast("--auto-augment", "rand-n2-m9"),
            "trivial": fast("--auto-augment", "trivial"),
            "augmix": fast("--auto-augment", "augmix"),
            "erasing": fast("--erasing", "0.5"),
            "cutout": fast("--cutout", "12"),
        },
        [
            ("crop + flip", "sgd", EMA_NONE),
            ("+ MixUp (alpha 0.8)", "mixup", EMA_NONE),
            ("+ CutMix (alpha 1.0)", "cutmix", EMA_NONE),
            ("+ RandAugment (N 2, M 9)", "rand", EMA_NONE),
            ("+ TrivialAugmentWide", "trivial", EMA_NONE),
            ("+ AugMix (severity 3, width 3; no JSD loss)", "augmix", EMA_NONE),
            ("+ random erasing (p 0.5)", "erasing", EMA_NONE),
            ("+ Cutout (12 x 12)", "cutout", EMA_NONE),
        ],
        "fast net, SGD, 10 epochs, EMA weights, 50,000 images; no TTA",
        paper="CIFAR-10 test error, 200+ epochs: MixUp (Zhang et al. 2018, "
        "PreAct ResNet-18) 5.6 -> 4.2%; Cutout (DeVries & Taylor 2017, "
        "ResNet-18) 4.72 -> 3.99%; random erasing (Zhong et al. 2020, "
        "ResNet-20) 7.21 -> 6.73%; RandAugment (Cubuk et al. 2020, "
        "WRN-28-2) accuracy 94.9 -> 95.8%; AugMix (Hendrycks et al. 2020) "
        "aims at corruption robustness, not clean accuracy; airbench96 adds "
        "12-pixel Cutout with longer training",
        expect=+1,
    ),
    Experiment(
        "lookahead",
        "airbench94's own averaging on the SGD variant: Lookahead's slow "
        "weights vs the plain run (the raw weights of the EMA runs: the EMA "
        "does not change training)",
        {"sgd": BASELINE, "lookahead": fast("--averaging", "lookahead")},
        [
            ("none (raw weights)", "sgd", ["accuracy", "raw", "none"]),
            (
                "Lookahead (k=5, airbench94's alpha)",
                "lookahead",
                ["accuracy", "lookahead", "none"],
            ),
        ],  # fmt: skip
        "fast net, SGD, 10 epochs, 50,000 images; no TTA",
        paper="Zhang et al. 2019 (Lookahead, ResNet-18 on CIFAR-10, 200 "
        "epochs): 95.27 vs 95.23% for SGD (+0.04)",
        expect=+1,
    ),
    Experiment(
        "muon",
        "both optimizers at the SGD recipe's 10 epochs (Muon's recipe uses 8): "
        "each variant's own batch and rates, its own final weights",
        {"sgd": BASELINE, "muon": fast("--optimizer", "muon", "--epochs", "10")},
        [
            ("SGD (EMA weights)", "sgd", EMA_NONE),
            ("Muon (batch 2000, no averaging)", "muon", ["accuracy", "raw", "none"]),
        ],
        "fast net, 10 epochs, bfloat16, 50,000 images; no TTA",
        paper="Jordan 2024 (airbench94_muon): airbench94's 94% in 8 epochs "
        "instead of SGD's 9.9",
        expect=+1,
    ),
    Experiment(
        "snapshot",
        "the recipe's default (Muon) at its published 8 epochs, once; as 2 "
        "rate cycles of 4 epochs with a snapshot at each end, ensembled; and as "
        "2 independent 4-epoch runs, ensembled (the same cost). M=2: each "
        "snapshot must be a trained net on its own, and at 25 steps an epoch "
        "4 epochs is the shortest cycle that is (Huang et al.'s ResNet cycles "
        "were 40 epochs); the snapshots' diversity is what the ensemble can buy",
        {
            "one": MUON,
            "snapshots": [*MUON, "--snapshots", "2"],
            "independent": [*MUON, "--snapshots", "2", "--independent"],
        },
        [
            ("one run of 8 epochs", "one", ["accuracy", "raw", "none"]),
            (
                "snapshot ensemble (2 cycles of 4 epochs)",
                "snapshots",
                ["accuracy", "snapshot ensemble", "none"],
            ),
            ("its last snapshot alone", "snapshots", ["accuracy", "raw", "none"]),
            (
                "2 independent 4-epoch runs, ensembled",
                "independent",
                ["accuracy", "ensemble", "none"],
            ),
        ],
        "fast net, Muon (the default), 8 epochs in all, bfloat16, 50,000 "
        "images; no TTA",
        paper="Huang et al. 2017 (Snapshot Ensembles, Table 1: ResNet-110, "
        "CIFAR-10, 200 epochs, M=5, lr_max 0.2): one run 5.52% error, snapshot "
        "ensemble 5.32% (+0.20 points), 5 independent 40-epoch runs ensembled "
        "7.35% (-1.83 points)",
        expect={
            "snapshot ensemble (2 cycles of 4 epochs)": +1,
            "2 independent 4-epoch runs, ensembled": -1,
        },
        reason="at 8 epochs in all, the ensemble scores what its last snapshot "
        "scores alone (89.38 vs 89.36% in the means): the first snapshot, "
        "after one 4-epoch cycle, adds almost nothing, and the restart costs "
        "the second cycle half a point against one 8-epoch run. The paper's "
        "snapshots had 40 epochs of ResNet-110 each, 5 of them. Our reading, "
        "not measured here: the gain needs cycles long enough for each "
        "snapshot to converge, and a budget that affords several of them.",
    ),
    Experiment(
        "stochastic_depth",
        "a residual net deep enough for dropped blocks to matter, trained long "
        "enough for the regularizer to pay",
        {},
        [],
        "ResNet-110, 500 epochs (the paper's protocol)",
        paper="Huang et al. 2016 (ResNet-110, CIFAR-10, 500 epochs): 6.41 -> "
        "5.25% error (+1.16 points)",
        expect=+1,
        unmeasurable="not measurable on 2 CPU cores: ResNet-20 takes 122-177 s "
        "per epoch on the full data here (RESULTS.md), so one ResNet-110 run "
        "of 500 epochs would take about 100 hours; shorter or shallower runs "
        "underfit, where stochastic depth only costs accuracy. It is left to "
        "the GPU stage (`--scale paper`; `gpu_fast_cifar.py paper` runs it "
        "across device calls)",
    ),
    Experiment(
        "regularizers",
        "a plain CNN on 45,000 images without augmentation for "
        f"{SMALL_EPOCHS} epochs overfits (training accuracy far above test): "
        "its dense layer and its pooling have something to regularize",
        {
            "none": small("--epochs", SMALL_EPOCHS),
            "dropout": small("--epochs", SMALL_EPOCHS, "--head", "dropout"),
            "dropconnect": small("--epochs", SMALL_EPOCHS, "--head", "dropconnect"),
            "fmp": small("--epochs", SMALL_EPOCHS, "--pool", "fractional"),
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
        f"plain CNN, {SMALL_EPOCHS} epochs, SGD momentum 0.01, 45,000 images, "
        "no augmentation",
        paper="Wan et al. 2013 (CIFAR-10, with augmentation, models voting): "
        "DropConnect 9.32% vs Dropout 9.83% error; Graham 2014: fractional "
        "max-pooling 3.47% error with heavy augmentation and dropout",
        expect=+1,
    ),
    Experiment(
        "optimizers",
        "one plain CNN and budget for all six, each at its best rate from a "
        "5-point sweep on a validation split (seed 0), never on the test set",
        {name: small("--optimizer", name, "--epochs", "10") for name in RATES},
        [(name, name, ["test_accuracy"]) for name in RATES],
        "plain CNN, 10 epochs, 45,000 images, no augmentation",
        paper="Wilson et al. 2017 (CIFAR-10, VGG): tuned SGD/momentum "
        "generalize as well as or better than Adam, AdaGrad and RMSProp",
        expect=0,
        sweep={name: ("--lr", rates) for name, rates in RATES.items()},
        select=["val_accuracy"],
    ),
    Experiment(
        "transfer_50",
        "50 labelled images per class on CIFAR-10 classes 5-9, from a ResNet-20 "
        "pretrained on the 25,000 images of classes 0-4 (ImageNet weights "
        "cannot be fetched here)",
        {"transfer": TRANSFER},
        transfer_arms(50),
        "ResNet-20 backbone (8 source epochs, shared by all seeds), 250 target "
        "images; scratch: 120 epochs",
        paper="Kornblith et al. 2019: fine-tuning beats training from scratch "
        "most where labels are few",
        expect=+1,
    ),
    Experiment(
        "transfer_500",
        "500 labelled images per class: where scratch training catches up",
        {"transfer": TRANSFER},
        transfer_arms(500),
        "the same runs, 2,500 target images; scratch: 15 epochs",
        paper="Kornblith et al. 2019: the gap to scratch narrows as labels grow",
        expect=+1,
    ),
]

# The published protocols, for the GPU stage (`gpu_fast_cifar.py paper` runs
# them in this order): (name, protocol and paper figure, recipe and flags).
PAPER = [
    ("resnet20", "ResNet-20, 182 epochs (He et al. 2016: 91.25%)",
     ["cifar10_resnet"]),
    ("stochastic_depth",
     "Stochastic-depth ResNet-110, 500 epochs (Huang et al. 2016: 5.25% error)",
     ["cifar_stochastic_depth"]),
    ("snapshot", "Snapshot ensembles of ResNet-110, M=5 in 200 epochs (Huang et "
     "al. 2017: 5.32% error)", ["cifar_snapshot_ensemble", "--depth", "110"]),
    ("resnet56", "ResNet-56, 182 epochs (He et al. 2016: 93.03%)",
     ["cifar10_resnet", "--depth", "56"]),
]  # fmt: skip


def dig(metrics, path):
    for key in path:
        metrics = metrics[key]
    return float(metrics)


def t_quantile(n):
    """The two-sided 95% Student t quantile for `n` paired differences."""
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


def paired(base, arm):
    """Mean paired difference and its 95% half-width (t over the seeds)."""
    diffs = [a - b for a, b in zip(arm, base, strict=True)]
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, float("nan")
    return mean, t_quantile(len(diffs)) * statistics.stdev(diffs) / len(diffs) ** 0.5


def seeds_needed(base, arm, target, limit=1000):
    """The fewest seeds whose 95% half-width would be <= `target` points at the
    observed spread of the paired differences (None beyond `limit`)."""
    diffs = [a - b for a, b in zip(arm, base, strict=True)]
    sd = statistics.stdev(diffs)
    for n in range(2, limit + 1):
        if t_quantile(n) * sd / n**0.5 <= target:
            return n
    return None


def folder(experiment, run, argv):
    """Where a run writes: the first experiment's with the same command, so that
    experiments reading one run (EMA and TTA) share it."""
    for other in CPU:
        for name, other_argv in other.runs.items():
            if other_argv == argv:
                return os.path.join(other.name, name)
    return os.path.join(experiment.name, run.replace(" ", ""))


class NotRun(Exception):
    """A run that has not finished, under `--no-run`."""


def numbers(metrics):
    """The numbers (and names) of a `metrics.json`, without its lists."""
    if isinstance(metrics, dict):
        kept = {k: numbers(v) for k, v in metrics.items() if not isinstance(v, list)}
        return {k: v for k, v in kept.items() if v is not None}
    return metrics if isinstance(metrics, int | float | str) else None


def kept_run(ledger, run, command):
    """The ledger's last entry for this run and command, or None. The commands
    are compared without their `--out` (the last flag): the same run found
    under another OUT (`--out runs/evidence` here, `/work/runs/evidence` on
    the machine that ran it) is the same run."""
    found, command = None, command.rsplit(" --out ", 1)[0]
    if os.path.exists(ledger):
        with open(ledger) as f:
            for line in f:
                entry = json.loads(line)
                kept = entry["run_command"].rsplit(" --out ", 1)[0]
                if entry["run"] == run and kept == command:
                    found = entry
    return found


def run_one(args, experiment, run, seed, argv=None):
    """One run (reused if finished here or in the ledger); its metrics, command
    and wall time."""
    argv = argv or experiment.runs[run]
    recipe, *rest = argv
    out = os.path.join(args.out, folder(experiment, run, argv), f"seed{seed}")
    where = [recipe] if recipe.endswith(".py") else ["recipes", f"{recipe}.py"]
    script = os.path.join(ROOT, *where)
    rest = [a.replace("{out}", args.out) for a in rest]
    rest = [*rest, "--data", args.data]
    command = [sys.executable, script, *rest, *args.shrink, "--seed", str(seed),
               "--out", out]  # fmt: skip
    # Paths as a reader at the repository's root would type them.
    shown = [os.path.relpath(a, ROOT) if os.path.isabs(a) else a for a in command[2:]]
    shown = " ".join(["python", os.path.relpath(command[1], ROOT), *shown])
    shown = shown.replace(f"--seed {seed}", "--seed S").replace(f"seed{seed}", "seedS")
    run_id = os.path.relpath(out, args.out)
    kept = kept_run(args.ledger, run_id, shown)
    path = os.path.join(out, "metrics.json")
    timing = os.path.join(out, "harness_wall_s.json")  # kept for reused runs
    finished = os.path.exists(path) and json.load(open(path)).get("status") != "stopped"
    if kept and not finished:
        args.machines.setdefault(experiment.name, set()).add(kept["machine"])
        return kept["metrics"], shown, kept["wall_s"]
    if not finished:
        if args.no_run:
            raise NotRun(out)
        print(f"[{time.strftime('%H:%M:%S')}] {experiment.name}: {run}, seed {seed}",
              flush=True)  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        with open(timing, "w") as f:
            json.dump(time.perf_counter() - started, f)
    with open(path) as f:
        metrics = json.load(f)
    seconds = json.load(open(timing)) if os.path.exists(timing) else 0.0
    if not kept:
        kept = machine.record(
            "evidence_run",
            {"run": run_id, "run_command": shown, "metrics": numbers(metrics),
             "wall_s": round(seconds, 1)},
            path=args.ledger, echo=False,
        )  # fmt: skip
    args.machines.setdefault(experiment.name, set()).add(kept["machine"])
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


def one_seed(args, experiment, runs, chosen, seed):
    """Every run of one seed: {run: metrics}, {run: command}, wall seconds."""
    results, commands, wall = {}, {}, 0.0
    for run, argv in runs.items():
        tag = (
            f"{run} {chosen[run]['flag']}{chosen[run]['best']}"
            if run in chosen
            else run
        )
        metrics, command, seconds = run_one(args, experiment, tag, seed, argv)
        results[run], commands[run] = metrics, command
        if not (run in chosen and seed == args.seed):  # the sweep counted it
            wall += seconds
    return results, commands, wall


def rows_of(experiment, values, target):
    base_name = experiment.arms[0][0]
    rows = []
    for arm, _, _ in experiment.arms:
        v = values[arm]
        std = statistics.stdev(v) if len(v) > 1 else 0.0
        row = {"arm": arm, "mean": statistics.fmean(v), "std": std, "values": v}
        if arm != base_name:
            diff, half = paired(values[base_name], v)
            row.update(diff=diff, half=half, significant=abs(diff) > half)
            if len(v) > 1 and not half <= target:
                row["seeds_needed"] = seeds_needed(values[base_name], v, target)
        rows.append(row)
    return rows


def measure(args, experiment):
    """The experiment's rows by the seed rule (see the module docstring).

    Under `--no-run` it stops at the first seed with an unfinished run and
    reports the seeds before it (`complete` False)."""
    result = {"experiment": experiment.name, "rows": [], "commands": {},
              "wall_s": 0.0, "seeds": [], "sweep": {}, "complete": False}  # fmt: skip
    if not experiment.arms:
        return result
    values = {arm: [] for arm, _, _ in experiment.arms}
    try:
        runs, chosen, wall = sweep(args, experiment)
        result.update(sweep=chosen, wall_s=wall)
        seed = args.seed
        while True:
            results, commands, wall = one_seed(args, experiment, runs, chosen, seed)
            for arm, run, path in experiment.arms:
                value = 100 * dig(results[run], path)
                values[arm].append(100 - value if experiment.error else value)
            result["commands"].update(commands)
            result["wall_s"] += wall
            result["seeds"].append(seed)
            seed += 1
            n = len(result["seeds"])
            rows = rows_of(experiment, values, args.target)
            wide = any(not r.get("half", 0.0) <= args.target for r in rows)
            if n >= args.seeds and (not wide or n >= args.max_seeds):
                result["complete"] = True
                break
    except NotRun:
        pass
    if result["seeds"]:
        result["rows"] = rows_of(experiment, values, args.target)
    return result


def verdict(row, target):
    if row["half"] != row["half"]:  # NaN: one seed
        return "one seed: no interval"
    if row["significant"]:
        return "helps" if row["diff"] > 0 else "hurts"
    if row["half"] <= target:
        return "no effect larger than the interval"
    need = row.get("seeds_needed")
    return f"unresolved (needs ~{need} seeds)" if need else "unresolved"


def agreement(row, experiment):
    """Whether our direction agrees with the paper's (`expect`)."""
    expect = experiment.expect
    if isinstance(expect, dict):
        expect = expect.get(row["arm"], 0)
    if not expect or not row.get("significant"):
        return "n/a" if not expect else "not resolved"
    return "agrees" if (row["diff"] > 0) == (expect > 0) else "differs"


def earlier(text, name):
    """An experiment's summary rows and section in an earlier report `text`,
    where they hold measured arms (else None)."""
    rows = [
        line
        for line in text.splitlines()
        if line.startswith(f"| {name} | ") and not line.startswith(f"| {name} | |")
    ]
    start = text.find(f"\n## {name}\n")
    if not rows or start < 0:
        return None
    end = text.find("\n## ", start + 1)
    section = text[start + 1 : end if end > 0 else len(text)].rstrip("\n")
    section = section.split("\n")
    made = re.search(r"` on ([^;\n]+); report of ([0-9-]+)", text)
    if made and not section[2].startswith("As published"):
        where, when = made.groups()
        section[2:2] = [f"As published on {when} from runs on {where}. Those runs "
                        "were lost with that machine, before the ledger kept runs: "
                        "this section is carried over as published, and is replaced "
                        "when the experiment runs again.", ""]  # fmt: skip
    return rows, section


def seeds_of(rows):
    """The most seeds in an earlier report's summary rows ("5", "1 (runs go on)")."""
    return max(int(row.split("|")[4].split()[0]) for row in rows)


def markdown(results, experiments, args):
    lines = [
        "# Evidence: what each technique buys, measured on the full data",
        "",
        f"Runs by `python benchmarks/evidence.py {' '.join(args.argv)}`; report "
        f"of {datetime.date.today().isoformat()}; each section names the "
        "processors its runs ran on. Every CIFAR-10 row uses all 50,000 "
        "training and 10,000 test images of the shared JPEG copy (about 3 "
        "points below the clean data). Arms are "
        "paired by seed on the same test set; the interval is the 95% Student t "
        "interval of the per-seed differences to the baseline (the first arm).",
        "",
        f"Seed rule, fixed before the runs: {args.seeds} seeds per experiment; "
        f"while an arm's half-width exceeds {args.target} points and fewer than "
        f"{args.max_seeds} seeds have run, one more seed. Regimes, their reasons "
        "and the paper figures below were written before any run; no row was "
        "tuned after its result was seen.",
        "",
        "## Summary",
        "",
        "| experiment | arm vs baseline | effect (points, 95% CI) | seeds | verdict "
        "| paper | ours vs paper |",
        "|---|---|---|---|---|---|---|",
    ]
    kept = {}  # experiments shown from the earlier report, their runs lost
    for result in results:
        experiment = experiments[result["experiment"]]
        old = earlier(args.before, experiment.name)
        if old and result["rows"] and seeds_of(old[0]) <= len(result["seeds"]):
            old = None  # the runs here have caught up with the published ones
        if old:
            kept[experiment.name] = old
            lines += old[0]
            continue
        if not result["rows"]:
            state = experiment.unmeasurable.split(":")[0] if (
                experiment.unmeasurable) else "runs pending"  # fmt: skip
            lines.append(f"| {experiment.name} | | | 0 | {state} | "
                         f"{experiment.paper} | |")  # fmt: skip
            continue
        base = result["rows"][0]["arm"]
        for row in result["rows"][1:]:
            effect = f"{row['diff']:+.2f} +- {row['half']:.2f}"
            arm = f"{row['arm']} vs {base}"
            seeds = (
                f"{len(row['values'])}{'' if result['complete'] else ' (runs go on)'}"
            )
            lines.append(
                f"| {experiment.name} | {arm} | {effect} | {seeds} | "
                f"{verdict(row, args.target)} | {experiment.paper} | "
                f"{agreement(row, experiment)} |"
            )
    lines.append("")
    for result in results:
        experiment = experiments[result["experiment"]]
        if experiment.name in kept:
            lines += [*kept[experiment.name][1], ""]
            continue
        lines += [f"## {experiment.name}", ""]
        lines += [f"Regime: {experiment.budget}. Why: {experiment.why}.", ""]
        if experiment.paper:
            lines += [f"Paper: {experiment.paper}.", ""]
        if experiment.unmeasurable:
            lines += [f"Verdict: {experiment.unmeasurable}.", ""]
            continue
        if experiment.missing:
            lines += [f"Not measured yet: {experiment.missing}.", ""]
        if not result["rows"]:
            lines += ["No seed finished yet.", ""]
            continue
        if experiment.reason:
            lines += [f"Where ours differs from the paper: {experiment.reason}", ""]
        lines += ["| arm | mean +- std (%) | vs baseline (95% CI) | verdict | seeds |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for row in result["rows"]:
            diff = (f"{row['diff']:+.2f} +- {row['half']:.2f}" if "diff" in row
                    else "baseline")  # fmt: skip
            said = verdict(row, args.target) if "diff" in row else ""
            lines.append(f"| {row['arm']} | {row['mean']:.2f} +- {row['std']:.2f} | "
                         f"{diff} | {said} | {len(row['values'])} |")  # fmt: skip
        for run, pick in result.get("sweep", {}).items():
            tried = ", ".join(
                f"{v:g}: {100 * a:.1f}" for v, a in pick["scores"].items()
            )
            lines += ["", f"{run}: {pick['flag']} {pick['best']:g} chosen on "
                      f"validation accuracy (seed {args.seed}; {tried})."]  # fmt: skip
        per_seed = ", ".join(str(s) for s in result["seeds"])
        where = "; ".join(sorted(args.machines.get(experiment.name, ()))) or "?"
        lines += ["", f"Seeds {per_seed}; wall time {result['wall_s'] / 60:.1f} min "
                  f"on {where}. Commands:", ""]  # fmt: skip
        lines += [f"    {c}" for c in result["commands"].values()]
        lines.append("")
    return "\n".join(lines)


def tiny_data(out):
    """The dry run's data: 160 random 32x32 images of 2 classes."""
    import numpy as np

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "tiny.npz")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (160, 32, 32, 3), dtype=np.uint8)
    np.savez(path, x_train=x[:128], y_train=np.arange(128) % 2,
             x_test=x[128:], y_test=np.arange(32) % 2)  # fmt: skip
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=("cpu", "paper"), default="cpu")
    p.add_argument("--seeds", type=int, default=5, help="seeds at least (5)")
    p.add_argument("--max-seeds", type=int, default=10, help="seeds at most (10)")
    p.add_argument("--target", type=float, default=0.5,
                   help="95%% half-width in points that ends the seeds")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--only", nargs="+", help="experiments to run (default all)")
    p.add_argument("--data", help="the CIFAR-10 copy (default: the shared one)")
    p.add_argument("--out", default="runs/evidence", help="runs and OUT/EVIDENCE.md")
    p.add_argument("--publish", action="store_true",
                   help=f"also write {os.path.relpath(PUBLISHED, ROOT)}")  # fmt: skip
    p.add_argument("--no-run", action="store_true",
                   help="report the finished runs only; start none")  # fmt: skip
    p.add_argument("--ledger", default=LEDGER,
                   help="the record of finished runs (dry run: OUT's)")  # fmt: skip
    p.add_argument("--list", action="store_true", help="list the experiments")
    p.add_argument("--dry-run", action="store_true",
                   help="2 seeds, 1 epoch of ResNet-8, tiny data")  # fmt: skip
    args = p.parse_args(argv)
    args.argv, args.machines, args.before = argv, {}, ""
    if args.scale == "paper":
        for i, (_, what, (recipe, *flags)) in enumerate(PAPER, 1):
            command = " ".join(["python", f"recipes/{recipe}.py", *flags])
            print(f"{i}. {what}\n   {command} --data cifar10")
        print(
            "These need a GPU (hours each): `benchmarks/gpu_fast_cifar.py "
            "paper` runs them in turn, resuming across device calls."
        )
        return 0
    experiments = {e.name: e for e in CPU}
    if args.list:
        for e in CPU:
            print(f"{e.name}: {e.budget}; arms: {[a for a, _, _ in e.arms]}")
        return 0
    if args.dry_run and args.publish:
        p.error("--publish writes the committed EVIDENCE.md: not from a dry run")
    if not 2 <= args.seeds <= args.max_seeds:
        p.error(f"need 2 <= --seeds <= --max-seeds, got {args.seeds}, {args.max_seeds}")
    chosen = args.only or list(experiments)
    unknown = sorted(set(chosen) - set(experiments))
    if unknown:
        p.error(f"unknown experiments {unknown}; see --list")
    args.shrink = []
    if args.dry_run:  # tiny data, 1 epoch, 2 seeds, 2 experiments
        args.seeds, args.max_seeds = 2, 2
        args.shrink = ["--epochs", "1", "--batch-size", "64"]
        chosen = args.only or ["ema", "label_smoothing"]
        args.data = tiny_data(args.out)
        args.ledger = os.path.join(args.out, "evidence_runs.jsonl")
    elif os.path.exists(PUBLISHED):
        args.before = open(PUBLISHED).read()
    if not args.dry_run and args.data is None:
        if not os.path.exists(SHARED):
            p.error("pass --data path/to/cifar10 (a folder, archive or .npz "
                    "with train/test splits)")  # fmt: skip
        args.data = os.path.normpath(SHARED)
    reports = [os.path.join(args.out, "EVIDENCE.md")]
    reports += [PUBLISHED] if args.publish else []
    # The report holds every experiment: those not yet measured here from
    # their finished runs (none started), so `--only X --publish` keeps the
    # other rows, and a row sharing X's runs (TTA reads EMA's) shows them.
    finished = argparse.Namespace(**{**vars(args), "no_run": True})
    done = {}
    for name in chosen:
        done[name] = measure(args, experiments[name])
        shown = [done.get(n) or measure(finished, e) for n, e in experiments.items()]
        text = markdown(shown, experiments, args)
        os.makedirs(args.out, exist_ok=True)
        for report in reports:
            with open(report, "w") as f:
                f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
