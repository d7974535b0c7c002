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
