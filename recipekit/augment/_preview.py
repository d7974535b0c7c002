"""`preview()`: a PNG grid of originals beside augmented views."""

import os
import textwrap

import numpy as np

from recipekit._keras_utils import is_tf_dataset


def preview(dataset, policy, path, num_images=8, num_views=4, seed=0, class_names=None):
    """Writes a PNG grid: each row one image, then `num_views` augmented views.

    Look at what a policy does before training on it.

    Args:
        dataset: a `tf.data.Dataset` of `(image, label)` or images, unbatched
            (e.g. from `recipekit.data.load`), or arrays: images `(N, H, W, C)`
            or `(images, labels)`.
        policy: a batch transform `policy(images, seed=None)`.
        path: the PNG file to write (folders are created).
        num_images: rows (images taken from the start of the dataset).
        num_views: augmented views per image.
        seed: makes the views repeat exactly.
        class_names: labels the rows when given.

    Returns:
        The path written.

    Examples:

    >>> ds, names = recipekit.data.load("cifar10_sample", split="train")
    >>> recipekit.augment.preview(ds, recipekit.augment.cifar_policy(), "aug.png")
    """
    from matplotlib.figure import Figure  # No pyplot: no global backend state.

    if num_images < 1 or num_views < 1:
        raise ValueError(
            "Arguments `num_images` and `num_views` must be >= 1. Received: "
            f"num_images={num_images}, num_views={num_views}"
        )
    images, labels = _first(dataset, num_images)
    if not len(images):
        raise ValueError("preview() got an empty dataset.")
    views = [
        np.asarray(policy(images, seed=np.array([seed, v], np.int32)))
        for v in range(num_views)
    ]
    low, high = getattr(policy, "value_range", (0, 255))

    def show(axis, image):
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.clip((image - low) / (high - low), 0.0, 1.0)
        axis.imshow(image, interpolation="nearest")
        axis.set_xticks([])
        axis.set_yticks([])

    figure = Figure(figsize=(1.4 * (num_views + 1), 1.4 * len(images)))
    axes = figure.subplots(len(images), num_views + 1, squeeze=False)
    for row in range(len(images)):
        show(axes[row, 0], images[row])
        for v in range(num_views):
            show(axes[row, v + 1], views[v][row])
        if labels is not None:
            name = class_names[labels[row]] if class_names else str(labels[row])
            axes[row, 0].set_ylabel(name, fontsize=8)
    axes[0, 0].set_title("original", fontsize=9)
    for v in range(num_views):
        axes[0, v + 1].set_title(f"view {v + 1}", fontsize=9)
    width_chars = int(14 * (num_views + 1))
    figure.suptitle(textwrap.fill(repr(policy), width_chars), fontsize=8)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def _first(dataset, count):
    """The first `count` images as a NumPy batch, and their labels (or None)."""
    if is_tf_dataset(dataset):
        elements = list(dataset.take(count).as_numpy_iterator())
        if elements and isinstance(elements[0], tuple):
            images = np.stack([e[0] for e in elements])
            return images, [int(e[1]) for e in elements]
        return np.stack(elements) if elements else np.zeros((0,)), None
    if isinstance(dataset, tuple):
        images, labels = dataset
        return np.asarray(images[:count]), [int(v) for v in labels[:count]]
    return np.asarray(dataset[:count]), None
