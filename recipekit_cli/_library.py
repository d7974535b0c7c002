"""The library's Keras-free bottom modules, loaded without `import recipekit`.

`import recipekit` imports Keras (and so its backend), and the command line
must check its flags before Keras starts (`--help` and a bad value answer at
once; `quiet_start` filters TensorFlow's start-up lines only if it imports
Keras first). Dependencies still run one way: the command line uses the
library's own module, found with `importlib.util.find_spec` (which locates the
package without running its `__init__`) and loaded from its file.
"""

import functools
import importlib.util
import os
import sys


@functools.cache
def _load(name):
    """The library's module `name` (a dotted path in `recipekit`), which must
    import nothing, from its file; the imported one if Python has it."""
    if f"recipekit.{name}" in sys.modules:
        return sys.modules[f"recipekit.{name}"]
    package = importlib.util.find_spec("recipekit")
    path = os.path.join(os.path.dirname(package.origin), *name.split(".")) + ".py"
    spec = importlib.util.spec_from_file_location(f"recipekit_cli.{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def intervals():
    """`recipekit._intervals`: `in_interval`, `describe_interval`."""
    return _load("_intervals")


def tta_modes():
    """`recipekit.evaluate._modes`: `MODES`, the one table of TTA modes."""
    return _load("evaluate._modes")
