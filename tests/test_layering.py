"""Dependencies run one way.

`recipes/` and `benchmarks/` use `recipekit_cli` and `recipekit`; `recipekit_cli`
uses `recipekit`; the library never imports its command line, at any depth.
Inside `recipekit/`, no import cycle at any depth, and the bottom modules
(`recipekit/_*.py`: checks, I/O, random, Keras utilities) import only each other.
"""

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


def library_modules(root=ROOT, package="recipekit"):
    """{dotted module name: path} of every file in `package`."""
    modules = {}
    for folder, _, files in os.walk(os.path.join(root, package)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                modules[dotted.removesuffix(".__init__")] = path
    return modules


def import_graph(modules):
    """{module: modules of `modules` it imports}. `from package import name`
    counts as importing `package.name` when that is a module, else `package`."""
    graph = {}
    for module, path in modules.items():
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1])
                    source = f"{base}.{node.module}" if node.module else base
                else:
                    source = node.module
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.add(sub if sub in modules else source)
        graph[module] = sorted(t for t in targets if t in modules and t != module)
    return graph


def cycles(graph):
    """The import cycles: strongly connected components of more than one module."""
    order, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return found


def test_the_library_never_imports_recipekit_cli():
    found = [
        f"{os.path.relpath(path, ROOT)}: {module}"
        for path in library_modules().values()
        for module in imported_modules(path)
        if module.split(".")[0] == "recipekit_cli"
    ]
    assert found == []


def test_no_import_cycle_inside_the_library():
    assert cycles(import_graph(library_modules())) == []


def test_the_bottom_modules_import_only_each_other():
    graph = import_graph(library_modules())
    bottom = {m for m in graph if m.count(".") == 1 and m.split(".")[1].startswith("_")}
    assert {"recipekit._checks", "recipekit._io", "recipekit._random"} <= bottom
    upward = {m: [t for t in graph[m] if t not in bottom] for m in sorted(bottom)}
    assert {m: up for m, up in upward.items() if up} == {}


def test_the_walker_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from recipekit_cli import x\n    import a.b\n")
    assert list(imported_modules(str(path))) == ["recipekit_cli", "a.b"]


def test_the_cycle_finder_finds_a_cycle_through_a_function_import(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_low.py").write_text("def f():\n    from pkg.sub import g\n")
    (package / "sub" / "__init__.py").write_text("from pkg.sub._impl import g\n")
    (package / "sub" / "_impl.py").write_text("from .. import _low\n")
    (package / "other.py").write_text("import pkg._low\n")
    graph = import_graph(library_modules(str(tmp_path), "pkg"))
    assert graph["pkg.sub._impl"] == ["pkg._low"]
    assert cycles(graph) == [["pkg._low", "pkg.sub", "pkg.sub._impl"]]


def test_the_command_line_offers_the_library_s_tta_modes():
    import recipekit
    import recipekit_cli

    assert recipekit_cli.TTA_MODES == recipekit.evaluate.MODES
    assert recipekit_cli.TTA_MODES == tuple(recipekit.evaluate._modes.VIEWS)


def test_a_mode_is_checked_by_one_function_only():
    """One home for the check: no other evaluate module compares against MODES."""
    found = []
    for module, path in library_modules().items():
        if not module.startswith("recipekit.evaluate"):
            continue
        with open(path) as f:
            text = f.read()
        if "not in MODES" in text and not path.endswith("_modes.py"):
            found.append(os.path.relpath(path, ROOT))
    assert found == []
