"""What a user sees first: a fast --help, a quiet start, a header, a summary."""

import os
import resource
import subprocess
import sys

import keras
import pytest

from tests.recipes.conftest import RECIPES

NAMES = sorted(n[:-3] for n in os.listdir(RECIPES) if n.endswith(".py"))
HELP = """
import runpy, sys, time
start = time.process_time()  # CPU time: the same on an idle or a busy machine
sys.argv = [{path!r}, "--help"]
try:
    runpy.run_path({path!r}, run_name="__main__")
except SystemExit:
    pass
print("SECONDS", time.process_time() - start, "KERAS", "keras" in sys.modules)
"""


def quiet_env():
    """The environment of a user who set no log variables of their own."""
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    for name in ("TF_CPP_MIN_LOG_LEVEL", "RECIPEKIT_VERBOSE"):
        env.pop(name, None)
    return env


@pytest.mark.parametrize("name", NAMES)
def test_help_answers_in_under_a_second_without_keras(name):
    path = os.path.join(RECIPES, name + ".py")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", HELP.format(path=path)],
        capture_output=True, text=True, env=quiet_env(), timeout=60,
    )  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds, not wall time: a test that waits on a loaded machine's
    # scheduler fails for reasons that are not the code's (issue 27).
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {name}.py"), done.stdout[:200]
    assert "--verbose" in done.stdout
    seconds, keras_imported = done.stdout.split("SECONDS")[1].split("KERAS")
    assert keras_imported.strip() == "False"
    assert float(seconds) < 0.5  # the script's own CPU time
    assert cpu < 1.5  # with the interpreter's start (importing Keras: 4 s and more)


def test_a_recipe_prints_its_header_first_and_a_summary_last(tiny_npz, tmp_path):
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, os.path.join(RECIPES, "cifar10_fast.py"),
         "--data", tiny_npz(64, 20, 2), "--epochs", "1", "--batch-size", "32",
         "--out", str(out)],
        capture_output=True, text=True, env=quiet_env(), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Nothing before the header: no TensorFlow/absl/CUDA start-up lines on
    # stderr (a real warning would still show there), none on stdout.
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "recipekit cifar10_fast"
    assert [line.split()[0] for line in lines[1:7]] == [
        "data", "device", "backend", "epochs", "model", "output"
    ]  # fmt: skip
    assert lines[3].split()[1] == keras.backend.backend()
    assert lines[6].split()[1] == os.path.join(str(out), "")
    for heading in (
        "== training",  # the default, Muon, averages no weights: the final ones
        "== evaluating raw weights; TTA: none, flip, flip_translate",
    ):
        assert heading in lines
    assert not [line for line in lines if "EMA" in line]
    summary = lines[lines.index("== summary") :]
    assert summary[1].split() == ["accuracy", "%", "none", "flip", "flip_translate"]
    assert [row[:16].strip() for row in summary[2:4]] == ["raw", "raw, logit TTA"]
    assert summary[4].startswith("training wall time ")
    assert summary[5] == "wrote:"
    written = [row.strip() for row in summary[6:]]
    assert written == [
        str(out / n)
        for n in ("metrics.json", "model.keras", "curves.png", "curves.json", "log.csv")
    ]


QUIET = "import recipekit_cli; recipekit_cli.quiet_start(); import recipekit"


def test_verbose_keeps_the_start_up_lines():
    code = f"import os; os.environ['RECIPEKIT_VERBOSE'] = '1'; {QUIET}"
    env = quiet_env()
    quiet = subprocess.run(
        [sys.executable, "-c", QUIET], capture_output=True, text=True,
        env=env, timeout=120,
    )  # fmt: skip
    loud = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert quiet.returncode == loud.returncode == 0
    assert quiet.stderr == ""
    if keras.backend.backend() == "tensorflow":  # TensorFlow is what is noisy
        assert "oneDNN" in loud.stderr or "cuda" in loud.stderr


@pytest.mark.parametrize("level", ["1", "3"])
def test_a_user_who_set_a_quiet_log_level_gets_no_start_up_lines(level):
    env = dict(quiet_env(), TF_CPP_MIN_LOG_LEVEL=level)
    code = f"import os; {QUIET}; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == level  # theirs, kept
    assert done.stderr == ""
