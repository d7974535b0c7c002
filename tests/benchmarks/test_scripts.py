"""Every benchmark script a result cites runs: a dry run of each, on the
bundled sample (the long ones: evidence, side by side and the GPU script
have their own files), and the record every measurement joins."""

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCHMARKS = os.path.join(ROOT, "benchmarks")
SAMPLE = os.path.join(ROOT, "recipekit", "data", "cifar10_sample.tar.gz")
sys.path.insert(0, BENCHMARKS)

import machine  # noqa: E402


def run(*args, timeout=600):
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_script_says_how_to_run_it_and_imports_nothing_private():
    for name in sorted(os.listdir(BENCHMARKS)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(BENCHMARKS, name)) as f:
            text = f.read()
        assert f"python benchmarks/{name}" in text.split('"""')[1], name
        assert "sys.path" not in text, name
        assert re.search(r"recipekit(\.\w+)*\._", text) is None, name


def test_record_appends_one_json_line_with_commit_command_machine_date(tmp_path):
    first = machine.record("x", {"seconds": 1.5}, str(tmp_path), echo=False)
    machine.record("x", {"seconds": 2.5}, str(tmp_path), echo=False)
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    assert [json.loads(line)["seconds"] for line in lines] == [1.5, 2.5]
    assert json.loads(lines[0]) == first
    assert set(first) == {
        "benchmark",
        "seconds",
        "commit",
        "command",
        "machine",
        "date",
    }
    assert first["benchmark"] == "x" and first["machine"] == machine.describe()
    assert first["commit"] != "unknown" and first["date"].endswith("+00:00")


def test_data_load_times_a_first_and_a_cached_load(tmp_path):
    out = run("benchmarks/data_load.py", "--source", SAMPLE, "--repeats", "1",
              "--results", str(tmp_path))  # fmt: skip
    printed = [json.loads(line) for line in out.splitlines()]
    kept = [json.loads(line) for line in open(tmp_path / "data_load.jsonl")]
    assert kept == printed
    assert [r["case"] for r in kept] == ["first load (decode + write cache)",
                                         "cached load"]  # fmt: skip
    assert all(r["images"] == 6000 and r["seconds"] > 0 for r in kept)


@pytest.mark.slow  # CI runs it in its own step (`-m slow`)
def test_transfer_dry_run_scores_every_way_to_transfer(tmp_path):
    run("benchmarks/transfer.py", "--dry-run", "--out", str(tmp_path))
    with open(tmp_path / "metrics.json") as f:
        metrics = json.load(f)
    scores = metrics["target"]["20"]
    assert set(scores) == {"scratch", "lbfgs_probe", "sgd_probe", "head",
                           "head_then_finetune"}  # fmt: skip
    assert all(0 <= s <= 1 for s in scores.values())
