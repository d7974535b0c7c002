"""A disk cache of decoded images, so a folder or archive is decoded only once.

Entries live in `cache_dir` (default: `$RECIPEKIT_CACHE`, else
`~/.cache/recipekit`) as uncompressed `.npz` files keyed by the source's content
and the loading options: an archive's bytes (hashed whole), or a folder's file
names, sizes and the bytes at the start and end of each file. Modification times
are not trusted (`cp -p`, `rsync -t` and `curl -R` keep them across a change).
"""

import hashlib
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from recipekit.data import _archive

_FORMAT = 2
_SAMPLE = 4096  # bytes hashed at each end of a folder's file


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
        files, folders = _archive.list_folder(path)
        for rel in folders:
            digest.update(os.fsencode(rel) + b"/\n")
        for rel, full in files:
            size = os.stat(full).st_size
            digest.update(os.fsencode(rel) + f"\0{size}\0".encode())
            with open(full, "rb") as f:
                digest.update(f.read(_SAMPLE))
                if size > 2 * _SAMPLE:
                    f.seek(-_SAMPLE, os.SEEK_END)
                    digest.update(f.read(_SAMPLE))
                elif size > _SAMPLE:
                    digest.update(f.read())
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                digest.update(block)
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
