"""Dependencies run one way: the library never imports its command line."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def imported_modules(path):
    """Every module an `import` or `from` names in a file, at any depth."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def test_the_library_never_imports_recipekit_cli():
    found = []
    for folder, _, files in os.walk(os.path.join(ROOT, "recipekit")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                found += [
                    f"{os.path.relpath(path, ROOT)}: {module}"
                    for module in imported_modules(path)
                    if module.split(".")[0] == "recipekit_cli"
                ]
    assert found == []


def test_the_walker_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from recipekit_cli import x\n    import a.b\n")
    assert list(imported_modules(str(path))) == ["recipekit_cli", "a.b"]
