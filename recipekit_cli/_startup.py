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
import json
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
# While `_filtered_stderr` captures file descriptor 2, the user's own stderr
# lives on here, so a line that must reach the user now (Ctrl-C's) still can.
_user_stderr = None


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
    global _user_stderr
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        _user_stderr = saved
        try:
            yield
        finally:
            sys.stderr.flush()
            _user_stderr = None
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(True) if not is_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def tell_user(line):
    """Writes `line` to the user's stderr at once, even while start-up noise is
    being captured (where a plain print would wait for the replay, or be lost
    if the process ends first)."""
    sys.stderr.flush()
    if _user_stderr is None:
        print(line, file=sys.stderr, flush=True)
    else:
        os.write(_user_stderr, f"{line}\n".encode())


def _interrupted(error):
    """Whether `error` came of Ctrl-C: a C extension whose start-up was
    interrupted reports ImportError("initialization failed"), with the
    KeyboardInterrupt as its cause or context."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def debug():
    """True when the user asked for tracebacks (`--debug`, `RECIPEKIT_DEBUG=1`,
    or `--verbose`)."""
    return verbose() or os.environ.get("RECIPEKIT_DEBUG", "") not in ("", "0")


def fail(message, status=2):
    """Ends the command with one line on stderr, as argparse does for bad flags."""
    prog = os.path.basename(sys.argv[0] if sys.argv else "") or "recipekit"
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(status)


def backend_name():
    """The backend Keras will load: `KERAS_BACKEND`, else its config file's."""
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    config = os.path.join(
        os.environ.get("KERAS_HOME") or os.path.expanduser("~/.keras"), "keras.json"
    )
    try:
        with open(config) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def _import_keras():
    """`import keras`, with a missing or unknown backend said in one line."""
    name = backend_name()
    try:
        import keras  # noqa: F401  (the import is the point)
    except ModuleNotFoundError as error:
        if debug():
            raise
        if _interrupted(error):
            raise KeyboardInterrupt from error
        extra = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(name)
        how = f"pip install 'recipekit[{extra}]'" if extra else "install it"
        fail(
            f"Keras's backend {name!r} cannot start: the module {error.name!r} is "
            f"not installed. {how}, or pick an installed backend with "
            "KERAS_BACKEND=tensorflow|jax|torch."
        )
    except (ImportError, ValueError) as error:
        if debug():
            raise
        if _interrupted(error):
            raise KeyboardInterrupt from error
        fail(
            f"Keras cannot start the backend {name!r} "
            f"({str(error).splitlines()[0] if str(error) else type(error).__name__}). "
            "Set KERAS_BACKEND to tensorflow, jax or torch (one that is installed)."
        )


def quiet_start():
    """Imports Keras and lets its backend find its devices, filtering the noise.

    Recipes and command-line tools call this before `import recipekit`;
    a program that imports recipekit as a library gets no such filtering. A
    backend that is not installed (or a `KERAS_BACKEND` Keras does not know)
    ends the command with one line saying how to install or pick one.
    """
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        return
    # A user who set TF_CPP_MIN_LOG_LEVEL to 1 or more wants quiet too (and
    # keeps their level); one who set 0 wants every line.
    if verbose() or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "1").strip() == "0":
        _import_keras()
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with _filtered_stderr():
        _import_keras()
        # On the other backends too, where TensorFlow is installed: Keras's
        # own `keras.utils.set_random_seed` imports it (to seed tf.random),
        # and tf.data paths need it, so its noise would come a little later.
        if importlib.util.find_spec("tensorflow") is not None:
            try:
                import tensorflow as tf
            except ImportError:  # found but broken: Keras reports it if needed
                return
            tf.config.list_physical_devices()  # where cuInit fails, if it does
