"""A disk cache of decoded images, so a folder or archive is decoded only once.

Entries live in `cache_dir` (default: `$RECIPEKIT_CACHE`, else
`~/.cache/recipekit`) as uncompressed `.npz` files keyed by the source's path, size
and modification times and the loading options. A changed source gets a new key.
"""

import hashlib
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from recipekit.data import _archive

_FORMAT = 1


def default_cache_dir() -> str:
    return os.environ.get("RECIPEKIT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "recipekit"
    )


def fingerprint(source: str, **options) -> str:
    """A key that changes whenever the source's files or the options change."""
    digest = hashlib.sha256()
    path = os.path.realpath(source)
    digest.update(json.dumps([_FORMAT, path, sorted(options.items())]).encode())
    if os.path.isdir(path):
        for rel, full in _archive.iter_folder(path):
            stat = os.stat(full)
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        stat = os.stat(path)
        digest.update(f"{stat.st_size}\0{stat.st_mtime_ns}".encode())
    name = os.path.basename(path.rstrip(os.sep)).replace(".", "_")
    return f"{name}-{digest.hexdigest()[:20]}"


def read(cache_dir: str, key: str):
    """Returns `(images, labels, class_names, skipped)` or None if not cached."""
    path = os.path.join(cache_dir, key + ".npz")
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as entry:
            return (
                entry["images"],
                entry["labels"],
                [str(c) for c in entry["class_names"]],
                [str(s) for s in entry["skipped"]],
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # A damaged entry is rebuilt from the source.


def write(cache_dir: str, key: str, images, labels, class_names, skipped) -> None:
    """Writes an entry atomically (a killed process never leaves half a file)."""
    try:
        os.makedirs(cache_dir, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    except OSError:
        return  # A read-only cache location only costs speed.
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(
                out,
                images=images,
                labels=labels,
                class_names=np.asarray(class_names, dtype=str),
                skipped=np.asarray(skipped, dtype=str),
            )
        os.replace(tmp, os.path.join(cache_dir, key + ".npz"))
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
