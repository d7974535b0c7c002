"""`load()`: one entry point for every image-classification source."""

import difflib
import os
import sys
import warnings

import numpy as np

from recipekit._limits import memory_budget
from recipekit._tensorflow import tensorflow
from recipekit.data import _archive, _cache, _folder, _sample, _stream
from recipekit.data._arrays import (
    _check_arrays,
    _npz_errors,
    _npz_split,
    check_npz_sizes,
)
from recipekit.data._tfds import _load_tfds

_ANNOUNCE = 20_000  # images: a first decode this large says so (on stderr)
_ON_ERROR = ("raise", "skip")


def load(
    source,
    split=None,
    *,
    image_size=None,
    class_names=None,
    on_error="raise",
    cache_dir=None,
    data_dir=None,
    stream=None,
):
    """Loads an image-classification dataset as uint8 images and int64 labels.

    Sources:
    - a TFDS name such as `"cifar10"`, `"cifar100"` or `"tf_flowers"`, read with
      `tfds.load(..., as_supervised=True)` (downloaded on first use into
      `data_dir`, TFDS's default `~/tensorflow_datasets` if None);
    - `"cifar10_sample"`: the CIFAR-10 subset shipped with recipekit (5,000 train
      and 1,000 test images, balanced over the 10 classes);
    - an image folder, `root/<class>/<image>` or `root/<split>/<class>/<image>`,
      with `.jpg`, `.jpeg`, `.png`, `.bmp`, `.gif` or `.webp` files;
    - a `.tar.gz`, `.tgz`, `.tar` or `.zip` archive of such a folder, read in place
      (never extracted); members that could escape the root are refused;
    - arrays: a tuple `(x, y)`, a dict `{split: (x, y)}`, or an `.npz` file with
      `x`/`y` or `x_<split>`/`y_<split>` arrays (and optionally `class_names`).

    Folders and archives are decoded once; the decoded arrays are cached in
    `cache_dir` (default `$RECIPEKIT_CACHE` or `~/.cache/recipekit`) and reused
    while the source is unchanged. Grayscale and RGBA images become RGB.

    Folders and `.zip` archives whose decoded images would exceed the memory
    budget (`$RECIPEKIT_MEMORY_BUDGET` bytes, default 1 GiB) are streamed
    instead: the file list is put in one seeded random order and each image is
    read and decoded in parallel when tf.data asks for it, so memory stays
    bounded whatever the size (`pipeline()` keeps its shuffle buffer and cache
    within the same budget). Same return type, same pixels. A `.tar(.gz)` that
    large is refused (no random access): extract it or zip it.

    Args:
        source: one of the sources above.
        split: the split to load (`"train"`, `"test"`, ...). Sources without
            splits take `split=None`; TFDS accepts its slicing syntax
            (`"train[:10%]"`).
        image_size: `(height, width)` to resize every image to, or None to keep
            the stored size (all images must then share one size).
        class_names: names for array labels `0..K-1` (arrays only).
        on_error: `"raise"` (default) stops at the first unreadable image and
            names it; `"skip"` skips it with a warning naming it.
        cache_dir: where decoded folders and archives are cached.
        data_dir: TFDS data folder.
        stream: None (default) streams folders and zip archives above the
            memory budget; True always streams them, False never.

    Returns:
        `(dataset, class_names)`: a `tf.data.Dataset` of `(image, label)` with
        image `uint8` of shape `(H, W, 3)` and label `int64`, and the list of
        class names, label `i` being `class_names[i]`.

    Examples:

    >>> ds, names = recipekit.data.load("cifar10_sample", split="train")
    >>> len(names)
    10
    """
    tf = tensorflow("recipekit.data.load (a tf.data.Dataset)")

    image_size = _check_image_size(image_size)
    if on_error not in _ON_ERROR:
        raise ValueError(
            f"Argument `on_error` must be one of {_ON_ERROR}. Received: "
            f"on_error={on_error!r}"
        )
    if stream not in (None, True, False):
        raise ValueError(
            "Argument `stream` must be None, True or False. Received: "
            f"stream={stream!r}"
        )
    if isinstance(source, str | os.PathLike) and _is_path_like(os.fspath(source)):
        path = os.fspath(source)
        if os.path.isdir(path) or (_archive.is_archive(path) and os.path.isfile(path)):
            streamed, listing = _stream.should_stream(
                path, split, image_size, stream, on_error
            )
            if streamed:
                return _stream.stream(
                    listing, image_size, on_error
                ), listing.class_names
        elif stream:
            raise ValueError(
                f"stream=True applies to image folders and .zip archives; {path!r} "
                "is neither."
            )
        images, labels, names = load_arrays(
            source,
            split,
            image_size=image_size,
            class_names=class_names,
            on_error=on_error,
            cache_dir=cache_dir,
            shuffle=False,  # the source's order, as streamed; pipeline() shuffles
        )
        return tf.data.Dataset.from_tensor_slices((images, labels)), names
    if isinstance(source, str):
        return _load_tfds(source, split, image_size, data_dir)
    images, labels, names = load_arrays(
        source, split, image_size=image_size, class_names=class_names, shuffle=False
    )
    return tf.data.Dataset.from_tensor_slices((images, labels)), names


