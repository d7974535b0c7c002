"""Arrays and .npz files as a data source: their checks and their splits."""

import contextlib
import math
import zipfile

import keras
import numpy as np

from recipekit._limits import memory_budget
from recipekit.data import _archive


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


def check_npz_sizes(path, split):
    """Refuses an .npz whose arrays of `split` declare more bytes than the
    memory budget, from their headers, before any array is read (a 30 MB file
    can declare a 6 GiB array)."""
    budget = memory_budget()
    suffix = "" if split is None else f"_{split}"
    wanted = {f"x{suffix}.npy", f"y{suffix}.npy", "class_names.npy"}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename not in wanted:
                continue
            with archive.open(info) as member:
                try:
                    version = np.lib.format.read_magic(member)
                    if version == (1, 0):
                        header = np.lib.format.read_array_header_1_0(member)
                    else:
                        header = np.lib.format.read_array_header_2_0(member)
                except ValueError:
                    continue  # not an array header: np.load reports it
                shape, _, dtype = header
            size = math.prod(shape) * dtype.itemsize
            if size > budget:
                raise ValueError(
                    f"{path!r}: its array {info.filename[:-4]!r} declares shape "
                    f"{shape} ({dtype}), {size / 2**30:.2f} GiB, more than the "
                    f"memory budget ({budget / 2**30:.2f} GiB, "
                    "RECIPEKIT_MEMORY_BUDGET). Use a smaller file, stream the "
                    "images from a folder, or raise the budget if the memory is "
                    "really there."
                )


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
    if len(x) == 0:
        raise ValueError(
            f"The data from {where} holds no images (an empty split). Pass data "
            "with images in every split used."
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
    if class_names is None and len(y):
        missing = np.setdiff1d(np.arange(num_classes), y)
        if len(missing):
            shown = ", ".join(str(m) for m in missing[:10])
            shown += ", ..." if len(missing) > 10 else ""
            raise ValueError(
                f"Labels from {where} use {num_classes - len(missing)} of the "
                f"{num_classes} class ids 0..{num_classes - 1} (none is {shown}). "
                "Relabel them 0..K-1 (np.unique(y, return_inverse=True)), or "
                "pass `class_names` (one name per class) if some classes have "
                "no images here."
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
