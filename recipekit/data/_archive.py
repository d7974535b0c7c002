"""Safe, read-only access to the image files of a folder or an archive.

An archive is never extracted: its members are read in place, after every member
has been checked. A member with an absolute path, a `..` component, or a link that
points outside the archive root is refused with an error that names it, so nothing
an archive contains can be written to (or read from) outside the archive.
"""

import contextlib
import os
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator

from recipekit._limits import max_file_bytes

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
# The largest image file recipekit reads (`max_file_bytes()`, 512 MiB unless
# RECIPEKIT_MAX_FILE_BYTES says otherwise; a 100-megapixel PNG is about 300 MB).
# A bigger member or file is an archive bomb or not an image; it is refused by
# the size it declares, before a byte of it is read.


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


# What a garbage or truncated archive raises from the standard library.
UNREADABLE = (tarfile.ReadError, zipfile.BadZipFile, EOFError, zlib.error, OSError)


@contextlib.contextmanager
def _named_errors(path):
    """Re-raises a damaged archive's low-level error as one naming the file."""
    try:
        yield
    except UNREADABLE as error:
        if isinstance(error, FileNotFoundError | PermissionError):
            raise
        raise ValueError(
            f"Cannot read the archive {path!r}: it is damaged, truncated or not "
            f"an archive ({type(error).__name__}: {error}). Download or create "
            "it again."
        ) from error


class ArchiveReader:
    """An archive opened once: validated member names, then their data.

    Every member is checked when the archive is opened (one pass over the
    headers); `read(names)` then streams the wanted files in archive order, so
    a compressed stream is decompressed twice at most, however many files.

    Use it as a context manager: `with ArchiveReader(path) as archive: ...`.
    """

    def __init__(self, path: str):
        self.path = path
        self._zip = path.lower().endswith(".zip")
        with _named_errors(path):
            if self._zip:
                self._handle = zipfile.ZipFile(path)
                self._files, self._folders = _zip_members(path, self._handle)
            else:
                self._handle = tarfile.open(path)
                self._files, self._folders = _tar_members(
                    path, self._handle.getmembers()
                )
                self._files.sort(key=lambda item: item[1].offset_data)
        for name, member in self._files:
            size = member.file_size if self._zip else member.size
            _check_size(f"{path}:{name}", size, "member")

    @property
    def names(self) -> list[str]:
        """The normalised relative names of the archive's regular files."""
        return [name for name, _ in self._files]

    @property
    def folders(self) -> list[str]:
        """The archive's folders, empty ones included."""
        return list(self._folders)

    def read(self, wanted_names=None) -> Iterator[tuple[str, bytes]]:
        """Yields `(name, data)` for the files in `wanted_names` (default all)."""
        for name, member in self._files:
            if wanted_names is not None and name not in wanted_names:
                continue
            with _named_errors(self.path):
                if self._zip:
                    data = self._handle.read(member)
                else:
                    data = self._handle.extractfile(member).read()
            yield name, data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()


def _check_size(shown, size, what):
    if size > max_file_bytes():
        raise UnsafeArchiveError(
            f"The {what} {shown!r} is {size / 2**20:.0f} MB, more than any image "
            f"recipekit reads ({max_file_bytes() / 2**20:.0f} MB, "
            "RECIPEKIT_MAX_FILE_BYTES): an archive bomb or not an image. Remove it."
        )


def _tar_members(path, members):
    names = {_check_member_name(path, m.name): m for m in members}
    files = []
    folders = [name for name, member in names.items() if member.isdir()]
    for name, member in names.items():
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
    return files, folders


def _zip_members(path, zf):
    files, folders = [], []
    for info in zf.infolist():
        name = _check_member_name(path, info.filename)
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:  # A symbolic link stored by Unix zip.
            _check_link(path, name, zf.read(info).decode("utf-8", "replace"))
            raise UnsafeArchiveError(
                f"Archive {path!r} contains the symbolic link {name!r}; recipekit "
                "does not follow links inside zip files. Store the file itself."
            )
        if info.is_dir():
            folders.append(name)
        else:
            files.append((name, info))
    return files, folders


def iter_folder(root: str) -> Iterator[tuple[str, str]]:
    """Yields `(relative_name, absolute_path)` for every file under `root`, sorted.

    Only regular files are read: a FIFO, a device or a socket is an error
    naming it (reading one would hang or never end), and so is a link, to a
    file or a folder, that leads outside `root` (`zero.png -> /dev/zero`, a
    class folder linked to `/`). Links inside `root` are followed, and a link
    back into a folder on the way (a loop) is an error naming it.
    """
    files, _ = list_folder(root)
    yield from files


def list_folder(root: str) -> tuple[list[tuple[str, str]], list[str]]:
    """`(files, folders)` under `root`: `iter_folder`'s files and the relative
    names of every folder (empty ones included), both sorted."""
    top = os.path.realpath(root)
    files, folders = [], []

    def refuse(error):
        raise error

    def inside(path):
        real = os.path.realpath(path)
        return real == top or real.startswith(top.rstrip(os.sep) + os.sep)

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=refuse):
        real = os.path.realpath(dirpath)
        if not inside(dirpath):
            raise ValueError(
                f"The folder {root!r} holds {dirpath!r}, a link to {real!r} outside "
                "it. recipekit reads only what is inside the folder; copy the "
                "files in, or remove the link."
            )
        if dirpath != root:
            parent = os.path.realpath(os.path.dirname(dirpath))
            if os.path.commonpath([parent, real]) == real:
                raise ValueError(
                    f"The folder {root!r} loops: {dirpath!r} is a link back to "
                    f"{real!r}, which contains it. Remove the link, or point it "
                    "outside the folder."
                )
            folders.append(os.path.relpath(dirpath, root).replace(os.sep, "/"))
        dirnames.sort()
        for filename in sorted(filenames):
            full = os.path.join(dirpath, filename)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if not inside(full):
                raise ValueError(
                    f"{full!r} is a link to {os.path.realpath(full)!r}, outside "
                    f"{root!r}. recipekit reads only files inside the folder; copy "
                    "the file in, or remove the link."
                )
            try:
                mode = os.stat(full).st_mode
            except FileNotFoundError:  # a dangling link: listed, so that reading
                files.append((rel, full))  # it fails by name (or on_error="skip")
                continue
            if not stat.S_ISREG(mode):
                raise ValueError(
                    f"{full!r} is not a regular file (a FIFO, device or socket); "
                    "reading it could hang or never end. Remove it from the folder."
                )
            _check_size(full, os.stat(full).st_size, "file")
            files.append((rel, full))
    return files, sorted(folders)
