"""Every ```python block of README.md and docs/guide.md runs, as pasted, in a
fresh process."""

import os
import re
import subprocess
import sys

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCKS = []
for _name in ("README.md", os.path.join("docs", "guide.md")):
    with open(os.path.join(ROOT, _name)) as _f:
        BLOCKS += re.findall(r"^```python\n(.*?)^```", _f.read(), re.M | re.S)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(1, len(BLOCKS)))  # block 0: below
def test_readme_block_runs_as_pasted(index, tmp_path):
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    command = [sys.executable, "-c", BLOCKS[index]]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"block {index}:\n{done.stderr[-3000:]}"


def test_the_readme_example_scores_well_above_chance(tmp_path):
    """The README's model.fit example prints a dict of TTA accuracies; on the
    sample's ten classes (chance 0.10) they must mean something."""
    import ast

    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    done = subprocess.run([sys.executable, "-c", BLOCKS[0]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    accuracies = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert set(accuracies) == {"none", "flip"}
    assert min(accuracies.values()) > 0.25, accuracies
    for noise in ("cuInit", "I0000", "absl::InitializeLog"):
        assert noise not in done.stderr  # TensorFlow's start-up lines, filtered
