"""`preview()`: a PNG grid of originals beside augmented views."""

import os
import textwrap

import numpy as np
import tensorflow as tf


def preview(dataset, policy, path, num_images=8, num_views=4, seed=0, class_names=None):
    """Writes a PNG grid: each row one image, then `num_views` augmented views.

    Look at what a policy does before training on it.

    Args:
        dataset: a `tf.data.Dataset` of `(image, label)` or images, unbatched
            (e.g. from `recipekit.data.load`).
        policy: a batch transform `policy(images, seed=None)`.
        path: the PNG file to write (folders are created).
        num_images: rows (images taken from the start of the dataset).
        num_views: augmented views per image.
        seed: makes the views repeat exactly.
        class_names: labels the rows when given.

    Returns:
        The path written.

    Example:

    >>> ds, names = recipekit.data.load("cifar10_sample", split="train")
    >>> recipekit.augment.preview(ds, recipekit.augment.cifar_policy(), "aug.png")
    """
    from matplotlib.figure import Figure  # No pyplot: no global backend state.

    if num_images < 1 or num_views < 1:
        raise ValueError(
            "Arguments `num_images` and `num_views` must be >= 1. Received: "
            f"num_images={num_images}, num_views={num_views}"
        )
    elements = list(dataset.take(num_images))
    if not elements:
        raise ValueError("preview() got an empty dataset.")
    if isinstance(elements[0], tuple):
        images = tf.stack([e[0] for e in elements])
        labels = [int(e[1]) for e in elements]
    else:
        images, labels = tf.stack(elements), None
    views = [
        policy(images, seed=tf.constant([seed, v], tf.int64)) for v in range(num_views)
    ]

    def show(axis, image):
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = np.clip(image, 0.0, 1.0)
        axis.imshow(image, interpolation="nearest")
        axis.set_xticks([])
        axis.set_yticks([])

    figure = Figure(figsize=(1.4 * (num_views + 1), 1.4 * len(elements)))
    axes = figure.subplots(len(elements), num_views + 1, squeeze=False)
    for row in range(len(elements)):
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
