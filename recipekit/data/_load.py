"""`load()`: one entry point for every image-classification source."""

import contextlib
import os
import warnings

import keras
import numpy as np

from recipekit._tensorflow import tensorflow
from recipekit.data import _archive, _cache, _folder, _sample, _stream

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
        )
        return tf.data.Dataset.from_tensor_slices((images, labels)), names
    if isinstance(source, str):
        return _load_tfds(source, split, image_size, data_dir)
    images, labels, names = load_arrays(
        source, split, image_size=image_size, class_names=class_names
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
):
    """Like `load()`, but returns numpy arrays `(images, labels, class_names)`.

    Folders, archives, `.npz` files and arrays load without TensorFlow (on
    Keras's JAX or PyTorch backend too); a TFDS name needs TensorFlow and
    TFDS, and is read through them once into memory.

    Examples:

    >>> x, y, names = recipekit.data.load_arrays("cifar10_sample", "test")
    >>> x.shape, x.dtype
    ((1000, 32, 32, 3), dtype('uint8'))
    """
    image_size = _check_image_size(image_size)
    if isinstance(source, str) and not _is_path_like(source):
        dataset, names = _load_tfds(source, split, image_size, data_dir)
        pairs = list(dataset.batch(10_000).as_numpy_iterator())
        if not pairs:
            raise ValueError(f"TFDS split {source!r}[{split!r}] is empty.")
        images = np.concatenate([x for x, _ in pairs])
        labels = np.concatenate([y for _, y in pairs])
        return images, labels.astype(np.int64), names
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if path == _sample.NAME:
            path = _sample.path()
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"The data source {path!r} does not exist. Pass an image folder, "
                "an archive (.tar.gz, .tar, .zip), an .npz file or a TFDS name."
            )
        if path.lower().endswith(".npz"):
            with _npz_errors(path, ValueError):
                npz = np.load(path, allow_pickle=False)
            with npz, _npz_errors(path):
                arrays, names = _npz_split(path, npz, split)
            if class_names is None and names is not None:
                class_names = names
            return _check_arrays(path, *arrays, class_names, image_size)
        if os.path.isdir(path) or _archive.is_archive(path):
            return _load_files(path, split, image_size, on_error, cache_dir)
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
        listing = _stream.Listing(path, split)
        size = listing.decoded_bytes(image_size, on_error)
        budget = _stream.memory_budget()
        if size > budget:
            raise ValueError(
                f"{path!r} ({len(listing.names)} images) decodes to {size} bytes, "
                f"more than the memory budget of {budget} bytes. Load it with "
                "recipekit.data.load(...), which streams it from disk (tf.data), "
                "pass a smaller image_size, or raise RECIPEKIT_MEMORY_BUDGET."
            )
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


@contextlib.contextmanager
def _npz_errors(path, *also):
    """A damaged .npz's low-level error, re-raised naming the file."""
    try:
        yield
    except (*_archive.UNREADABLE, *also) as error:
        if isinstance(error, FileNotFoundError | PermissionError):
            raise
        raise ValueError(
            f"Cannot read the .npz file {path!r}: it is damaged, truncated or not "
            f"an .npz ({type(error).__name__}: {error})."
        ) from error


def _npz_split(path, npz, split):
    names = [str(c) for c in npz["class_names"]] if "class_names" in npz else None
    if split is None:
        if "x" in npz and "y" in npz:
            return (npz["x"], npz["y"]), names
        splits = sorted(k[2:] for k in npz if k.startswith("x_"))
        raise ValueError(
            f"{path!r} has no arrays 'x' and 'y'"
            + (f"; pass one of its splits {splits} as `split`." if splits else ".")
        )
    if f"x_{split}" in npz and f"y_{split}" in npz:
        return (npz[f"x_{split}"], npz[f"y_{split}"]), names
    splits = sorted(k[2:] for k in npz if k.startswith("x_"))
    raise ValueError(
        f"{path!r} has no arrays 'x_{split}' and 'y_{split}' for split {split!r}. "
        f"Available splits: {splits}"
        + (" (or 'x'/'y' with split=None)." if "x" in npz else ".")
    )


