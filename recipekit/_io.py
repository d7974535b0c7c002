"""Atomic writes (a temporary file in the same folder, then a rename), and
strict JSON written that way.

Python's `json` writes NaN and infinity as bare `NaN` and `Infinity`, which
other parsers refuse; recipekit writes them as null. A bottom module: it
imports nothing of recipekit's.
"""

import contextlib
import json
import math
import os
import uuid


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path next to `path`; renames it onto `path` on success.

    A reader (or a resumed run) sees the old file or the new one, never half
    of one. `suffix` keeps an extension that a writer insists on (Keras's
    `save_weights` wants `.weights.h5`). An error without a file name gets
    `path`'s.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        if error.filename:
            raise
        raise OSError(error.errno, error.strerror, path) from error  # name it
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def strict_json(value):
    """`value` with every NaN or infinity as None: strict JSON, which
    parsers other than Python's accept (`json.dump` writes bare `NaN`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def write_json(path, value, indent=2):
    """Writes strict JSON atomically (a temporary file, then a rename)."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(strict_json(value), f, indent=indent, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
