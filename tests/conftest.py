import importlib.util
import os

import numpy as np
import pytest
from PIL import Image

import recipekit  # noqa: F401  (first Keras import: TensorFlow's start-up noise off)

# Tests of code that does not depend on the Keras backend: flag parsing, the
# start-up, the import layering, the API reference, the benchmark harnesses
# (whose recipes are tested on every backend in tests/recipes). Single tests
# elsewhere carry the `backend_free` marker (input checks a recipe makes before
# Keras computes anything). They run on TensorFlow and are deselected on the
# other backends, where they would only repeat themselves.
BACKEND_FREE = ("tests/benchmarks/", "tests/cli/", "tests/test_api_reference.py",
                "tests/test_layering.py", "tests/test_startup.py")  # fmt: skip


def pytest_collection_modifyitems(config, items):
    """Tests of what is TensorFlow by nature (tf.data, tf.distribute) run there
    only; backend-free tests (above) run on TensorFlow only; tests that start
    JAX in a child process need JAX installed (the README's test install has no
    second backend; CI installs JAX and runs them)."""
    import keras

    if importlib.util.find_spec("jax") is None:
        skip_jax = pytest.mark.skip(reason="needs_jax: JAX is not installed")
        for item in items:
            if "needs_jax" in item.keywords:
                item.add_marker(skip_jax)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return
    free = [item for item in items if "backend_free" in item.keywords
            or item.nodeid.startswith(BACKEND_FREE)]  # fmt: skip
    if free:
        config.hook.pytest_deselected(items=free)
        items[:] = [item for item in items if item not in free]
    skip = pytest.mark.skip(reason=f"TensorFlow-only (tf_only); backend is {backend}")
    for item in items:
        if "tf_only" in item.keywords:
            item.add_marker(skip)


RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")


@pytest.fixture
def load_recipe():
    """Imports a recipe script by name, as a module (recipes are not a package)."""

    def load(name):
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(RECIPES, name + ".py")
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def tiny_npz(tmp_path):
    """An .npz with random 32x32 train/test images: `tiny_npz(n_train, n_test, k)`."""
    import numpy as np

    def make(n_train=64, n_test=20, classes=2):
        rng = np.random.default_rng(0)
        path = tmp_path / "tiny.npz"
        np.savez(
            path,
            x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
            y_train=np.arange(n_train) % classes,
            x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
            y_test=np.arange(n_test) % classes,
        )
        return str(path)

    return make


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own decode cache, so no test sees another's entries."""
    monkeypatch.setenv("RECIPEKIT_CACHE", str(tmp_path / "cache"))


def write_image(path, array, fmt=None):
    """Writes a uint8 array as an image file (format from the suffix)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = {2: "L", 3: "RGB" if array.shape[-1] == 3 else "RGBA"}[array.ndim]
    Image.fromarray(array, mode=mode).save(path, format=fmt)


@pytest.fixture
def image_folder(tmp_path):
    """A split folder: 3 classes, 4 train and 2 test PNG images each, 8x6 pixels.

    Pixel (0, 0, 0) of each image holds 10 * class + index, so tests can tell
    which image went where.
    """
    root = tmp_path / "folder"
    for split, count in (("train", 4), ("test", 2)):
        for c, name in enumerate(("cat", "dog", "emu")):
            for i in range(count):
                array = np.full((8, 6, 3), 50 * c, np.uint8)
                array[0, 0, 0] = 10 * c + i
                write_image(str(root / split / name / f"{i:02d}.png"), array)
    return root


def run_child(path):
    """Runs a test's child script in a fresh Python; returns its last JSON line.

    Logical devices (two CPUs for MirroredStrategy) can only be set before
    TensorFlow starts, so such tests run in a process of their own.
    """
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, path], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