def _check_arrays(where, x, y, class_names, image_size):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.dtype != np.uint8:
        if x.dtype == np.uint16:
            how = "Scale 16-bit images, (x // 257).astype('uint8'); clipping at 255 "
            how += "would saturate them."
        elif np.issubdtype(x.dtype, np.floating):
            how = "Floats in [0, 1]: np.round(x * 255).astype('uint8'); floats in "
            how += "[0, 255]: np.round(x).astype('uint8')."
        else:
            how = "Integers already in 0-255: x.astype('uint8')."
        raise TypeError(
            f"Images from {where} must be uint8 (0-255). Received dtype {x.dtype}. "
            + how
        )
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"Images from {where} must have shape (N, H, W), (N, H, W, 1), "
            f"(N, H, W, 3) or (N, H, W, 4). Received shape {x.shape}."
        )
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    elif x.shape[-1] == 4:
        x = x[..., :3]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(
            f"Labels from {where} must be a vector with one integer per image "
            f"({len(x)}). Received shape {y.shape}."
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(
            f"Labels from {where} must be integers. Received dtype {y.dtype}."
        )
    if len(y) and y.min() < 0:
        raise ValueError(
            f"Labels from {where} must be >= 0. Received a label of {y.min()}."
        )
    num_classes = len(class_names) if class_names is not None else int(y.max()) + 1
    if class_names is None and num_classes > 1000:
        distinct = len(np.unique(y))
        if distinct < num_classes / 2:  # Refused before any per-class allocation.
            raise ValueError(
                f"Labels from {where} run up to {num_classes - 1}, but only "
                f"{distinct} distinct values appear: {num_classes:,} classes "
                "inferred from the largest label is implausible. Relabel them "
                "0..K-1, or pass `class_names` (one name per class) if the range "
                "is intended."
            )
    if len(y) and y.max() >= num_classes:
        raise ValueError(
            f"Labels from {where} must be in [0, {num_classes}) for the "
            f"{num_classes} class names given. Received a label of {y.max()}."
        )
    if num_classes < 2:
        raise ValueError(
            f"Data from {where} has a single class; classification needs at least two."
        )
    if image_size is not None and x.shape[1:3] != image_size:
        resized = keras.ops.image.resize(
            x.astype(np.float32), image_size, antialias=True
        )
        x = np.round(np.clip(keras.ops.convert_to_numpy(resized), 0, 255))
        x = x.astype(np.uint8)
    names = (
        [str(c) for c in class_names]
        if class_names is not None
        else [str(i) for i in range(num_classes)]
    )
    return x, y.astype(np.int64), names


_NOT_FOUND = (
    "{name!r} is neither an existing file or folder nor a known TFDS dataset. "
    "Pass a path to an image folder, archive or .npz, or a TFDS name such as "
    "'cifar10' (see tfds.list_builders())."
)


def _load_tfds(name, split, image_size, data_dir):
    tf = tensorflow(f"The TFDS dataset {name!r}")
    import tensorflow_datasets as tfds

    if split is None:
        builder = name.split(":")[0].split("/")[0]
        if builder not in tfds.list_builders(with_community_datasets=False):
            raise ValueError(_NOT_FOUND.format(name=name))
        raise ValueError(
            f"TFDS dataset {name!r} needs a `split`, e.g. split='train' or "
            "split='test'."
        )
    try:
        dataset, info = tfds.load(
            name, split=split, as_supervised=True, with_info=True, data_dir=data_dir
        )
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(_NOT_FOUND.format(name=name)) from error
    image_key, label_key = info.supervised_keys
    image_feature = info.features[image_key]
    label_feature = info.features[label_key]
    if not hasattr(label_feature, "names") or len(image_feature.shape) != 3:
        raise ValueError(
            f"TFDS dataset {name!r} is not an image-classification dataset: "
            f"expected (image, class label), got {image_feature} and "
            f"{label_feature}."
        )
    height, width, channels = image_feature.shape
    if (height is None or width is None) and image_size is None:
        raise ValueError(
            f"TFDS dataset {name!r} has images of varying sizes; pass "
            "image_size=(height, width) to resize them on load."
        )

    def to_rgb(image, label):
        if channels == 1:
            image = tf.image.grayscale_to_rgb(image)
        elif channels == 4:
            image = image[..., :3]
        if image_size is not None:
            image = tf.image.resize(image, image_size, antialias=True)
            image = tf.cast(tf.round(tf.clip_by_value(image, 0, 255)), tf.uint8)
        return image, tf.cast(label, tf.int64)

    dataset = dataset.map(to_rgb, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset, list(label_feature.names)
