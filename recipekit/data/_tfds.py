"""TFDS names as a data source (downloaded on first use by tensorflow-datasets)."""

from recipekit._tensorflow import tensorflow

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
