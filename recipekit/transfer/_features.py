"""`extract_features()`: run a frozen backbone once over a dataset."""

import weakref

import keras
import numpy as np
import tensorflow as tf

_RUNNERS = weakref.WeakKeyDictionary()  # One compiled function per backbone.


def extract_features(backbone, dataset, batch_size=128, verbose="auto"):
    """Computes a backbone's features for every image, with a progress bar.

    Args:
        backbone: a model mapping images to feature vectors, e.g. the input
            preprocessing plus backbone of `transfer_model` (see
            `feature_extractor`).
        dataset: a `tf.data.Dataset` of `(image, label)`, unbatched or batched.
        batch_size: images per call when the dataset is unbatched.
        verbose: show a progress bar.

    Returns:
        `(features, labels)`, numpy arrays `(N, D)` and `(N,)`.

    Example:

    >>> features, labels = recipekit.transfer.extract_features(extractor, train)
    """
    if dataset.element_spec[0].shape.rank == 3:
        dataset = dataset.batch(batch_size)

    if backbone not in _RUNNERS:

        @tf.function(reduce_retracing=True)
        def run(images):
            return backbone(tf.cast(images, tf.float32), training=False)

        _RUNNERS[backbone] = run
    run = _RUNNERS[backbone]

    size = int(dataset.cardinality())
    bar = keras.utils.Progbar(
        size if size > 0 else None, verbose=1 if verbose == "auto" else verbose
    )
    features, labels = [], []
    for i, (images, y) in enumerate(dataset):
        features.append(np.asarray(run(images)))
        labels.append(np.asarray(y))
        bar.update(i + 1)
    return np.concatenate(features), np.concatenate(labels)


def feature_extractor(model):
    """The part of a `transfer_model` model from its input to the pooled features."""
    backbone_output = model.layers[-2].input  # What enters dropout + classifier.
    return keras.Model(model.input, backbone_output, name=f"{model.name}_features")
