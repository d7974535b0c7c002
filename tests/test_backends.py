"""recipekit without TensorFlow: imports, data and the on-device parts."""

import json
import os
import subprocess
import sys
import textwrap

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


def test_the_jax_path_runs_with_tensorflow_blocked(tmp_path):
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
        data = recipekit.augment.DeviceImages(1000, (32, 32, 3), images=x, seed=0)
        inputs = keras.Input((2,), dtype="int32")
        model = keras.Model(inputs, net(data(inputs)))
        sgd = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)
        optimizer = recipekit.optimizers.EMA(
            recipekit.optimizers.RateFactors(sgd, {"_bn/beta": 4.0}), 0.9
        )
        model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
        positions, pairs = recipekit.augment.epoch_indices(1000, 100, 1, seed=0)
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
        "device": f"CPU ({os.cpu_count()} cores), Keras jax backend with 1 replica(s)",
    }


def test_the_tf_data_path_says_what_to_install(tmp_path):
    report = run_without_tensorflow(
        tmp_path,
        """
        import json
        import recipekit
        try:
            recipekit.augment.cifar_policy()
            error = None
        except ModuleNotFoundError as e:
            error = str(e)
        print(json.dumps({"error": error}))
        """,
    )
    assert "needs TensorFlow (`pip install tensorflow`)" in report["error"]
    assert "recipekit.augment.cifar_policy" in report["error"]
