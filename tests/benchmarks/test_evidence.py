"""The evidence harness: its statistics, and a dry run of real recipe runs."""

import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import evidence  # noqa: E402


def test_paired_interval_is_the_t_interval_of_the_differences():
    mean, half = evidence.paired([90.0, 91.0, 92.0], [91.0, 91.5, 93.5])
    assert mean == pytest.approx(1.0)
    # differences 1.0, 0.5, 1.5: sd 0.5, t(0.975, 2) = 4.3027, half = t * 0.5 / sqrt(3)
    assert half == pytest.approx(4.302653 * 0.5 / 3**0.5, rel=1e-6)


def test_every_cpu_experiment_names_its_regime_baseline_and_paper():
    for experiment in evidence.CPU:
        assert experiment.why and experiment.budget and experiment.paper
        if experiment.unmeasurable or experiment.missing:
            assert not experiment.arms  # no number from a regime that cannot show it
            continue
        assert len(experiment.arms) >= 2
        for _, run, path in experiment.arms:
            assert run in experiment.runs and path
        if isinstance(experiment.expect, dict):  # directions name measured arms
            assert set(experiment.expect) <= {arm for arm, _, _ in experiment.arms[1:]}


def test_agreement_reads_each_arms_own_paper_direction():
    snapshot = next(e for e in evidence.CPU if e.name == "snapshot")
    ensemble, last, independent = (arm for arm, _, _ in snapshot.arms[1:])
    lower = {"diff": -1.6, "half": 1.2, "significant": True}
    assert evidence.agreement({**lower, "arm": independent}, snapshot) == "agrees"
    assert evidence.agreement({**lower, "arm": ensemble}, snapshot) == "differs"
    assert evidence.agreement({**lower, "arm": last}, snapshot) == "n/a"
    unresolved = {"arm": ensemble, "diff": -0.5, "half": 1.6, "significant": False}
    assert evidence.agreement(unresolved, snapshot) == "not resolved"


def test_no_experiment_runs_on_the_5000_image_sample():
    for experiment in evidence.CPU:
        for argv in experiment.runs.values():
            assert "--quick" not in argv and "cifar10_sample" not in argv


def dry_run(tmp_path, *extra, timeout=600):
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "evidence.py"),
               "--dry-run", "--only", "ema", "--out", str(tmp_path / "out"),
               *extra]  # fmt: skip
    env = {**os.environ, "RECIPEKIT_CACHE": str(tmp_path / "cache")}
    return subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=timeout)  # fmt: skip


def committed():
    return [open(path, "rb").read() if os.path.exists(path) else None
            for path in (evidence.PUBLISHED, evidence.LEDGER)]  # fmt: skip


