import json
import os
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf

from recipekit import distribute
from recipekit.distribute import _cluster

# tf.distribute strategies.
pytestmark = pytest.mark.tf_only


def test_mirrored_training_on_two_logical_cpus():
    # Logical devices must be configured before TensorFlow starts, hence a fresh
    # process. The model is trained under the picked strategy.
    script = textwrap.dedent(
        """
        import json
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras
        import recipekit
        strategy = recipekit.distribute.strategy()
        with strategy.scope():
            model = recipekit.models.cifar_resnet(8, 3, input_shape=(8, 8, 3))
            model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        x = np.random.default_rng(0).uniform(0, 1, (16, 8, 8, 3)).astype("float32")
        y = np.arange(16) % 3
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        print(json.dumps({
            "type": type(strategy).__name__,
            "replicas": strategy.num_replicas_in_sync,
            "losses": history.history["loss"],
            "describe": recipekit.distribute.describe(strategy),
        }))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["type"] == "MirroredStrategy"
    assert report["replicas"] == 2
    assert len(report["losses"]) == 2 and all(v == v for v in report["losses"])
    assert "MirroredStrategy with 2 replica(s)" in report["describe"]


def test_single_device_gets_the_default_strategy(monkeypatch):
    for name in ("TPU_NAME", "COLAB_TPU_ADDR", "TF_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert distribute.strategy() is tf.distribute.get_strategy()


def test_worker_count_and_tpu_detection_from_environment(monkeypatch):
    cluster = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]},
               "task": {"type": "worker", "index": 0}}  # fmt: skip
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    assert _cluster._num_workers() == 3
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["b:1"]}}))
    assert _cluster._num_workers() == 1
    monkeypatch.delenv("TF_CONFIG")
    assert _cluster._num_workers() == 0
    monkeypatch.setenv("TPU_NAME", "my-tpu")
    assert _cluster._tpu_address(None) == "my-tpu"
    assert _cluster._tpu_address("grpc://1.2.3.4:8470") == "grpc://1.2.3.4:8470"


def test_processor_names_the_cpu_its_cores_and_bf16_features(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Chip X v2\n"
        "flags\t\t: fpu sse avx512f amx_bf16 avx512_bf16 amx_tile\n\n"
        "processor\t: 1\nmodel name\t: Chip X v2\nflags\t\t: fpu\n"
    )
    cores = os.cpu_count()
    line = distribute.processor(str(cpuinfo))
    assert line == f"Chip X v2, {cores} cores, bf16: amx_bf16 avx512_bf16"
    cpuinfo.write_text("model name\t: Chip Y\nflags\t\t: fpu avx2 fma\n")
    assert distribute.processor(str(cpuinfo)) == f"Chip Y, {cores} cores, bf16: none"
    missing = distribute.processor(str(tmp_path / "none"))  # not Linux: the platform
    assert missing.endswith(f", {cores} cores, bf16: none") and len(missing) > 22


def test_describe_names_the_processor_of_a_cpu():
    assert f"CPU ({distribute.processor()})" in distribute.describe()
