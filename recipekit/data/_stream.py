"""Folders and zip archives larger than memory: listed, shuffled once, decoded lazily.

`load()` streams a source whose decoded images would not fit in the memory
budget (`memory_budget()`: `$RECIPEKIT_MEMORY_BUDGET` bytes, default 1 GiB):
the file list (names and labels: a few bytes per image) is put in one seeded
random order, then each file is read and decoded when tf.data asks for it, in
parallel, with the same decoder as the in-memory path (`_folder.decode`), so
both paths give the same pixels. Memory is then bounded by tf.data's buffers,
whatever the number of images; `pipeline()` keeps its shuffle buffer and cache
within the same budget.

Why one fixed order and not a reshuffle every epoch: two passes over a test
split must see the images in the same order (`evaluate_tta` reads labels and
predictions in separate passes). Training reshuffles within `pipeline()`'s
buffer; the fixed order has mixed the classes first, as sharded record files
do at ImageNet scale.

A `.tar`/`.tar.gz` has no random access (a gzip stream is read from its start),
so one larger than the budget is refused with the way out (extract it, or zip
it).
"""

import os
import threading
import warnings
import zipfile

import numpy as np

from recipekit._limits import memory_budget
from recipekit.data import _archive, _folder


class Listing:
    """One split of a folder or zip: its files, labels, class names and reader."""

    def __init__(self, source, split):
        self.source = source
        self.is_zip = source.lower().endswith(".zip")
        if _archive.is_archive(source):
            with _archive.ArchiveReader(source) as archive:
                names, folders = archive.names, archive.folders
        else:
            files, folders = _archive.list_folder(source)
            names = [rel for rel, _ in files]
        layout = _folder.Layout(source, names, folders)
        self.ignored = layout.ignored
        chosen = layout.select(split)
        if len(layout.class_names) < 2:
            raise ValueError(
                f"{source!r} has a single class folder {layout.class_names!r}; "
                "classification needs at least two classes."
            )
        self.names = [name for name, _ in chosen]
        self.labels = np.asarray([label for _, label in chosen], np.int64)
        self.class_names = layout.class_names
        self._local = threading.local()

    def shown(self, name):
        return f"{self.source}{':' if _archive.is_archive(self.source) else '/'}{name}"

    def read(self, name):
        """The bytes of one file (a zip is opened once per reading thread; a tar
        is scanned, which only the size check does, for one file)."""
        if not _archive.is_archive(self.source):
            with open(os.path.join(self.source, name), "rb") as handle:
                return handle.read()
        if not self.is_zip:
            with _archive.ArchiveReader(self.source) as archive:
                return next(archive.read({name}))[1]
        handle = getattr(self._local, "zip", None)
        if handle is None:
            handle = self._local.zip = zipfile.ZipFile(self.source)
        return handle.read(name)

    def decoded_bytes(self, image_size, on_error="raise"):
        """Bytes of all images decoded: exact with `image_size`, else from the
        first readable image."""
        if image_size is None:
            image_size = self.first_size(on_error)
        return len(self.names) * int(image_size[0]) * int(image_size[1]) * 3

    def first_size(self, on_error="raise"):
        """(height, width) of the first image that decodes; with
        `on_error="raise"` an unreadable first image is an error naming it."""
        for name in self.names:
            try:
                return self.decode(name, None).shape[:2]
            except ValueError:
                if on_error != "skip":
                    raise
        raise ValueError(f"No readable images in {self.source!r}.")

    def decode(self, name, image_size):
        """One image, decoded; an unreadable file is a ValueError naming it."""
        try:
            return _folder.decode(name, self.read(name), image_size)
        except Exception as error:  # PIL raises many types for bad files.
            raise ValueError(
                f"Cannot decode the image {self.shown(name)!r}: {error}. Remove or "
                "replace the file, or pass on_error='skip'."
            ) from error


def should_stream(source, split, image_size, stream, on_error="raise"):
    """`(stream?, listing)`: the `stream` argument, or the size against the budget."""
    if stream is False:
        return False, None
    tar = _archive.is_archive(source) and not source.lower().endswith(".zip")
    listing = Listing(source, split)
    too_big = listing.decoded_bytes(image_size, on_error) > memory_budget()
    if tar and (stream or too_big):
        why = "you asked to stream" if stream else "decode to more than the budget"
        raise ValueError(
            f"{source!r} is a tar archive of {len(listing.names)} images that "
            f"{why} ({memory_budget()} bytes, RECIPEKIT_MEMORY_BUDGET), and a tar "
            "archive cannot be read out of order. Extract it (tar xf) and load the "
            "folder, or store it as a .zip; both stream."
        )
    return bool(stream) or too_big, listing


def stream(listing, image_size, on_error, seed=0):
    """A tf.data.Dataset of `(uint8 image, int64 label)` decoded on demand."""
    import tensorflow as tf

    if listing.ignored:
        warnings.warn(
            f"Ignored {len(listing.ignored)} file(s) in {listing.source!r} that are "
            f"not images: {', '.join(repr(n) for n in listing.ignored[:5])}.",
            stacklevel=3,
        )
    if image_size is None:
        image_size = listing.first_size(on_error)
    height, width = int(image_size[0]), int(image_size[1])
    order = np.random.default_rng(seed).permutation(len(listing.names))
    names = np.asarray(listing.names, dtype=object)[order]
    labels = listing.labels[order]
    skip = on_error == "skip"

    def decode(name):
        name = os.fsdecode(name)  # bytes as the file system gave them
        try:
            image = listing.decode(name, image_size)
        except ValueError as error:  # names the file
            if not skip:
                raise
            shown, cause = listing.shown(name), error.__cause__ or error
            warnings.warn(f"Skipped unreadable image {shown!r}: {cause}", stacklevel=2)
            return np.zeros((height, width, 3), np.uint8), False
        if image.shape != (height, width, 3):
            raise ValueError(
                f"Images in {listing.source!r} have different sizes: "
                f"{listing.shown(name)!r} is {image.shape[1]}x{image.shape[0]}, "
                f"others {width}x{height}. Pass image_size=(height, width)."
            )
        return image, True

    def read(name, label):
        image, ok = tf.numpy_function(decode, [name], (tf.uint8, tf.bool))
        return tf.ensure_shape(image, (height, width, 3)), label, ok

    names = np.asarray([os.fsencode(n) for n in names], dtype=object)
    dataset = tf.data.Dataset.from_tensor_slices((names, labels))
    dataset = dataset.map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if skip:
        dataset = dataset.filter(lambda image, label, ok: ok)
    return dataset.map(lambda image, label, ok: (image, label))
