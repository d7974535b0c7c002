"""`extract_features()`: run a frozen backbone once over a dataset."""

import keras
import numpy as np

from recipekit._checks import is_integer
from recipekit._keras_utils import is_tf_dataset


def extract_features(backbone, data, batch_size=128, verbose="auto"):
    """Computes a backbone's features for every image, with a progress bar.

    Runs on every backend: each batch goes through `backbone.predict_on_batch`
    (compiled once by Keras).

    Args:
        backbone: a model mapping images to feature vectors, e.g. the input
            preprocessing plus backbone of `transfer_model` (see
            `feature_extractor`).
        data: arrays `(images, labels)`, or a `tf.data.Dataset` of
            `(image, label)`, unbatched or batched.
        batch_size: images per call, for arrays and unbatched datasets.
        verbose: show a progress bar.

    Returns:
        `(features, labels)`, numpy arrays `(N, D)` and `(N,)`.

    Examples:

    >>> net = keras.Sequential([keras.Input((8, 8, 3)),
    ...                         keras.layers.GlobalAveragePooling2D()])
    >>> x, y = np.ones((5, 8, 8, 3), "uint8"), np.arange(5)
    >>> features, labels = recipekit.transfer.extract_features(net, (x, y),
    ...                                                        verbose=0)
    >>> features.shape
    (5, 3)
    """
    if not is_integer(batch_size) or batch_size < 1:
        raise ValueError(
            "Argument `batch_size` must be a positive integer. Received: "
            f"batch_size={batch_size!r}"
        )
    batches, count = _batches(data, batch_size)
    bar = keras.utils.Progbar(count, verbose=1 if verbose == "auto" else verbose)
    features, labels = [], []
    for i, (images, y) in enumerate(batches):
        out = backbone.predict_on_batch(np.asarray(images, np.float32))
        features.append(keras.ops.convert_to_numpy(out))
        labels.append(np.asarray(y))
        bar.update(i + 1)
    if not features:
        raise ValueError("extract_features() got no images.")
    return np.concatenate(features), np.concatenate(labels)


def _batches(data, batch_size):
    """NumPy `(images, labels)` batches and their count (None if unknown)."""
    if is_tf_dataset(data):
        if data.element_spec[0].shape.rank == 3:
            data = data.batch(batch_size)
        size = int(data.cardinality())
        return data.as_numpy_iterator(), (size if size > 0 else None)
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ValueError(
            "Argument `data` must be `(images, labels)` arrays or a "
            f"tf.data.Dataset of (image, label). Received: {type(data).__name__}"
        )
    images, labels = data
    if len(images) != len(labels):
        raise ValueError(f"`data` holds {len(images)} images but {len(labels)} labels.")
    starts = range(0, len(images), batch_size)
    batches = ((images[i : i + batch_size], labels[i : i + batch_size]) for i in starts)
    return batches, len(starts)


def feature_extractor(model):
    """The part of a `transfer_model` model from its input to the pooled features."""
    backbone_output = model.layers[-2].input  # What enters dropout + classifier.
    return keras.Model(model.input, backbone_output, name=f"{model.name}_features")
