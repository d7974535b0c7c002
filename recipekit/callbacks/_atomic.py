"""Atomic file writes: a temporary file in the same folder, then a rename."""

import contextlib
import os
import uuid


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path next to `path`; renames it onto `path` on success.

    A reader (or a resumed run) sees the old file or the new one, never half
    of one. `suffix` keeps an extension that a writer insists on (Keras's
    `save_weights` wants `.weights.h5`).
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
