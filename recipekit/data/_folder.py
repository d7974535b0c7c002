"""Image folders (and archives of them): layout, decoding and error reporting.

Layouts, relative to the folder or archive root (one wrapping folder is allowed):

    <class>/<image>                  no splits
    <split>/<class>/<image>          split names: train, test, val, validation, ...
"""

import collections
import io
import os
import warnings
from collections.abc import Iterable

import numpy as np
from PIL import Image

from recipekit.data import _archive

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
SPLIT_NAMES = frozenset(
    {"train", "training", "test", "testing", "val", "valid", "validation", "dev"}
)


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _is_hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


class Layout:
    """Which image belongs to which split and class."""

    def __init__(self, source: str, names: Iterable[str], folders: Iterable[str] = ()):
        names = [n for n in names if not _is_hidden(n)]
        images = [n for n in names if _is_image(n)]
        self.ignored = [n for n in names if not _is_image(n)]
        if not images:
            raise ValueError(
                f"No images found in {source!r}. Expected files ending in "
                f"{', '.join(IMAGE_EXTENSIONS)} arranged as <class>/<image> or "
                "<split>/<class>/<image>."
            )
        parts = [n.split("/") for n in images]
        self.prefix = ""
        # Strip wrapping folders shared by every image, down to depth 3 or less.
        while min(len(p) for p in parts) > 2 and len({p[0] for p in parts}) == 1:
            if len(parts[0]) == 3 and parts[0][0].lower() in SPLIT_NAMES:
                break
            self.prefix += parts[0][0] + "/"
            parts = [p[1:] for p in parts]
        depths = {len(p) for p in parts}
        if len(depths) != 1 or depths.pop() not in (2, 3):
            # The misplaced file: one off the depth most images share (or, if
            # most share a wrong depth, one of those).
            counts = collections.Counter(len(p) for p in parts)
            usual = max(counts, key=lambda d: (counts[d], d in (2, 3)))
            odd = next(p for p in parts if len(p) != usual or usual not in (2, 3))
            raise ValueError(
                f"Images in {source!r} are not arranged as <class>/<image> or "
                f"<split>/<class>/<image>: found {self.prefix + '/'.join(odd)!r}. "
                "Put every image exactly one folder (its class) below the root or "
                "below a split folder."
            )
        self.has_splits = len(parts[0]) == 3
        if self.has_splits:
            self.splits = sorted({p[0] for p in parts})
            unknown = [s for s in self.splits if s.lower() not in SPLIT_NAMES]
            if unknown:
                raise ValueError(
                    f"{source!r} has images at depth 3 under {unknown!r}, which are "
                    f"not split names ({', '.join(sorted(SPLIT_NAMES))}). Use "
                    "<class>/<image> or <split>/<class>/<image>."
                )
            classes = {p[1] for p in parts}
        else:
            self.splits = []
            classes = {p[0] for p in parts}
        # Class folders without images count too: every split then labels a
        # class by the same index, even where one split lacks a class.
        depth = 2 if self.has_splits else 1
        for folder in folders:
            if _is_hidden(folder) or not folder.startswith(self.prefix):
                continue
            rest = folder[len(self.prefix) :].strip("/").split("/")
            if len(rest) == depth and (depth == 1 or rest[0] in self.splits):
                classes.add(rest[-1])
        self.class_names = sorted(classes)
        self.entries = [
            ("/".join(p[:-2]) or None, p[-2], n)
            for p, n in zip(parts, images, strict=True)
        ]
        self.source = source

    def select(self, split: str | None) -> list[tuple[str, int]]:
        """Returns `(name, label)` pairs of one split, sorted by class then name."""
        if self.has_splits and split is None:
            raise ValueError(
                f"{self.source!r} has the splits {self.splits}; pass one as "
                f"`split`, e.g. split={self.splits[0]!r}."
            )
        if not self.has_splits and split is not None:
            raise ValueError(
                f"{self.source!r} has no split folders (it is arranged as "
                f"<class>/<image>), so `split` must be None. Received: "
                f"split={split!r}."
            )
        if self.has_splits and split not in self.splits:
            raise ValueError(
                f"{self.source!r} has no split {split!r}. Available splits: "
                f"{self.splits}."
            )
        index = {name: i for i, name in enumerate(self.class_names)}
        chosen = [(n, index[c]) for s, c, n in self.entries if s == split]
        present = {label for _, label in chosen}
        empty = [c for i, c in enumerate(self.class_names) if i not in present]
        if empty and len(empty) < len(self.class_names):
            where = (
                f"split {split!r} of {self.source!r}" if split else repr(self.source)
            )
            warnings.warn(
                f"{where} has no images of the class(es) {empty}; labels keep the "
                f"one class list {self.class_names} (class {empty[0]!r} is label "
                f"{index[empty[0]]}).",
                stacklevel=5,
            )
        return sorted(chosen, key=lambda item: (item[1], item[0]))