def load_arrays(
    source,
    split=None,
    *,
    image_size=None,
    class_names=None,
    on_error="raise",
    cache_dir=None,
    data_dir=None,
    shuffle=True,
    seed=0,
):
    """Like `load()`, but returns numpy arrays `(images, labels, class_names)`.

    Folders, archives, `.npz` files and arrays load without TensorFlow (on
    Keras's JAX or PyTorch backend too); a TFDS name needs TensorFlow and
    TFDS, and is read through them once into memory.

    The images come in a seeded random order (`shuffle=True`, as Keras's
    `image_dataset_from_directory` shuffles): folders and archives are read
    class by class, so the first 500 images of an unshuffled CIFAR-10 are all
    airplanes, and `x[:512]` or Keras's `validation_split` (the last part)
    would hold one class. The same `seed` gives the same order every time, so
    a resumed run indexes the same images. `shuffle=False` keeps the
    source's order (a folder's: class by class, files sorted by name).

    Args (besides `load()`'s):
        shuffle: return the images in a random order (default True).
        seed: the order's seed (default 0).

    Examples:

    >>> x, y, names = recipekit.data.load_arrays("cifar10_sample", "test")
    >>> x.shape, x.dtype
    ((1000, 32, 32, 3), dtype('uint8'))
    >>> bool(np.bincount(y[:100], minlength=10).min() > 0)  # every class, not one
    True
    """
    images, labels, names = _load_arrays(
        source, split, image_size, class_names, on_error, cache_dir, data_dir
    )
    if shuffle and len(labels) > 1:
        order = np.random.default_rng(seed).permutation(len(labels))
        images, labels = images[order], labels[order]
    return images, labels, names


def _load_arrays(source, split, image_size, class_names, on_error, cache_dir,
                 data_dir):  # fmt: skip
    image_size = _check_image_size(image_size)
    if isinstance(source, str) and not _is_path_like(source):
        dataset, names = _load_tfds(source, split, image_size, data_dir)
        pairs = list(dataset.batch(10_000).as_numpy_iterator())
        if not pairs:
            raise ValueError(f"TFDS split {source!r}[{split!r}] is empty.")
        images = np.concatenate([x for x, _ in pairs])
        labels = np.concatenate([y for _, y in pairs])
        return (
            images,
            labels.astype(np.int64),
            _same_classes(source, names, class_names),
        )
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if path == _sample.NAME:
            path = _sample.path()
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"The data source {path!r} does not exist{_closest(path)}. Pass an "
                "image folder, an archive (.tar.gz, .tar, .zip), an .npz file or a "
                "TFDS name."
            )
        if path.lower().endswith(".npz"):
            with _npz_errors(path):
                check_npz_sizes(path, split)
            with _npz_errors(path, ValueError):
                npz = np.load(path, allow_pickle=False)
            with npz, _npz_errors(path):
                arrays, names = _npz_split(path, npz, split)
            if class_names is None and names is not None:
                class_names = names
            return _check_arrays(path, *arrays, class_names, image_size)
        if os.path.isdir(path) or _archive.is_archive(path):
            images, labels, names = _load_files(
                path, split, image_size, on_error, cache_dir
            )
            return images, labels, _same_classes(path, names, class_names)
        raise ValueError(
            f"Cannot read {path!r}: expected an image folder, an archive "
            f"({', '.join(_archive.ARCHIVE_SUFFIXES)}) or an .npz file."
        )
    if isinstance(source, dict):
        if split not in source:
            raise ValueError(
                f"The dict of arrays has no split {split!r}. Available splits: "
                f"{sorted(source)}."
            )
        source = source[split]
    elif split is not None:
        raise ValueError(
            "A tuple (x, y) of arrays has no splits, so `split` must be None. "
            f"Received: split={split!r}. Pass a dict {{split: (x, y)}} instead."
        )
    if not isinstance(source, tuple | list) or len(source) != 2:
        raise TypeError(
            "Expected the data source to be a path, a TFDS name, a tuple (x, y) "
            f"or a dict {{split: (x, y)}}. Received: {type(source).__name__}."
        )
    return _check_arrays("arrays", source[0], source[1], class_names, image_size)


