"""A disk cache of decoded images, so a folder or archive is decoded only once.

Entries live in `cache_dir` (default: `$RECIPEKIT_CACHE`, else
`~/.cache/recipekit`) as uncompressed `.npz` files keyed by the source's content
and the loading options: every byte of an archive, or of every file of a folder
with its name, so any edit (even one that keeps the size and the modification
time) decodes the source again. Modification times are not trusted (`cp -p`,
`rsync -t` and `curl -R` keep them across a change).

The cache is bounded: after each write the least recently used entries go
until the rest fit `$RECIPEKIT_CACHE_BYTES` (default 8 GiB); half-written
files left by a killed process are removed.
"""

import contextlib
import hashlib
import json
import os
import tempfile
import time
import zipfile
import zlib

import numpy as np

from recipekit._limits import env_bytes
from recipekit.data import _archive

_FORMAT = 3
_DEFAULT_CACHE_BYTES = 8 << 30
_TMP = "tmp-"  # half-written entries: tmp-<pid>-<random>.tmp
_STALE_S = 24 * 3600  # a half-written entry older than this is left over


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
            digest.update(os.fsencode(rel) + b"\0")
            try:
                with open(full, "rb") as f:
                    content = f.read()
            except FileNotFoundError:  # a dangling link: the reader reports it
                content = b"\0missing"
            digest.update(f"{len(content)}\0".encode() + content)
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
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last
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
        remove_leftovers(cache_dir)
        prefix = f"{_TMP}{os.getpid()}-"
        handle, tmp = tempfile.mkstemp(dir=cache_dir, prefix=prefix, suffix=".tmp")
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
    except OSError:
        return  # A full disk only costs speed: the source is decoded next time.
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    evict(cache_dir, keep=key + ".npz")


def cache_bytes() -> int:
    """The cache's size bound in bytes (`$RECIPEKIT_CACHE_BYTES`, default 8 GiB)."""
    return env_bytes("RECIPEKIT_CACHE_BYTES", _DEFAULT_CACHE_BYTES)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def remove_leftovers(cache_dir: str) -> list:
    """Removes half-written entries of processes that are gone (or a day old)."""
    removed = []
    for name in os.listdir(cache_dir):
        if not (name.startswith(_TMP) and name.endswith(".tmp")):
            continue
        path = os.path.join(cache_dir, name)
        pid = name[len(_TMP) :].split("-", 1)[0]
        with contextlib.suppress(OSError):
            old = time.time() - os.stat(path).st_mtime > _STALE_S
            if old or not (pid.isdigit() and _alive(int(pid))):
                os.remove(path)
                removed.append(name)
    return removed


def evict(cache_dir: str, keep: str = "") -> list:
    """Removes the least recently used entries until the cache fits
    `cache_bytes()`; never `keep` (the entry just written). Returns their names."""
    entries = []
    for name in os.listdir(cache_dir):
        if name.endswith(".npz") and name != keep:
            with contextlib.suppress(OSError):
                stat = os.stat(os.path.join(cache_dir, name))
                entries.append((stat.st_mtime, stat.st_size, name))
    kept = os.path.join(cache_dir, keep)
    total = sum(size for _, size, _ in entries)
    total += os.path.getsize(kept) if keep and os.path.exists(kept) else 0
    removed = []
    for _, size, name in sorted(entries):
        if total <= cache_bytes():
            break
        with contextlib.suppress(OSError):
            os.remove(os.path.join(cache_dir, name))
            total -= size
            removed.append(name)
    return removed
