"""The peer side-by-side benchmark, dry-run: the peer's and the recipe's real
scripts on the bundled sample for one epoch, and the table from their output."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import peer_side_by_side  # noqa: E402

from tests.shared_files import needs_shared  # noqa: E402


# The suite's dry run of the side-by-side is the GPU script's (tests/benchmarks/
# test_gpu_script.py runs it through `side_by_side`); this one runs the command
# line on its own, twice: about a minute more (run with -m slow).
@pytest.mark.slow
@needs_shared("peers", "airbench94_muon.py")
def test_dry_run_runs_both_sides_and_prints_the_table(tmp_path):
    pytest.importorskip("torch", reason="the peers are PyTorch scripts")
    out = tmp_path / "out"
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "peer_side_by_side.py"),
               "--dry-run", "--precision", "float32", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "RECIPEKIT_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "side_by_side.json").read_text())
    assert summary["seeds"] == [0]
    (run,) = summary["runs"]
    assert len(run["peer"]["train_epoch_s"]) == 1
    assert len(run["recipe"]["train_epoch_s"]) == 1
    assert run["peer"]["bf16"] is False
    assert "--precision float32 --optimizer muon --seed 0" in run["recipe"]["command"]
    assert "| peer |" in result.stdout and "| recipe |" in result.stdout
    assert "bf16:" in summary["machine"] and f"on {summary['machine']}" in result.stdout
    assert run["recipe"]["process_s"] > 0
    # Finished runs are reused: a rerun starts no training.
    again = subprocess.run(command, capture_output=True, text=True, timeout=120,
                           env=env, cwd=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((out / "side_by_side.json").read_text())["seeds"] == [0]


def test_summary_pairs_by_seed_and_times_steady_epochs():
    def peer(seed, acc, epochs):
        return {"seed": seed, "val_acc": acc, "tta_val_acc": acc + 0.01,
                "train_epoch_s": epochs, "process_s": sum(epochs) + 30}  # fmt: skip

    def recipe(seed, acc, epochs):
        return {"seed": seed, "val_acc": acc, "tta_val_acc": acc + 0.02,
                "logit_tta_val_acc": acc + 0.03, "train_epoch_s": epochs,
                "process_s": sum(epochs) + 10}  # fmt: skip

    pairs = [
        (peer(0, 0.90, [99.0, 10.0, 10.0]), recipe(0, 0.91, [50.0, 9.0, 9.0])),
        (peer(1, 0.92, [99.0, 20.0, 20.0]), recipe(1, 0.91, [50.0, 20.0, 20.0])),
    ]
    summary = peer_side_by_side.summarize(pairs)
    assert summary["seeds"] == [0, 1]
    assert summary["peer"]["no TTA"] == (91.0, round(2**0.5, 4))
    assert summary["recipe"]["TTA"] == (93.0, 0.0)
    assert summary["recipe"]["TTA (logits)"] == (94.0, 0.0)
    # Steady epochs leave out epoch 1: 9/10 and 20/20.
    assert summary["per seed ratio"] == [0.9, 1.0]
    assert summary["time ratio recipe / peer"][0] == 0.95
    # The whole wait, command to result: (149, 169) s and (78, 100) s.
    assert summary["process_s"]["peer"] == (159.0, round(200**0.5, 4))
    assert summary["process_s"]["recipe"] == (89.0, round(242**0.5, 4))
    # Each seed's own numbers, for pooling seeds run apart.
    assert summary["per seed"][1] == {
        "seed": 1,
        "peer": {
            "val_acc": 92.0,
            "tta_val_acc": 93.0,
            "s/epoch": 20.0,
            "process_s": 169.0,
        },
        "recipe": {
            "val_acc": 91.0,
            "tta_val_acc": 93.0,
            "logit_tta_val_acc": 94.0,
            "s/epoch": 20.0,
            "process_s": 100.0,
        },
    }


def test_airbench94_epoch_times_come_from_its_running_total():
    table = "\n".join([
        "|  run   |  epoch  |  train_loss  |  train_acc  |  val_acc  |  tta_val_acc  "
        "|  total_time_seconds  |",
        "|     1  |      1  |      1.2000  |     0.5000  |   0.6000  |               "
        "|            100.5000  |",
        "|        |      2  |      1.1000  |     0.6000  |   0.7000  |               "
        "|            301.0000  |",
        "|        |   eval  |      1.1000  |     0.6000  |   0.7000  |       0.7100  "
        "|            320.0000  |",
        '{"peer": "airbench94 (CPU float32 port)", "train_seconds": 320.0}',
    ])  # fmt: skip
    assert peer_side_by_side._table_epoch_seconds(table) == [100.5, 200.5]
    with pytest.raises(RuntimeError, match="no epoch rows"):
        peer_side_by_side._table_epoch_seconds('{"peer": "x"}')


def test_airbench94_on_a_gpu_times_its_last_run_not_the_warm_up():
    # On a GPU the table holds a warm-up run, then the timed one: the running
    # total falls where the second starts (seen on an H200: ..., 0.16, -3.93).
    def row(epoch, total):
        return f"|   |  {epoch}  |  1.0  |  0.5  |  0.6  |   |  {total:.4f}  |"

    table = "\n".join(
        [row(1, 2.52), row(2, 2.71), row(3, 2.89), row(1, 0.21), row(2, 0.41)]
    )
    assert peer_side_by_side._table_epoch_seconds(table) == [0.21, 0.2]


def test_dry_run_data_keeps_the_first_images_of_each_class_and_split(tmp_path):
    import collections
    import tarfile

    path = peer_side_by_side.dry_run_data(str(tmp_path), train=3, test=1)
    with tarfile.open(path) as archive:
        names = archive.getnames()
        first = archive.extractfile("train/airplane/0000.jpg").read()
    with tarfile.open(peer_side_by_side.SAMPLE) as sample:
        assert first == sample.extractfile("train/airplane/0000.jpg").read()
    counts = collections.Counter(tuple(n.split("/")[:2]) for n in names)
    assert len(counts) == 20 and len(names) == 40
    assert {c for (split, _), c in counts.items() if split == "train"} == {3}
    assert {c for (split, _), c in counts.items() if split == "test"} == {1}
    assert sorted(os.listdir(tmp_path)) == ["dry_run_data.tar.gz"]  # no .tmp left
    assert peer_side_by_side.dry_run_data(str(tmp_path)) == path  # made once
