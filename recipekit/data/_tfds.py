"""TFDS names as a data source (downloaded on first use by tensorflow-datasets)."""

import difflib
import os
import socket

from recipekit._tensorflow import tensorflow

_NOT_FOUND = (
    "{name!r} is neither an existing file or folder nor a known TFDS dataset{hint}. "
    "Pass a path to an image folder, archive or .npz, or a TFDS name such as "
    "'cifar10' (see tfds.list_builders())."
)
_PROBE = ("storage.googleapis.com", 443)  # where TFDS looks first


def not_found(name, builders):
    """The unknown-source message, with the closest names when there are some."""
    close = difflib.get_close_matches(name, [*builders, "cifar10_sample"], n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return _NOT_FOUND.format(name=name, hint=hint)


def online(timeout=5.0):
    """Whether TFDS can reach its servers: a proxy is trusted, else one TCP
    connection is tried (seconds, not TFDS's minutes of retries)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY")):
        return True
    try:
        socket.create_connection(_PROBE, timeout=timeout).close()
    except OSError:
        return False
    return True


def _load_tfds(name, split, image_size, data_dir):
    tf = tensorflow(f"The TFDS dataset {name!r}")
    import tensorflow_datasets as tfds

    builders = tfds.list_builders(with_community_datasets=False)
    if name.split(":")[0].split("/")[0] not in builders:
        raise ValueError(not_found(name, builders))
    if split is None:
        raise ValueError(
            f"TFDS dataset {name!r} needs a `split`, e.g. split='train' or "
            "split='test'."
        )
    try:
        prepared = tfds.builder(name, data_dir=data_dir).is_prepared()
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(not_found(name, builders)) from error
    if not prepared and not online():
        raise ValueError(
            f"TFDS dataset {name!r} is not downloaded yet and this machine cannot "
            f"reach the internet ({_PROBE[0]}). Pass a local copy instead: a "
            "folder of class folders, an archive or an .npz (a recipe's --data "
            "path/to/copy), or data_dir= where a prepared TFDS copy lives."
        )
    try:
        dataset, info = tfds.load(
            name, split=split, as_supervised=True, with_info=True, data_dir=data_dir
        )
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(not_found(name, builders)) from error
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
