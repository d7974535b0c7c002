"""The API reference (docs/api/, built by mkdocs) lists every public name."""

import importlib
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ["optimizers", "callbacks", "layers", "losses", "augment", "data", "models",
            "evaluate", "transfer", "run", "distribute", "report"]  # fmt: skip


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_reference_entry(package):
    module = importlib.import_module(f"recipekit.{package}")
    with open(os.path.join(ROOT, "docs", "api", f"{package}.md")) as f:
        page = f.read()
    entries = {
        line.split()[1].rsplit(".", 1)[-1]
        for line in page.splitlines()
        if line.startswith(":::")
    }
    missing = sorted(set(getattr(module, "__all__", [])) - entries)
    assert not missing, f"docs/api/{package}.md lacks {missing}"
