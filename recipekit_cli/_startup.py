"""Starts Keras without TensorFlow's start-up noise: the commands' own call.

Importing TensorFlow (Keras's default backend; it also loads JAX's XLA library)
prints about nine lines from C++ before any Python code can set a log level:
absl's "All log messages before absl::InitializeLog() ..." notice, oneDNN and
"Could not find cuda drivers" INFO lines, a CPU-feature notice, and on machines
without an NVIDIA driver an `E0000 ... failed call to cuInit` line. None of it
is actionable. `quiet_start()` imports Keras (and so its backend) with the
process's stderr captured, then writes back every captured line except those
known ones: a real warning, Python's included, still reaches the user. It sets
`TF_CPP_MIN_LOG_LEVEL=1`, so the C++ INFO lines printed later (XLA's
compilation notices) are off too; C++ warnings and errors still print.

A user's own `TF_CPP_MIN_LOG_LEVEL` of 1 or more is kept, and the filter still
runs (TensorFlow prints its start-up lines whatever the level). Nothing is
filtered when the user set `TF_CPP_MIN_LOG_LEVEL=0`, when
`RECIPEKIT_VERBOSE` is set to anything but "" or "0" (the recipes' `--verbose`),
or when Keras or TensorFlow was imported before recipekit.
"""

import contextlib
import importlib.util
import os
import re
import sys
import tempfile

# Whole lines TensorFlow, XLA and absl print at start-up that say nothing the
# user can act on. INFO lines ("I0000 ...") are all dropped at start-up.
_NOISE = (
    re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(r"I\d{4} [\d:. ]+\d+ \S+:\d+\] "),
    re.compile(r"To enable the following instructions: .* rebuild TensorFlow"),
)
# "No GPU" said as an error; dropped only where no NVIDIA driver is loaded.
_NO_DRIVER = re.compile(r"E\d{4} [\d:. ]+\d+ \S+:\d+\] failed call to cuInit")


def verbose():
    """True when the user asked for every start-up line."""
    return os.environ.get("RECIPEKIT_VERBOSE", "") not in ("", "0")


def is_noise(line, nvidia_driver=None):
    """Whether one captured stderr line is known start-up noise."""
    if any(pattern.match(line) for pattern in _NOISE):
        return True
    if nvidia_driver is None:
        nvidia_driver = os.path.exists("/proc/driver/nvidia/version")
    return not nvidia_driver and bool(_NO_DRIVER.match(line))


@contextlib.contextmanager
def _filtered_stderr():
    """Captures file descriptor 2 (C++ and Python alike), then replays the rest."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(True) if not is_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_start():
    """Imports Keras and lets its backend find its devices, filtering the noise.

    Recipes and command-line tools call this before `import recipekit`;
    a program that imports recipekit as a library gets no such filtering.
    """
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        return
    # A user who set TF_CPP_MIN_LOG_LEVEL to 1 or more wants quiet too (and
    # keeps their level); one who set 0 wants every line.
    if verbose() or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "1").strip() == "0":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with _filtered_stderr():
        import keras  # noqa: F401  (the import is the point)

        # On the other backends too, where TensorFlow is installed: Keras's
        # own `keras.utils.set_random_seed` imports it (to seed tf.random),
        # and tf.data paths need it, so its noise would come a little later.
        if importlib.util.find_spec("tensorflow") is not None:
            try:
                import tensorflow as tf
            except ImportError:  # found but broken: Keras reports it if needed
                return
            tf.config.list_physical_devices()  # where cuInit fails, if it does
