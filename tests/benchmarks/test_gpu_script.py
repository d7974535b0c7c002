"""The GPU benchmark script, dry-run on the CPU with tiny settings."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.shared_files import needs_shared

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@needs_shared("peers", "airbench94_muon.py")
def test_gpu_script_dry_run_writes_a_summary(tmp_path):
    pytest.importorskip("torch", reason="the peer is a PyTorch script")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (96, 32, 32, 3), dtype=np.uint8)
    data = tmp_path / "tiny.npz"
    np.savez(data, x_train=x, y_train=np.arange(96) % 3, x_test=x[:32],
             y_test=np.arange(32) % 3)  # fmt: skip
    out = tmp_path / "out"
    command = [
        sys.executable, os.path.join(ROOT, "benchmarks", "gpu_fast_cifar.py"), "run",
        "--dry-run", "--data", str(data), "--seeds", "1", "--out", str(out),
        "--fast-budget-s", "1", "--budget-s", "900", "--precision", "float32",
    ]  # fmt: skip
    env = {**os.environ, "RECIPEKIT_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert os.listdir(out) == ["summary.json"]
    assert summary["machine"]["gpu"].startswith("none")
    fast = summary["fast"]
    assert len(fast["runs"]) == 1 and len(fast["runs"][0]["epoch_times_s"]) == 2
    assert 0 <= fast["tta_accuracy_mean_std"][0] <= 1
    for variant in ("muon", "sgd"):  # each variant and its peer, same machine
        side = summary[f"side_by_side_{variant}"]
        assert side["seeds"] == [0] and side["peer precision"] == "float32"
        assert len(side["runs"][0]["peer"]["train_epoch_s"]) == 1
        assert "time ratio recipe / peer" in side
    resnet = summary["resnet20"]
    assert resnet["schedule_epochs"] == 4
    assert 1 <= resnet["stopped_at_epoch"] <= 4
    assert len(resnet["epoch_times_s"]) == resnet["stopped_at_epoch"]
