"""Run a user's own albumentations pipeline inside tf.data (CPU only)."""

import numpy as np
import tensorflow as tf


def _under_tpu():
    strategy = tf.distribute.get_strategy()
    return "TPU" in type(strategy).__name__


def albumentations_map(transform, output_size=None, num_parallel_calls=None):
    """Turns an `albumentations.Compose` into a `tf.data` transformation.

    For users who bring their own albumentations pipeline: each image goes
    through `transform(image=...)["image"]` in NumPy, in parallel tf.data
    calls, with the output shape set so Keras sees static shapes; labels pass
    through untouched. This is a per-image Python path through
    `tf.numpy_function`, so it cannot run on a TPU; recipekit's batched
    policies (`cifar_policy`, `imagenet_policy`) do the same work in-graph.

    Args:
        transform: a callable taking `image=` (HxWxC uint8 numpy) and returning
            a dict with `"image"`, such as `albumentations.Compose([...])`.
        output_size: `(height, width)` of the transformed images; default: the
            input size (for transforms that keep the size).
        num_parallel_calls: parallel calls of the map; default AUTOTUNE.

    Returns:
        A function `dataset -> dataset` for `Dataset.apply`, on datasets of
        `(image, label)` or images, batched or not.

    Examples:

    >>> import albumentations as A
    >>> aug = A.Compose([A.HorizontalFlip(), A.ColorJitter()])
    >>> train = ds.apply(recipekit.augment.albumentations_map(aug)).batch(128)
    """
    if not callable(transform):
        raise TypeError(
            "Argument `transform` must be an albumentations transform (a callable "
            f"taking image=...). Received: {transform!r}"
        )
    if _under_tpu():
        raise ValueError(
            "albumentations_map() runs Python per image (tf.numpy_function) and "
            "cannot run on a TPU. Use the in-graph policies instead: "
            "recipekit.augment.cifar_policy() or imagenet_policy()."
        )
    calls = num_parallel_calls or tf.data.AUTOTUNE

    def run(images):
        if images.ndim == 3:
            return np.asarray(transform(image=images)["image"])
        return np.stack(
            [np.asarray(transform(image=image)["image"]) for image in images]
        )

    def apply(dataset):
        spec = dataset.element_spec
        image_spec = spec[0] if isinstance(spec, tuple) else spec
        shape = image_spec.shape.as_list()
        if output_size is not None:
            shape[-3:-1] = list(output_size)

        def map_images(images):
            out = tf.numpy_function(run, [images], image_spec.dtype, stateful=True)
            out.set_shape(shape)
            return out

        if isinstance(spec, tuple):
            return dataset.map(
                lambda x, *rest: (map_images(x), *rest), num_parallel_calls=calls
            )
        return dataset.map(map_images, num_parallel_calls=calls)

    return apply