def _gray_to_uint8(name, image):
    """16-bit gray scaled to 0-255 (65535 -> 255), not clipped at 255."""
    values = np.asarray(image, dtype=np.float64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise ValueError(
            f"{name}: integer image values span [{values.min():g}, "
            f"{values.max():g}], outside 16 bits; convert it to 8 or 16 bits."
        )
    return np.round(values / 257.0).astype(np.uint8)


def decode(name: str, data: bytes, image_size: tuple[int, int] | None) -> np.ndarray:
    """Decodes one image file to uint8 RGB (H, W, 3), resized if asked."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        if image.mode.startswith("I"):  # 16-bit (or 32-bit integer) grayscale.
            image = Image.fromarray(_gray_to_uint8(name, image), mode="L")
        if image.mode != "RGB":
            if image.mode == "P" and "transparency" in image.info:
                image = image.convert("RGBA")
            image = image.convert("RGB")
        if image_size is not None and image.size != (image_size[1], image_size[0]):
            image = image.resize((image_size[1], image_size[0]), Image.BILINEAR)
        return np.asarray(image, dtype=np.uint8)


def read_images(
    source: str,
    split: str | None,
    image_size: tuple[int, int] | None,
    on_error: str,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Decodes one split of a folder or archive.

    Returns `(images, labels, class_names, skipped)`.
    """
    if _archive.is_archive(source):
        with _archive.ArchiveReader(source) as archive:
            layout = Layout(source, archive.names, archive.folders)
            return _decode_split(
                source, layout, archive.read, split, image_size, on_error
            )
    files, folders = _archive.list_folder(source)
    layout = Layout(source, [rel for rel, _ in files], folders)

    def read(wanted):
        return ((n, _read_file(os.path.join(source, n))) for n in wanted)

    return _decode_split(source, layout, read, split, image_size, on_error)


def _decode_split(source, layout, read, split, image_size, on_error):
    """Decodes the images of `split`; `read(wanted)` yields `(name, bytes)`."""
    if layout.ignored:
        shown = ", ".join(repr(n) for n in layout.ignored[:5])
        more = f" and {len(layout.ignored) - 5} more" if len(layout.ignored) > 5 else ""
        warnings.warn(
            f"Ignored {len(layout.ignored)} file(s) in {source!r} that are not images "
            f"({', '.join(IMAGE_EXTENSIONS)}): {shown}{more}.",
            stacklevel=4,
        )
    chosen = layout.select(split)
    if len(layout.class_names) < 2:
        raise ValueError(
            f"{source!r} has a single class folder {layout.class_names!r}; "
            "classification needs at least two classes."
        )
    wanted = dict(chosen)
    separator = ":" if _archive.is_archive(source) else "/"
    decoded = {}
    skipped = []
    first = None
    for name, data in read(wanted):
        shown = f"{source}{separator}{name}"
        try:
            if isinstance(data, OSError):
                raise data
            image = decode(name, data, image_size)
        except Exception as error:  # PIL raises many types for bad files.
            if on_error == "skip":
                warnings.warn(
                    f"Skipped unreadable image {shown!r}: {error}", stacklevel=4
                )
                skipped.append(shown)
                continue
            raise ValueError(
                f"Cannot decode the image {shown!r}: {error}. Remove or replace the "
                "file, or pass on_error='skip' to skip unreadable images."
            ) from error
        if first is None:
            first = (shown, image.shape)
        elif image.shape != first[1]:
            raise ValueError(
                f"Images in {source!r} have different sizes: {shown!r} is "
                f"{image.shape[1]}x{image.shape[0]} but {first[0]!r} is "
                f"{first[1][1]}x{first[1][0]}. Pass image_size=(height, width) to "
                "resize every image on load."
            )
        decoded[name] = image
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} unreadable image(s) in {source!r}.", stacklevel=4
        )
    kept = [(n, label) for n, label in chosen if n in decoded]
    if not kept:
        raise ValueError(f"No readable images in split {split!r} of {source!r}.")
    images = np.stack([decoded[n] for n, _ in kept])
    labels = np.asarray([label for _, label in kept], dtype=np.int64)
    return images, labels, layout.class_names, skipped


def _read_file(path: str):
    """The file's bytes, or the OSError reading it gave (a dangling link, say):
    the decode loop reports it by name, or skips it with on_error="skip"."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        return error
