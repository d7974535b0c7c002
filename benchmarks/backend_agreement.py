"""Does a recipe land at the same accuracy on every backend? Seeds x backends x
code trees, one table.

Runs `recipes/<recipe>.py --quick --seed s` (ResNet-20, 10 epochs on the
bundled 5,000-image sample by default) on each backend and seed, for each code
tree given (a worktree of an older commit beside the current one gives a
before/after in one sitting), alternating so that machine load falls on every
arm alike. Each run's metrics are kept under OUT, so a killed benchmark
resumes; the table (mean +- std of the test accuracy per tree and backend, and
the TF - JAX difference with a 95% interval over the seeds, Welch) is printed
and written to OUT/agreement.json.

    git worktree add /tmp/before <commit>
    python benchmarks/backend_agreement.py --trees /tmp/before . --seeds 3 \\
        --out runs/agreement
    python benchmarks/backend_agreement.py --dry-run --out /tmp/agree  # seconds
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def t_quantile(df):
    """The two-sided 95% Student t quantile (scipy, a core dependency)."""
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def welch_interval(a, b):
    """Mean of a - b and its 95% half-width (Welch), for independent samples."""
    if len(a) < 2 or len(b) < 2:
        return statistics.fmean(a) - statistics.fmean(b), float("nan")
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = (va + vb) ** 0.5
    if se == 0:
        return statistics.fmean(a) - statistics.fmean(b), 0.0
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return statistics.fmean(a) - statistics.fmean(b), t_quantile(df) * se


def one_run(args, tree, backend, seed):
    name = os.path.basename(os.path.abspath(tree)) or "tree"
    out = os.path.join(args.out, name, backend, f"seed{seed}")
    metrics = os.path.join(out, "metrics.json")
    if not os.path.exists(metrics):
        command = [sys.executable, os.path.join(tree, "recipes", f"{args.recipe}.py"),
                   "--quick", "--seed", str(seed), "--out", out]  # fmt: skip
        if args.dry_run:
            command += ["--epochs", "1", "--depth", "8"]
        env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=os.path.abspath(tree))
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{command} failed:\n{done.stderr[-3000:]}")
    with open(metrics) as f:
        result = json.load(f)
    return {"tree": tree, "backend": backend, "seed": seed,
            "test_accuracy": result["test_accuracy"],
            "wall_time_s": result["wall_time_s"]}  # fmt: skip


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="cifar10_resnet")
    p.add_argument("--trees", nargs="+", default=[ROOT],
                   help="code trees (PATH or PATH:SEEDS), e.g. a worktree of "
                   "an older commit and this one")  # fmt: skip
    p.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--out", default="runs/backend_agreement")
    p.add_argument("--dry-run", action="store_true", help="1 epoch of ResNet-8, 1 seed")
    args = p.parse_args(argv)
    if args.dry_run:
        args.seeds = 1
    seeds = {}  # "PATH:N" runs N seeds of that tree (default --seeds)
    for entry in args.trees:
        path, _, count = entry.partition(":")
        seeds[path] = 1 if args.dry_run else int(count or args.seeds)
    args.trees = list(seeds)
    runs = []
    for seed in range(max(seeds.values())):
        for tree in args.trees:
            for backend in args.backends:
                if seed < seeds[tree]:
                    runs.append(one_run(args, tree, backend, seed))
                    print(json.dumps(runs[-1]), flush=True)
    table = {}
    lines = ["| tree | " + " | ".join(args.backends) + " | difference (95% CI) |",
             "|---|" + "---|" * (len(args.backends) + 1)]  # fmt: skip
    for tree in args.trees:
        accuracies = {
            b: [100 * r["test_accuracy"] for r in runs
                if r["tree"] == tree and r["backend"] == b]
            for b in args.backends
        }  # fmt: skip
        row = {b: (round(statistics.fmean(v), 2),
                   round(statistics.stdev(v), 2) if len(v) > 1 else 0.0)
               for b, v in accuracies.items()}  # fmt: skip
        cells = [f"{m:.2f} +- {s:.2f}" for m, s in row.values()]
        if len(args.backends) == 2:
            diff, half = welch_interval(*accuracies.values())
            row["difference"] = (round(diff, 2), round(half, 2))
            cells.append(f"{diff:+.2f} +- {half:.2f}")
        table[tree] = row
        lines.append(f"| {tree} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "agreement.json"), "w") as f:
        json.dump({"runs": runs, "table": table, "text": text}, f, indent=2)
    print(f"{args.recipe} --quick test accuracy %, seeds {seeds}\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
