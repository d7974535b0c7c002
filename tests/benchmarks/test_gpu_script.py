"""The GPU benchmark script, dry-run on the CPU with tiny settings."""

import json
import os
import subprocess
import sys
import tarfile
import time

import pytest

from tests.shared_files import needs_shared

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow  # CI runs it in its own step (`-m slow`)
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


@pytest.mark.slow  # CI runs it in its own step (`-m slow`)
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


@pytest.fixture
def gpu_script(monkeypatch):
    """benchmarks/gpu_fast_cifar.py as a module, the environment it sets undone."""
    for name in ("XLA_PYTHON_CLIENT_PREALLOCATE", "JAX_COMPILATION_CACHE_DIR"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.syspath_prepend(os.path.join(ROOT, "benchmarks"))
    import gpu_fast_cifar

    return gpu_fast_cifar


def test_run_until_ends_a_command_at_its_deadline_with_ctrl_c(gpu_script, tmp_path):
    saved = tmp_path / "saved"
    child = (
        "import sys, time\n"
        "try:\n    time.sleep(120)\n"
        f"except KeyboardInterrupt:\n    open({str(saved)!r}, 'w').write('state')\n"
    )
    started = time.perf_counter()
    status = gpu_script.run_until(
        [sys.executable, "-c", child], time.perf_counter() + 3, grace_s=30
    )
    assert status == "stopped" and saved.read_text() == "state"
    assert time.perf_counter() - started < 30
    done = gpu_script.run_until(
        [sys.executable, "-c", "exit(3)"], time.perf_counter() + 60
    )
    assert done == 3


def test_runs_go_back_in_parts_and_come_in_whole(gpu_script, tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_script, "PART", 1000)
    runs = tmp_path / "runs"
    (runs / "resnet20" / "backup").mkdir(parents=True)
    blob = os.urandom(2500)
    (runs / "resnet20" / "backup" / "weights.bin").write_bytes(blob)
    (runs / "progress.json").write_text('{"resnet20": {"calls": 1}}')
    parts = gpu_script.pack(str(runs), str(tmp_path / "out"))
    assert parts == [f"paper_runs.tar.{i:02d}" for i in range(len(parts))]
    assert len(parts) >= 3  # 2,500 random bytes and the tar's headers, 1,000 a part
    sizes = [os.path.getsize(tmp_path / "out" / p) for p in parts]
    assert max(sizes) == 1000 and not os.path.exists(str(runs) + ".tar")
    back = tmp_path / "back"
    back.mkdir()
    assert gpu_script.unpack(str(tmp_path / "out"), str(back))
    assert (back / "resnet20" / "backup" / "weights.bin").read_bytes() == blob
    assert (back / "progress.json").read_text() == '{"resnet20": {"calls": 1}}'
    assert not gpu_script.unpack(str(tmp_path / "nothing"), str(back))
    # A finished run goes back as its metrics.json alone.
    (runs / "resnet20" / "metrics.json").write_text('{"status": "finished"}')
    (runs / "resnet20" / "model.keras").write_bytes(blob)
    parts = gpu_script.pack(str(runs), str(tmp_path / "out2"), finished=["resnet20"])
    assert gpu_script.unpack(str(tmp_path / "out2"), str(tmp_path / "back2"))
    assert sorted(os.listdir(tmp_path / "back2" / "resnet20")) == ["metrics.json"]
    assert (tmp_path / "back2" / "progress.json").exists()


def test_a_carried_part_that_writes_outside_its_folder_is_refused(gpu_script, tmp_path):
    carried = tmp_path / "carried"
    carried.mkdir()
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    with tarfile.open(carried / "paper_runs.tar.00", "w") as archive:
        archive.add(evil, arcname="../escaped.txt")
    target = tmp_path / "runs"
    target.mkdir()
    with pytest.raises(tarfile.OutsideDestinationError):
        gpu_script.unpack(str(carried), str(target))
    assert not (tmp_path / "escaped.txt").exists()


def _paper(tmp_path, out, *extra):
    command = [
        sys.executable,
        os.path.join(ROOT, "benchmarks", "gpu_fast_cifar.py"),
        "paper",
        "--dry-run",
        "--out",
        str(out),
        *extra,
    ]
    env = {**os.environ, "RECIPEKIT_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())["paper"]


@pytest.mark.slow  # CI runs it in its own step (`-m slow`)
def test_paper_dry_run_trains_then_a_carried_call_resumes_not_retrains(tmp_path):
    first = _paper(tmp_path, tmp_path / "one", "--protocols", "resnet20")
    assert first["carried in"] is False and first["parts"] == ["paper_runs.tar.00"]
    assert list(first["protocols"]) == ["resnet20"]
    run = first["protocols"]["resnet20"]
    assert run["state"] == "finished" and run["calls"] == 1 and run["last exit"] == 0
    assert 0 <= run["metrics"]["test_accuracy"] <= 1
    assert run["command"].startswith("python recipes/cifar10_resnet.py --data /")
    assert run["command"].endswith(" --epochs 2 --depth 8 --batch-size 32")
    assert sorted(os.listdir(tmp_path / "one")) == ["paper_runs.tar.00", "summary.json"]
    second = _paper(
        tmp_path,
        tmp_path / "two",
        "--carried",
        str(tmp_path / "one"),
        "--protocols",
        "resnet20",
        "stochastic_depth",
    )
    assert second["carried in"] is True
    assert second["protocols"]["resnet20"] == run  # reported, not trained again
    assert second["protocols"]["stochastic_depth"]["state"] == "finished"


@pytest.mark.slow
def test_paper_dry_run_runs_every_published_protocol(tmp_path):
    protocols = _paper(tmp_path, tmp_path / "out")["protocols"]
    assert list(protocols) == ["resnet20", "stochastic_depth", "snapshot", "resnet56"]
    assert {p["state"] for p in protocols.values()} == {"finished"}
