"""recipekit without TensorFlow: imports, data and the on-device parts."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Makes `import tensorflow` fail in the child, as on a machine without it.
BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
            return None

    sys.meta_path.insert(0, NoTensorFlow())
    """
)


def run_without_tensorflow(tmp_path, code):
    (tmp_path / "sitecustomize.py").write_text(BLOCK_TENSORFLOW)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.needs_jax
def test_the_jax_path_runs_with_tensorflow_blocked(tmp_path):
    from recipekit.distribute import processor

    report = run_without_tensorflow(
        tmp_path,
        """
        import json, sys
        import numpy as np
        try:
            import tensorflow
            blocked = False
        except ModuleNotFoundError:
            blocked = True
        import keras
        import recipekit
        x, y, names = recipekit.data.load_arrays("cifar10_sample", "test")
        mean, std = recipekit.data.channel_stats(x)
        net = recipekit.models.fast_cifar_net(10, widths=(8, 8, 8), mean=mean, std=std)
        net.get_layer("whitening").adapt((x[:200] - mean) / std)
        data = recipekit.data.DeviceImages(1000, (32, 32, 3), images=x, seed=0)
        inputs = keras.Input((2,), dtype="int32")
        model = keras.Model(inputs, net(data(inputs)))
        sgd = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)
        optimizer = recipekit.optimizers.EMA(
            recipekit.optimizers.RateFactors(sgd, {"_bn/beta": 4.0}), 0.9
        )
        model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
        positions, pairs = recipekit.data.epoch_indices(1000, 100, 1, seed=0)
        model.fit(pairs, y[positions], batch_size=100, verbose=0)
        tta = recipekit.evaluate.evaluate_tta(
            net, (x[:100], y[:100]), ("none", "flip_translate"), verbose=0)
        print(json.dumps({
            "blocked": blocked,
            "backend": keras.backend.backend(),
            "tensorflow_loaded": "tensorflow" in sys.modules,
            "classes": len(names),
            "steps": int(optimizer.iterations),
            "modes": sorted(tta),
            "device": recipekit.distribute.describe(),
        }))
        """,
    )
    assert report == {
        "blocked": True,
        "backend": "jax",
        "tensorflow_loaded": False,
        "classes": 10,
        "steps": 10,
        "modes": ["flip_translate", "none"],
        "device": f"CPU ({processor()}), Keras jax backend with 1 replica(s)",
    }


@pytest.mark.needs_jax
def test_augmentation_runs_without_tensorflow_and_tf_data_says_what_to_install(
    tmp_path,
):
    report = run_without_tensorflow(
        tmp_path,
        """
        import json, sys
        import keras
        import numpy as np
        import recipekit
        x = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), np.uint8)
        policy = recipekit.augment.cifar_policy(brightness=0.4, lighting=0.1)
        views = policy(x, seed=3)
        model = keras.Sequential([keras.Input((16, 16, 3)), policy.as_layers(seed=0),
                                  keras.layers.GlobalAveragePooling2D()])
        pooled = model(x.astype("float32"), training=True)
        try:
            recipekit.data.pipeline(None, 8)
            error = None
        except ModuleNotFoundError as e:
            error = str(e)
        print(json.dumps({
            "views": [list(views.shape), str(views.dtype)],
            "pooled": list(pooled.shape),
            "tensorflow_loaded": "tensorflow" in sys.modules,
            "error": error,
        }))
        """,
    )
    assert report["views"] == [[4, 16, 16, 3], "uint8"]
    assert report["pooled"] == [4, 3]
    assert report["tensorflow_loaded"] is False
    assert "needs TensorFlow (`pip install tensorflow`)" in report["error"]
    assert "recipekit.data.pipeline" in report["error"]


@pytest.mark.needs_jax
def test_a_model_saved_here_predicts_the_same_on_jax_and_torch(tmp_path):
    import keras
    import numpy as np

    import recipekit

    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    resnet = recipekit.models.cifar_resnet(8, num_classes=3, mean=[120.0] * 3,
                                           std=[60.0] * 3)  # fmt: skip
    fast = recipekit.models.fast_cifar_net(3, widths=(8, 8, 8), mean=[120.0] * 3,
                                           std=[60.0] * 3)  # fmt: skip
    fast.get_layer("whitening").adapt((x - 120.0) / 60.0)
    expected = {}
    for name, model in (("resnet", resnet), ("fast", fast)):
        model.save(str(tmp_path / f"{name}.keras"))
        expected[name] = keras.ops.convert_to_numpy(model(x, training=False))
    np.save(tmp_path / "x.npy", x)
    # PyTorch where it is installed (CI's PyTorch step runs this file again).
    backends = ["jax"] + (["torch"] if importlib.util.find_spec("torch") else [])
    for backend in backends:
        code = f"""
        import json, keras, numpy as np, recipekit
        x = np.load({str(tmp_path / "x.npy")!r})
        out = {{}}
        for name in ("resnet", "fast"):
            model = keras.saving.load_model({str(tmp_path)!r} + f"/{{name}}.keras",
                                            safe_mode=True)
            out[name] = keras.ops.convert_to_numpy(model(x, training=False)).tolist()
        print(json.dumps({{"backend": keras.backend.backend(), **out}}))
        """
        # TensorFlow blocked for JAX; torch's dynamo probes for it, so there
        # it stays visible (unused: the check above proves TF-free imports).
        site = tmp_path / backend
        site.mkdir()
        if backend == "jax":
            (site / "sitecustomize.py").write_text(BLOCK_TENSORFLOW)
        env = {**os.environ, "KERAS_BACKEND": backend,
               "PYTHONPATH": f"{site}:{ROOT}"}  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["backend"] == backend
        for name, want in expected.items():
            np.testing.assert_allclose(report[name], want, rtol=1e-4, atol=1e-4)


def test_describe_names_the_device_and_no_private_class():
    import recipekit

    line = recipekit.distribute.describe()
    assert "_Default" not in line, line
    assert "CPU" in line or "cpu" in line.lower(), line
    assert "1 replica" in line or "one replica" in line, line
