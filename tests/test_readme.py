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


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs_as_pasted(index, tmp_path):
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    command = [sys.executable, "-c", BLOCKS[index]]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"block {index}:\n{done.stderr[-3000:]}"