@pytest.mark.slow  # CI runs it in its own step (`-m slow`)
def test_dry_run_writes_its_own_report_reuses_runs_and_never_the_published(tmp_path):
    before = committed()
    done = dry_run(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert committed() == before  # byte for byte: the report and the ledger
    report = tmp_path / "out" / "EVIDENCE.md"
    text = report.read_text()
    assert "| raw weights |" in text and "| EMA 0.98 from epoch 2 |" in text
    assert "--seed S --out" in text and "| 2 |" in text
    assert f"min on {evidence.machine.describe()}. Commands:" in text
    # Each finished run is one line of the dry run's own ledger.
    ledger = [
        json.loads(line) for line in open(tmp_path / "out" / "evidence_runs.jsonl")
    ]
    assert [(e["run"], e["benchmark"]) for e in ledger] == [
        ("ema/sgd/seed0", "evidence_run"), ("ema/sgd/seed1", "evidence_run")
    ]  # fmt: skip
    assert ledger[0]["run_command"].endswith("--seed S --out " + str(
        os.path.relpath(tmp_path / "out" / "ema" / "sgd" / "seedS", ROOT)))  # fmt: skip
    assert 0 <= ledger[0]["metrics"]["accuracy"]["ema"]["none"] <= 1
    # Experiments left out by --only stay in the report, from their finished runs.
    assert "| augmentations | | | 0 | runs pending |" in text
    again = dry_run(tmp_path, "--no-run", timeout=120)  # reads the finished runs
    assert again.returncode == 0, again.stderr[-3000:]
    assert report.read_text().split("\n", 3)[3] == text.split("\n", 3)[3]
    # The runs' folders gone (a new machine): the ledger still holds them.
    shutil.rmtree(tmp_path / "out" / "ema")
    again = dry_run(tmp_path, "--no-run", timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert report.read_text().split("\n", 3)[3] == text.split("\n", 3)[3]
    assert not (tmp_path / "out" / "ema").exists()
    refused = dry_run(tmp_path, "--publish", timeout=120)
    assert refused.returncode == 2 and "not from a dry run" in refused.stderr
    assert committed() == before


def test_the_ledger_finds_a_run_under_another_out_folder(tmp_path):
    ledger = tmp_path / "ledger.jsonl"
    ran = "python recipes/cifar10_fast.py --tta-modes none --seed S --out "
    entries = [{"run": "snapshot/one/seed0", "run_command": ran + out, "n": n}
               for n, out in enumerate(["../runs/e/snapshot/one/seedS",
                                        "/work/x/snapshot/one/seedS"])]  # fmt: skip
    ledger.write_text("".join(json.dumps(e) + "\n" for e in entries))
    found = evidence.kept_run(
        str(ledger), "snapshot/one/seed0", ran + "runs/e/snapshot/one/seedS"
    )
    assert found["n"] == 1  # the last entry of the run, whatever its OUT
    other = "python recipes/cifar10_fast.py --tta-modes flip --seed S --out x"
    assert evidence.kept_run(str(ledger), "snapshot/one/seed0", other) is None
    assert evidence.kept_run(str(ledger), "snapshot/one/seed1", ran + "x") is None


def test_an_earlier_reports_measured_section_is_carried_over_once():
    old = "\n".join([
        "# Evidence", "", "Runs by `python benchmarks/evidence.py` on Chip X, 2 "
        "cores; report of 2026-01-02. Every ...", "", "## Summary", "",
        "| ema | EMA vs raw | -0.56 +- 0.38 | 5 | hurts | p | differs |",
        "| muon | | | 0 | runs pending | p | |", "",
        "## ema", "", "Regime: r.", "", "| arm | mean |", "| raw | 89.40 |", "",
        "## muon", "", "Regime: m.", "", "No seed finished yet.", "",
    ])  # fmt: skip
    assert evidence.earlier(old, "muon") is None  # nothing measured to carry
    rows, section = evidence.earlier(old, "ema")
    assert rows == ["| ema | EMA vs raw | -0.56 +- 0.38 | 5 | hurts | p | differs |"]
    assert section[:2] == ["## ema", ""] and section[-1] == "| raw | 89.40 |"
    assert section[2].startswith("As published on 2026-01-02 from runs on Chip X, 2 "
                                 "cores. Those runs were lost")  # fmt: skip
    # A report that carried it already (no machine in its header) adds no note.
    new = old.replace("\n".join(["## ema", ""]), "\n".join(section[:4]))
    new = new.replace("` on Chip X, 2 cores; report", "`; report")
    assert evidence.earlier(new, "ema")[1] == section


def test_a_published_row_stays_until_the_runs_here_have_as_many_seeds():
    old = "\n".join([
        "# Evidence", "", "Runs by `python benchmarks/evidence.py` on Chip X; "
        "report of 2026-01-02.", "", "## Summary", "",
        "| ema | EMA vs raw | -0.56 +- 0.38 | 5 | hurts | p | differs |", "",
        "## ema", "", "Regime: r.", "", "| arm | mean |", "| raw | 89.40 |", "",
    ])  # fmt: skip
    assert evidence.seeds_of(evidence.earlier(old, "ema")[0]) == 5
    experiment = next(e for e in evidence.CPU if e.name == "ema")
    args = type("Args", (), dict(before=old, argv=[], seeds=5, max_seeds=10,
                                 target=0.5, seed=0, machines={}))()  # fmt: skip

    def result(seeds):
        base = {"arm": "raw weights", "mean": 89.0, "std": 0.1, "values": [89.0]}
        arm = dict(base, arm="EMA 0.98 from epoch 2", diff=0.1, half=0.2,
                   significant=False)  # fmt: skip
        rows = [dict(r, values=r["values"] * seeds) for r in (base, arm)]
        return {"experiment": "ema", "rows": rows, "seeds": list(range(seeds)),
                "complete": False, "commands": {}, "wall_s": 1.0}  # fmt: skip

    text = evidence.markdown([result(1)], {"ema": experiment}, args)
    assert "| -0.56 +- 0.38 | 5 |" in text and "As published on" in text
    text = evidence.markdown([result(5)], {"ema": experiment}, args)
    assert "-0.56" not in text and "| +0.10 +- 0.20 | 5 (runs go on) |" in text


def test_no_run_reports_pending_experiments_without_starting_any(tmp_path):
    done = dry_run(tmp_path, "--no-run", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    text = (tmp_path / "out" / "EVIDENCE.md").read_text()
    assert "| ema | | | 0 | runs pending |" in text
    assert not (tmp_path / "out" / "ema").exists()


def test_seed_rule_adds_seeds_until_the_interval_decides(monkeypatch):
    # Differences alternate 1.0 / 0.0: the half-width shrinks as seeds come.
    monkeypatch.setattr(
        evidence, "run_one",
        lambda args, experiment, run, seed, argv=None: (
            {"a": 0.5, "b": 0.5 + 0.01 * (seed % 2)}, "cmd", 1.0),
    )  # fmt: skip
    experiment = evidence.Experiment(
        "x", "why", {"r": ["recipe"]}, [("a", "r", ["a"]), ("b", "r", ["b"])],
        "budget", paper="p",
    )  # fmt: skip
    args = type("Args", (), dict(seed=0, seeds=5, max_seeds=40, target=0.5,
                                 no_run=False))()  # fmt: skip
    result = evidence.measure(args, experiment)
    n = len(result["seeds"])
    half = result["rows"][1]["half"]
    assert result["complete"] and half <= 0.5
    # one seed fewer would not have decided it
    diffs = [100 * 0.01 * (s % 2) for s in range(n - 1)]
    _, before = evidence.paired([0.0] * (n - 1), diffs)
    assert before > 0.5 and n > 5
    # a cap stops it, and the row says how many seeds it would need
    args.max_seeds = 6
    row = evidence.measure(args, experiment)["rows"][1]
    # six differences 0, 1, 0, 1, 0, 1: sd 0.5477; t(6) 2.447 * 0.5477 / sqrt(7)
    # = 0.507 > 0.5, t(7) 2.365 * 0.5477 / sqrt(8) = 0.458: 8 seeds
    assert len(row["values"]) == 6 and row["seeds_needed"] == 8
    assert evidence.verdict(row, 0.5) == "unresolved (needs ~8 seeds)"


def test_sweep_picks_the_best_validation_rate_on_the_first_seed(monkeypatch):
    calls = []

    def fake_run(args, experiment, run, seed, argv=None):
        calls.append((run, seed, argv))
        lr = float(argv[argv.index("--lr") + 1])
        return {"val_accuracy": {0.1: 0.5, 0.3: 0.7, 1.0: 0.7}[lr]}, "cmd", 2.0

    monkeypatch.setattr(evidence, "run_one", fake_run)
    experiment = evidence.Experiment(
        "x", "why", {"adam": ["benchmarks/small_net.py"]}, [("adam", "adam", ["a"])],
        "budget", sweep={"adam": ("--lr", (0.1, 0.3, 1.0))}, select=["val_accuracy"],
    )  # fmt: skip
    args = type("Args", (), {"seed": 4})()
    runs, chosen, wall = evidence.sweep(args, experiment)
    # 0.3 and 1.0 tie: the first of them (the smaller rate) wins.
    assert runs == {"adam": ["benchmarks/small_net.py", "--lr", "0.3"]}
    assert chosen["adam"]["best"] == 0.3 and wall == 6.0
    assert [(run, seed) for run, seed, _ in calls] == [
        ("adam --lr0.1", 4), ("adam --lr0.3", 4), ("adam --lr1.0", 4)
    ]  # fmt: skip


def test_every_row_of_the_issue_is_there():
    names = {e.name for e in evidence.CPU}
    assert names == {"ema", "tta", "label_smoothing", "color", "lookahead", "muon",
                     "snapshot", "stochastic_depth", "regularizers", "optimizers",
                     "transfer_50", "transfer_500", "augmentations"}  # fmt: skip
    by_name = {e.name: e for e in evidence.CPU}
    optimizers = by_name["optimizers"]
    assert set(optimizers.sweep) == set(optimizers.runs) and optimizers.select
    assert all(len(rates) == 5 for _, rates in optimizers.sweep.values())
    assert [arm for arm, _, _ in by_name["color"].arms][1:] == [
        "+ color jitter 0.4",
        "+ PCA lighting 0.1",
    ]  # each on its own
    # Issue 36: each new augmentation on its own against the same baseline.
    augmentations = by_name["augmentations"]
    assert augmentations.arms[0][1] == "sgd" and len(augmentations.arms) == 8
    flags = {augmentations.runs[run][-2] for _, run, _ in augmentations.arms[1:]}
    assert flags == {"--mixup", "--cutmix", "--auto-augment", "--erasing", "--cutout"}


def test_experiments_reading_the_same_command_share_its_runs():
    by_name = {e.name: e for e in evidence.CPU}
    tta = by_name["tta"]
    assert evidence.folder(tta, "sgd", tta.runs["sgd"]) == os.path.join("ema", "sgd")
    assert evidence.folder(tta, "x", ["other"]) == os.path.join("tta", "x")


def test_small_net_writes_its_metrics(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (100, 32, 32, 3), dtype=np.uint8)
    data = tmp_path / "tiny.npz"
    np.savez(data, x_train=x[:80], y_train=np.arange(80) % 2, x_test=x[80:],
             y_test=np.arange(20) % 2)  # fmt: skip
    out = tmp_path / "run"
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "small_net.py"),
               "--data", str(data), "--epochs", "1", "--pool", "fractional",
               "--head", "dropconnect", "--optimizer", "adam", "--lr", "1e-3",
               "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"val_accuracy", "test_accuracy", "train_accuracy"}
    assert metrics["args"]["pool"] == "fractional" and metrics["args"]["lr"] == 1e-3
    bad = subprocess.run([*command[:2], "--lr", "0", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "--lr must be" in bad.stderr


def test_errors_are_shown_as_accuracies(monkeypatch):
    errors = {0: 0.40, 1: 0.30}
    monkeypatch.setattr(
        evidence, "run_one",
        lambda args, experiment, run, seed, argv=None: (
            {"a": errors[seed], "b": errors[seed] + 0.1}, "cmd --seed 0", 1.0),
    )  # fmt: skip
    experiment = evidence.Experiment(
        "x", "why", {"r": ["recipe"]}, [("a", "r", ["a"]), ("b", "r", ["b"])],
        "budget", error=True,
    )  # fmt: skip
    args = type("Args", (), dict(seed=0, seeds=2, max_seeds=2, target=0.5,
                                 no_run=False))()  # fmt: skip
    rows = evidence.measure(args, experiment)["rows"]
    assert rows[0]["values"] == pytest.approx([60.0, 70.0])
    assert rows[1]["diff"] == pytest.approx(-10.0)  # more error: fewer points
