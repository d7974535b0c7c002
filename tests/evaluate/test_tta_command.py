"""`recipekit-tta` as a user meets it: a fast --help, one-line refusals."""

import os
import resource
import subprocess
import sys

import keras
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tta(*args, timeout=300):
    command = [sys.executable, "-m", "recipekit_cli", *args]
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds, which a loaded machine does not stretch as it does wall time.
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return done, cpu


def test_help_answers_in_under_a_second_without_keras():
    done, seconds = tta("--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: recipekit-tta")
    assert seconds < 1.0, seconds


def test_an_unsafe_model_is_refused_in_one_line_with_what_to_do(tmp_path):
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(outputs)
    )
    path = str(tmp_path / "unsafe.keras")
    keras.Model(inputs, outputs).save(path)
    done, _ = tta(path, "--data", "cifar10_sample", "--modes", "none")
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "unsafe.keras' was refused" in lines[0] and "safe_mode=False" in lines[0]
    verbose, _ = tta(path, "--data", "cifar10_sample", "--verbose")
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr


def test_a_wrong_dataset_is_one_line(tmp_path):
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])  # fmt: skip
    path = str(tmp_path / "three.keras")
    model.save(path)
    data = tmp_path / "tiny.npz"
    x = np.zeros((4, 32, 32, 3), np.uint8)
    np.savez(data, x_test=x, y_test=np.arange(4) % 2)
    done, _ = tta(path, "--data", str(data), "--modes", "none")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "predicts 3 classes" in line
