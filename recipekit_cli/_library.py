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
def intervals():
    """`recipekit._intervals`: `in_interval`, `describe_interval`."""
    if "recipekit._intervals" in sys.modules:
        return sys.modules["recipekit._intervals"]
    package = importlib.util.find_spec("recipekit")
    folder = os.path.dirname(package.origin)
    spec = importlib.util.spec_from_file_location(
        "recipekit_cli._intervals", os.path.join(folder, "_intervals.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
