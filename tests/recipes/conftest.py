import importlib.util
import os

import pytest

RECIPES = os.path.join(os.path.dirname(__file__), "..", "..", "recipes")


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
