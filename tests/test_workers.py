"""Which worker this process is, and where it writes (any backend: TF_CONFIG
is plain JSON; the 2-process runs are tests/recipes/test_multi_worker.py)."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from recipekit import distribute


def tf_config(monkeypatch, kind, index, chief=False, workers=2):
    cluster = {"worker": [f"w{i}:1" for i in range(workers)]}
    if chief:
        cluster["chief"] = ["c:1"]
    config = {"cluster": cluster, "task": {"type": kind, "index": index}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))


def test_worker_index_and_count_from_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.worker() == (0, 1)
    if keras.backend.backend() != "tensorflow":
        tf_config(monkeypatch, "worker", 1)
        assert distribute.worker() == (0, 1)  # TF_CONFIG is TensorFlow's
        return
    tf_config(monkeypatch, "worker", 1)
    assert distribute.worker() == (1, 2)
    tf_config(monkeypatch, "worker", 0)
    assert distribute.worker() == (0, 2)
    # With a chief, it is index 0 and the workers follow it.
    tf_config(monkeypatch, "chief", 0, chief=True)
    assert distribute.worker() == (0, 3)
    tf_config(monkeypatch, "worker", 0, chief=True)
    assert distribute.worker() == (1, 3)


@pytest.mark.parametrize(
    "raw, match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"cluster": {"worker": ["a:1", "b:1"]},
                     "task": {"type": "worker", "index": 2}}), "not one of"),
        (json.dumps({"cluster": {"worker": ["a:1", "b:1"]},
                     "task": {"type": "ps", "index": 0}}), "not one of"),
    ],
)  # fmt: skip
def test_bad_tf_config_is_reported(monkeypatch, raw, match):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TF_CONFIG is read on TensorFlow only")
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(ValueError, match=match):
        distribute.worker()


def as_worker(monkeypatch, index, workers=2):
    """This process as worker `index`, the way its backend is told."""
    if keras.backend.backend() == "jax":
        monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", str(workers))
        monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", str(index))
    else:
        tf_config(monkeypatch, "worker", index, workers=workers)


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="no multi-process")
def test_the_chief_writes_into_out_and_another_worker_into_its_own_folder(
    monkeypatch, tmp_path
):
    out = str(tmp_path / "run")
    as_worker(monkeypatch, 0)
    assert distribute.run_folder(out) == out and os.path.isdir(out)
    backup = os.path.join(out, "backup")
    os.makedirs(backup)
    with open(os.path.join(backup, "state"), "w") as f:
        f.write("epoch 3")
    as_worker(monkeypatch, 1)
    folder = distribute.run_folder(out)
    assert folder == os.path.join(out, "workers", "1")
    # Its backup starts as the chief's, replacing what it had.
    with open(os.path.join(folder, "backup", "state")) as f:
        assert f.read() == "epoch 3"
    with open(os.path.join(backup, "state"), "w") as f:
        f.write("epoch 4")
    assert distribute.run_folder(out) == folder
    with open(os.path.join(folder, "backup", "state")) as f:
        assert f.read() == "epoch 4"
    distribute.finish_worker(out)
    assert sorted(os.listdir(out)) == ["backup"]  # its folder and workers/ gone
    as_worker(monkeypatch, 0)
    distribute.finish_worker(out)  # the chief's folder stays
    assert sorted(os.listdir(out)) == ["backup"]


def test_fit_data_is_the_arrays_on_one_process(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("KERAS_DISTRIBUTION_NUM_PROCESSES", raising=False)
    x, y = np.zeros((8, 2), "int32"), np.arange(8)
    data = distribute.fit_data(x, y, 4, distribute.strategy())
    assert data["x"] is x and data["y"] is y and data["batch_size"] == 4


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_launch_local_gives_each_process_its_cluster_variables(backend):
    show = "import json, os; print(json.dumps({k: v for k, v in os.environ.items() "
    show += "if k == 'TF_CONFIG' or k.startswith('KERAS_DISTRIBUTION_')}))"
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CONFIG="stale")
    processes = distribute.launch_local(
        [sys.executable, "-c", show], 2, env=env, stdout=subprocess.PIPE, text=True
    )
    seen = [json.loads(p.communicate(timeout=60)[0]) for p in processes]
    if backend == "tensorflow":
        configs = [json.loads(s["TF_CONFIG"]) for s in seen]
        assert [c["task"] for c in configs] == [
            {"type": "worker", "index": 0},
            {"type": "worker", "index": 1},
        ]
        addresses = configs[0]["cluster"]["worker"]
        assert len(set(addresses)) == 2 and configs[1]["cluster"]["worker"] == addresses
        assert all(a.startswith("127.0.0.1:") for a in addresses)
    else:
        assert [s["KERAS_DISTRIBUTION_PROCESS_ID"] for s in seen] == ["0", "1"]
        assert {s["KERAS_DISTRIBUTION_NUM_PROCESSES"] for s in seen} == {"2"}
        assert "TF_CONFIG" not in seen[0]
    single = distribute.launch_local([sys.executable, "-c", show], 1, env=env,
                                     stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert json.loads(single[0].communicate(timeout=60)[0]) == {}
    with pytest.raises(ValueError, match="workers"):
        distribute.launch_local(["true"], 0)


def test_fit_data_cuts_each_global_batch_for_its_jax_process(monkeypatch):
    if keras.backend.backend() != "jax":
        pytest.skip("JAX processes take their part of each batch themselves")
    x, y = np.arange(16).reshape(8, 2), np.arange(8)
    as_worker(monkeypatch, 1)
    data = distribute.fit_data(x, y, 4, None)
    assert data["batch_size"] == 2
    np.testing.assert_array_equal(data["y"], [2, 3, 6, 7])  # second half of each
    np.testing.assert_array_equal(data["x"], x[[2, 3, 6, 7]])
    with pytest.raises(ValueError, match="split evenly"):
        distribute.fit_data(x, y, 3, None)


@pytest.mark.parametrize(
    "count, index, match",
    [("2", "5", "PROCESS_ID"), ("2", "", "PROCESS_ID"), ("two", "0", "integer")],
)
def test_bad_jax_process_variables_are_reported(monkeypatch, count, index, match):
    if keras.backend.backend() != "jax":
        pytest.skip("read by the JAX backend")
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", count)
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", index)
    with pytest.raises(ValueError, match=match):
        distribute.worker()