def _closest(path):
    """` (did you mean 'x'?)` from the names beside a missing path, or ''."""
    folder = os.path.dirname(path) or "."
    try:
        names = os.listdir(folder)
    except OSError:
        return ""
    close = difflib.get_close_matches(os.path.basename(path), names, n=1)
    return f" (did you mean {os.path.join(folder, close[0])!r}?)" if close else ""


def _same_classes(source, names, class_names):
    """The source's own class names, which must be `class_names` when given (a
    test split is loaded with the training split's names: same classes, same
    order, so a label means the same class in both)."""
    if class_names is not None and list(names) != [str(c) for c in class_names]:
        raise ValueError(
            f"The classes of {source!r} are {list(names)}, not the "
            f"{len(class_names)} given ({[str(c) for c in class_names]}): the "
            "splits or the model disagree on what each label means. Use data "
            "whose classes match (same names, same order)."
        )
    return names


def _is_path_like(source: str) -> bool:
    return (
        source == _sample.NAME
        or os.path.exists(source)
        or os.sep in source
        or "/" in source
        or source.lower().endswith(_archive.ARCHIVE_SUFFIXES + (".npz",))
    )


def _check_image_size(image_size):
    if image_size is None:
        return None
    if (
        not isinstance(image_size, tuple | list)
        or len(image_size) != 2
        or not all(isinstance(v, int | np.integer) and v > 0 for v in image_size)
    ):
        raise ValueError(
            "Argument `image_size` must be None or (height, width) with two "
            f"positive integers. Received: image_size={image_size!r}"
        )
    return (int(image_size[0]), int(image_size[1]))


def _load_files(path, split, image_size, on_error, cache_dir):
    cache_dir = cache_dir or _cache.default_cache_dir()
    key = _cache.fingerprint(
        path, split=split, image_size=image_size, on_error=on_error
    )
    cached = _cache.read(cache_dir, key)
    if cached is None:
        with warnings.catch_warnings():  # read_images below warns, once
            warnings.simplefilter("ignore")
            listing = _stream.Listing(path, split)
        size = listing.decoded_bytes(image_size, on_error)
        budget = memory_budget()
        if size > budget:
            raise ValueError(
                f"{path!r} ({len(listing.names)} images) decodes to {size} bytes, "
                f"more than the memory budget of {budget} bytes. Load it with "
                "recipekit.data.load(...), which streams it from disk (tf.data), "
                "pass a smaller image_size, or raise RECIPEKIT_MEMORY_BUDGET."
            )
        count = len(listing.names)
        if count >= _ANNOUNCE:  # else seconds of silence (tens for CIFAR-10)
            part = f" ({split})" if split else ""
            said = f"Decoding {count:,} images of {path!r}{part}, once: later "
            print(said + f"loads read them from {cache_dir}", file=sys.stderr)
        cached = _folder.read_images(path, split, image_size, on_error)
        _cache.write(cache_dir, key, *cached)
    images, labels, names, skipped = cached
    if skipped:
        warnings.warn(
            f"{len(skipped)} unreadable image(s) of {path!r} were skipped when it "
            f"was decoded: {', '.join(repr(s) for s in skipped[:5])}"
            + (" ..." if len(skipped) > 5 else ""),
            stacklevel=3,
        )
    return images, labels, names
