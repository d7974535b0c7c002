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


CONSOLE = []
with open(os.path.join(ROOT, "docs", "guide.md")) as _f:
    CONSOLE = re.findall(r"^```console\n\$ (python recipes/.*?)\n(.*?)^```", _f.read(),
                         re.M | re.S)  # fmt: skip


def matches(expected, actual):
    """A line of the guide (`...` stands for any text; runs of spaces for any
    spacing) against a printed one."""
    pattern = ".*?".join(re.escape(part) for part in expected.split("..."))
    pattern = re.sub(r"(\\ )+", r"\\s+", pattern)
    return re.fullmatch(pattern, actual.rstrip()) is not None


def test_the_line_matcher_fails_on_a_changed_line():
    assert matches("raw         ...      -", "raw         35.10      -")
    assert matches("  device   CPU (..., ... cores, bf16: ...)",
                   "  device   CPU (AMD EPYC, 2 cores, bf16: none)")  # fmt: skip
    assert not matches("  epochs   1", "  epochs   10")
    assert not matches("== training", "== evaluating")


def test_the_guide_shows_recipe_output():
    assert len(CONSOLE) >= 1


@pytest.mark.tf_only  # the guide shows the default backend's run (its device line)
@pytest.mark.parametrize("index", range(len(CONSOLE)))
def test_the_guides_printed_run_is_what_the_recipe_prints(index, tmp_path):
    command, expected = CONSOLE[index]
    argv = command.split()
    argv[1] = os.path.join(ROOT, argv[1])
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    done = subprocess.run([sys.executable, *argv[1:]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout.rstrip("\n").splitlines()
    wanted = expected.rstrip("\n").splitlines()
    assert len(printed) == len(wanted), done.stdout
    for want, got in zip(wanted, printed, strict=True):
        assert matches(want, got), f"guide: {want!r}\nprinted: {got!r}"


def test_the_guides_flag_list_is_the_recipes_help(load_recipe):
    with open(os.path.join(ROOT, "docs", "guide.md")) as f:
        text = " ".join(f.read().split())
    listed = re.search(r"`cifar10_resnet\.py` .*?its flags are `([^`]*)`", text)
    import contextlib
    import io

    recipe = load_recipe("cifar10_resnet")
    with contextlib.redirect_stdout(io.StringIO()) as out, pytest.raises(SystemExit):
        recipe.parse_args(["--help"])
    parser_flags = set(re.findall(r"(--[a-z-]+)", out.getvalue())) - {"--help"}
    assert set(listed.group(1).split()) == parser_flags
