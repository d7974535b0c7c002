"""The evidence harness: its statistics, and a dry run of real recipe runs."""

import os
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


def test_every_cpu_experiment_names_its_regime_and_baseline():
    for experiment in evidence.CPU:
        assert experiment.why and experiment.budget and len(experiment.arms) >= 2
        for _, run, path in experiment.arms:
            assert run in experiment.runs and path


def test_dry_run_writes_the_table_and_reuses_finished_runs(tmp_path):
    out, report = tmp_path / "out", tmp_path / "EVIDENCE.md"
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "evidence.py"),
               "--dry-run", "--only", "averaging", "--out", str(out),
               "--report", str(report)]  # fmt: skip
    env = {**os.environ, "RECIPEKIT_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    assert "| last weights |" in text and "| EMA 0.999 |" in text
    assert "--seed S --out" in text and "| 2 |" in text
    again = subprocess.run(command, capture_output=True, text=True, env=env,
                           timeout=120)  # fmt: skip
    assert (
        again.returncode == 0
        and report.read_text().split("\n", 3)[3] == (text.split("\n", 3)[3])
    )


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


def test_every_experiment_of_the_issue_is_there():
    names = {e.name for e in evidence.CPU}
    assert names >= {"averaging", "snapshot", "stochastic_depth", "regularizers"}
    assert names >= {"color", "tta", "optimizers", "transfer_50", "transfer_500"}
    optimizers = {e.name: e for e in evidence.CPU}["optimizers"]
    assert set(optimizers.sweep) == set(optimizers.runs) and optimizers.select


def test_experiments_reading_the_same_command_share_its_runs():
    tta = {e.name: e for e in evidence.CPU}["tta"]
    assert evidence.folder(tta, "resnet", tta.runs["resnet"]) == os.path.join(
        "averaging", "resnet"
    )
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
    args = type("Args", (), {"seed": 0, "seeds": 2})()
    rows = evidence.measure(args, experiment)["rows"]
    assert rows[0]["values"] == pytest.approx([60.0, 70.0])
    assert rows[1]["diff"] == pytest.approx(-10.0)  # more error: fewer points
