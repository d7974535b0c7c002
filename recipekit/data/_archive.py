"""Safe, read-only access to the image files of a folder or an archive.

An archive is never extracted: its members are read in place, after every member
has been checked. A member with an absolute path, a `..` component, or a link that
points outside the archive root is refused with an error that names it, so nothing
an archive contains can be written to (or read from) outside the archive.
"""

import os
import posixpath
import tarfile
import zipfile
from collections.abc import Iterator

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")


def is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


class UnsafeArchiveError(ValueError):
    """Raised when an archive member could escape the archive root."""


def _check_member_name(archive: str, name: str) -> str:
    """Returns the normalised relative name of a member, or raises."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(
            f"Archive {archive!r} contains the member {name!r} with an absolute "
            "path. recipekit refuses to read archives whose members could escape "
            "their root; repack the archive with relative paths."
        )
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafeArchiveError(
            f"Archive {archive!r} contains the member {name!r} with a '..' "
            "component. recipekit refuses to read archives whose members could "
            "escape their root; repack the archive with plain relative paths."
        )
    return posixpath.normpath("/".join(p for p in parts if p not in ("", ".")))


def _check_link(archive: str, name: str, target: str, from_root=False) -> str:
    """Returns the in-archive path a link points to, or raises.

    Symbolic links are relative to the link's folder, hard links (`from_root`) to
    the archive root.
    """
    base = "" if from_root else posixpath.dirname(name)
    if target.startswith("/"):
        resolved = None
    else:
        resolved = posixpath.normpath(posixpath.join(base, target))
    if resolved is None or resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchiveError(
            f"Archive {archive!r} contains the link {name!r} -> {target!r}, which "
            "points outside the archive root. recipekit refuses such archives; "
            "replace the link with the file it points to."
        )
    return resolved


def iter_archive(path: str, wanted_names=None) -> Iterator[tuple[str, bytes]]:
    """Yields `(relative_name, data)` for the regular files of an archive.

    All members are validated before the first one is yielded. `wanted_names`, a
    container of relative names, limits which files are read.
    """
    if path.lower().endswith(".zip"):
        yield from _iter_zip(path, wanted_names)
    else:
        yield from _iter_tar(path, wanted_names)


def list_archive(path: str) -> list[str]:
    """Returns the validated relative names of an archive's regular files."""
    if path.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            return [name for name, _ in _zip_members(path, zf)]
    with tarfile.open(path) as tf:
        return [name for name, _ in _tar_members(path, tf.getmembers())]


def _tar_members(path, members):
    names = {}
    for member in members:
        names[_check_member_name(path, member.name)] = member
    files = []
    for member in members:
        name = _check_member_name(path, member.name)
        if member.issym() or member.islnk():
            resolved = _check_link(path, name, member.linkname, member.islnk())
            if resolved not in names or not names[resolved].isfile():
                raise UnsafeArchiveError(
                    f"Archive {path!r} contains the link {name!r} -> "
                    f"{member.linkname!r}, whose target is not a file of the "
                    "archive."
                )
            files.append((name, names[resolved]))
        elif member.isfile():
            files.append((name, member))
        elif not member.isdir():
            raise UnsafeArchiveError(
                f"Archive {path!r} contains the member {name!r}, which is neither "
                "a file, a folder nor a link (a device or FIFO); recipekit refuses "
                "such archives."
            )
    return files


def _iter_tar(path, wanted_names):
    # Validate every member first (one pass over the headers), then read the data
    # in archive order, so a compressed stream is decompressed once more at most.
    with tarfile.open(path) as tf:
        files = _tar_members(path, tf.getmembers())
        files.sort(key=lambda item: item[1].offset_data)
        for name, member in files:
            if wanted_names is not None and name not in wanted_names:
                continue
            handle = tf.extractfile(member)
            yield name, handle.read()


def _zip_members(path, zf):
    files = []
    for info in zf.infolist():
        name = _check_member_name(path, info.filename)
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:  # A symbolic link stored by Unix zip.
            _check_link(path, name, zf.read(info).decode("utf-8", "replace"))
            raise UnsafeArchiveError(
                f"Archive {path!r} contains the symbolic link {name!r}; recipekit "
                "does not follow links inside zip files. Store the file itself."
            )
        if not info.is_dir():
            files.append((name, info))
    return files


def _iter_zip(path, wanted_names):
    with zipfile.ZipFile(path) as zf:
        for name, info in _zip_members(path, zf):
            if wanted_names is None or name in wanted_names:
                yield name, zf.read(info)


def iter_folder(root: str) -> Iterator[tuple[str, str]]:
    """Yields `(relative_name, absolute_path)` for every file under `root`, sorted."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for filename in sorted(filenames):
            full = os.path.join(dirpath, filename)
            yield os.path.relpath(full, root).replace(os.sep, "/"), full
