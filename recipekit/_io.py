"""Strict JSON, written atomically.

Python's `json` writes NaN and infinity as bare `NaN` and `Infinity`, which
other parsers refuse; recipekit writes them as null. A bottom module: it
imports nothing of recipekit's.
"""

import json
import math
import os


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
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(strict_json(value), f, indent=indent, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as error:
        if error.filename:
            raise
        raise OSError(error.errno, error.strerror, path) from error  # name it
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
