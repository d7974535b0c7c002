"""The GPU benchmark script, dry-run on the CPU with tiny settings."""

import json
import os
import subprocess
import sys

import pytest

from tests.shared_files import needs_shared

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@needs_shared("peers", "airbench94_muon.py")
def test_gpu_script_dry_run_writes_a_summary(tmp_path):
    pytest.importorskip("torch", reason="the peer is a PyTorch script")
    out = tmp_path / "out"
    command = [
        sys.executable, os.path.join(ROOT, "benchmarks", "gpu_fast_cifar.py"), "run",
        "--dry-run", "--seeds", "1", "--out", str(out), "--budget-s", "900",
    ]  # fmt: skip
    env = {**os.environ, "RECIPEKIT_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert os.listdir(out) == ["summary.json"]
    assert "GPU:" not in summary["machine"] and "cores" in summary["machine"]
    for variant in ("muon", "sgd"):  # each variant and its peer, same machine
        side = summary[f"side_by_side_{variant}"]
        assert side["seeds"] == [0] and side["peer precision"] == "float32"
        assert len(side["runs"][0]["peer"]["train_epoch_s"]) == 1
        assert "time ratio recipe / peer" in side
        assert side["process_s"]["peer"][0] > 0 and side["process_s"]["recipe"][0] > 0
        assert side["machine"] == summary["machine"]


@needs_shared("peers", "airbench94_muon.py")
def test_gpu_profile_dry_run_times_each_arm_beside_the_peer(tmp_path):
    pytest.importorskip("torch", reason="the peer is a PyTorch script")
    out = tmp_path / "out"
    command = [
        sys.executable, os.path.join(ROOT, "benchmarks", "gpu_fast_cifar.py"),
        "profile", "--dry-run", "--rounds", "1", "--out", str(out),
        "--arms", "recipe", "an epoch per call",
    ]  # fmt: skip
    env = {**os.environ, "RECIPEKIT_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    profile = json.loads((out / "summary.json").read_text())["profile"]
    assert profile["peer"]["script"] == "airbench94_muon.py"
    assert profile["peer"]["s/epoch (steady)"] > 0
    assert set(profile["arms"]) == {"recipe", "an epoch per call"}
    for arm in profile["arms"].values():
        assert arm["rounds"] == 1 and len(arm["first epoch s (with compile)"]) == 1
        assert arm["per-epoch ratio to the peer"] > 0
        assert arm["process ratio to the peer"] > 0
        assert list(arm["phase_s"]) == ["load", "build", "train", "evaluate"]
    assert profile["arms"]["an epoch per call"]["flags"] == "--steps-per-execution 0"
