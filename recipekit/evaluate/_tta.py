"""Test-time augmentation (flip, flip + translate, 10-crop) on any Keras backend."""

import contextlib
import itertools
import logging
import sys
import warnings

import keras
import numpy as np

from recipekit._checks import is_integer
from recipekit._keras_utils import ends_in_softmax
from recipekit.evaluate._layers import TTAViews, ViewAverage
from recipekit.evaluate._modes import (
    AVERAGES,
    NESTED,
    PAD_MODES,
    VIEWS,
    WEIGHTS,
    check_modes,
)
from recipekit.evaluate._views import _check_crop


def _model_size(model):
    shape = model.input_shape
    if isinstance(shape, list):
        raise ValueError("predict_tta() needs a model with a single image input.")
    return tuple(shape[1:3])


def _check_views(mode, image_size, model_size, crop_size, pad, pad_mode):
    """Validates one TTA mode for these sizes; returns the ten-crop size."""
    check_modes(mode, "mode")
    if not is_integer(pad) or pad < 0:
        raise ValueError(f"Argument `pad` must be an integer >= 0. Received: {pad!r}")
    if pad_mode not in PAD_MODES:
        raise ValueError(
            f"Argument `pad_mode` must be one of {PAD_MODES}. Received: "
            f"pad_mode={pad_mode!r}"
        )
    if mode == "flip_translate" and None not in image_size and min(image_size) < 2:
        raise ValueError(
            "flip_translate shifts by 1 pixel with reflect padding, which needs "
            f"images of at least 2x2; these are {image_size[0]}x{image_size[1]}. "
            "Use the 'flip' mode for images this small."
        )
    if mode == "ten_crop":
        if pad and pad_mode == "reflect" and pad >= min(image_size):
            raise ValueError(
                f"Argument `pad`={pad} is too large for reflect padding of "
                f"{image_size[0]}x{image_size[1]} images: it must be smaller than "
                "both sides (or use pad_mode='constant')."
            )
        padded = (image_size[0] + 2 * pad, image_size[1] + 2 * pad)
        crop = tuple(crop_size) if crop_size is not None else model_size
        if None in crop:
            raise ValueError(
                "The model takes any image size; pass `crop_size` for ten_crop."
            )
        _check_crop(crop, padded)
        if None not in model_size and tuple(crop) != model_size:
            raise ValueError(
                f"The model takes {model_size[0]}x{model_size[1]} images, but the "
                f"ten crops would be {crop[0]}x{crop[1]}. Pass a matching "
                "`crop_size`."
            )
        if tuple(crop) == padded:
            raise ValueError(
                f"ten_crop with {crop[0]}x{crop[1]} crops of {padded[0]}x"
                f"{padded[1]} images gives ten copies of two views. Pass `pad` "
                "(e.g. pad=4 for CIFAR) or a smaller `crop_size`."
            )
        return tuple(int(c) for c in crop)
    if None not in model_size and tuple(image_size) != model_size:
        raise ValueError(
            f"The model takes {model_size[0]}x{model_size[1]} images but the data "
            f"has {image_size[0]}x{image_size[1]} images, and mode={mode!r} does "
            "not crop. Use mode='ten_crop' with a matching `crop_size`, or resize "
            "the data (load(..., image_size=...))."
        )
    return None


def tta_model(model, mode="flip", image_shape=None, crop_size=None, pad=0,
              pad_mode="reflect", average="probabilities"):  # fmt: skip
    """One Keras model that predicts probabilities averaged over TTA views.

    Images in, averaged class probabilities out: `TTAViews`, the model on all
    views of a batch at once, then `ViewAverage`. It runs on every backend,
    compiles like any model, and `predict`/`evaluate` it directly (add
    `sparse_categorical_accuracy` as a metric to score it in one pass).

    Args:
        model: a Keras image classifier with one input (softmax or logits).
        mode: `"none"`, `"flip"`, `"flip_translate"` or `"ten_crop"`.
        image_shape: `(H, W, C)` of the images; default the model's input.
        crop_size: `(h, w)` of the ten crops; default the model's input size.
        pad: pixels of padding around each image before ten-cropping.
        pad_mode: `"reflect"`, `"symmetric"` or `"constant"`.
        average: average the views' `"probabilities"` or their `"logits"`
            (see `ViewAverage`).

    Returns:
        A functional `keras.Model`.

    Examples:

    >>> tta = recipekit.evaluate.tta_model(model, "flip_translate")
    >>> probabilities = tta.predict(x_test, batch_size=256)
    """
    model_size = _model_size(model)
    if image_shape is None:
        image_shape = model.input_shape[1:]
    image_shape = tuple(image_shape)
    crop = _check_views(mode, image_shape[:2], model_size, crop_size, pad, pad_mode)
    inputs = keras.Input(image_shape, name="images")
    views = TTAViews(mode, crop, pad, pad_mode, name="tta_views")(inputs)
    outputs = ViewAverage(
        VIEWS[mode],
        WEIGHTS.get(mode),
        softmax=not ends_in_softmax(model),
        average=average,
        name="view_average",
    )(model(views))
    return keras.Model(inputs, outputs, name=f"{model.name}_tta_{mode}")


def _split_images(data):
    """`(images, image shape, is_array)` from arrays or a tf.data.Dataset."""
    from recipekit._keras_utils import is_tf_dataset

    if is_tf_dataset(data):
        spec = data.element_spec
        if isinstance(spec, tuple):
            data = data.map(lambda image, *rest: image)
            spec = spec[0]
        if spec.shape.rank == 3:
            return data, tuple(spec.shape), False
        if spec.shape.rank == 4:
            return data.unbatch(), tuple(spec.shape[1:]), False
        raise ValueError(
            "predict_tta() needs images of shape (H, W, C) or batches (B, H, W, C). "
            f"Received element shape {spec.shape}"
        )
    images = np.asarray(data)
    if images.ndim != 4:
        raise ValueError(
            "predict_tta() needs images of shape (N, H, W, C). Received shape "
            f"{images.shape}"
        )
    return images, images.shape[1:], True


def predict_tta(
    model,
    data,
    mode="flip",
    crop_size=None,
    pad=0,
    batch_size=256,
    pad_mode="reflect",
    verbose="auto",
    average="probabilities",
):
    """Predicts class probabilities averaged over test-time augmented views.

    `"none"` is one view; `"flip"` averages an image and its mirror;
    `"flip_translate"` weights those two by 1/4 each and the four
    one-pixel-shifted views of `flip_translate_views` by 1/8 each; `"ten_crop"`
    averages the ten crops of `ten_crop` (AlexNet). For CIFAR-size models trained
    with pad-and-crop, `pad=4` takes the ten crops from the image padded like in
    training, so each crop has the model's input size. All views of a chunk of
    images run through the model as one batch of about `batch_size` images, not
    one `predict` call per view (`tta_model` builds that model).

    Models ending in a softmax are averaged as they are. Any other model is
    taken to output logits: its outputs go through a softmax first, so the
    average is over probabilities. With `average="logits"` the views' logits
    (log probabilities for softmax models) are averaged instead, and the
    softmax of the average is returned (airbench94's TTA).

    Args:
        model: a Keras image classifier with one input `(H, W, C)`.
        data: images `(N, H, W, C)` (an array) or a `tf.data.Dataset` of
            images or `(image, label)`, batched or not. uint8 images are cast to
            float unscaled (recipekit models normalise inside).
        mode: `"none"`, `"flip"`, `"flip_translate"` or `"ten_crop"`.
        crop_size: `(h, w)` of the ten crops; default the model's input size.
        pad: pixels of padding around each image before ten-cropping.
        batch_size: images per model call (views included).
        pad_mode: `"reflect"`, `"symmetric"` or `"constant"`.
        verbose: show a progress bar: 0, 1, or `"auto"` (1 on a terminal, 0
            where the output goes to a file or a pipe).
        average: `"probabilities"` (default) or `"logits"`.

    Returns:
        A numpy array `(N, classes)` of averaged probabilities.

    Examples:

    >>> probs = recipekit.evaluate.predict_tta(model, x_test, mode="flip")
    >>> accuracy = (probs.argmax(1) == y_test).mean()
    """
    if not is_integer(batch_size):
        raise ValueError(
            "Argument `batch_size` must be a positive integer. Received: "
            f"batch_size={batch_size!r}"
        )
    if batch_size < 1:
        raise ValueError(
            "Argument `batch_size` must be a positive integer. Received: "
            f"batch_size={batch_size!r}"
        )
    images, shape, is_array = _split_images(data)
    tta = tta_model(model, mode, shape, crop_size, pad, pad_mode, average)
    return _predict(tta, images, max(1, batch_size // VIEWS[mode]), is_array, verbose)


def evaluate_tta(
    model,
    dataset,
    modes=("none", "flip", "ten_crop"),
    crop_size=None,
    pad=0,
    batch_size=256,
    verbose="auto",
    average="probabilities",
):
    """Top-1 accuracy of a classifier under each test-time augmentation mode.

    The views of `"none"`, `"flip"` and `"flip_translate"` nest (each mode's
    views begin with the previous mode's), so those modes share one pass over
    the widest one's views: `("none", "flip", "flip_translate")` costs 6
    views per image, not 9, and both averages come from the same outputs.

    Args:
        model: a Keras image classifier (softmax or logits outputs).
        dataset: a `tf.data.Dataset` of `(image, label)`, batched or not, or a
            tuple `(images, labels)` of arrays.
        modes: any of `"none"`, `"flip"`, `"flip_translate"`, `"ten_crop"`.
        crop_size: `(h, w)` of the ten crops; default the model's input size.
        pad: padding before ten-cropping (4 for CIFAR models trained with
            pad-and-crop).
        batch_size: images per model call.
        verbose: show progress bars.
        average: average the views' `"probabilities"` or `"logits"`; or a
            tuple of both, to score both from the same predictions.

    Returns:
        A dict `{mode: accuracy}`; for a tuple `average`, one such dict per
        average, `{average: {mode: accuracy}}`.

    Examples:

    >>> recipekit.evaluate.evaluate_tta(model, test, pad=4)
    {'none': 0.912, 'flip': 0.918, 'ten_crop': 0.921}
    >>> recipekit.evaluate.evaluate_tta(model, test, ("none", "flip"),
    ...                                 average=("probabilities", "logits"))
    {'probabilities': {'none': 0.912, 'flip': 0.918}, 'logits': {...}}
    """
    modes = check_modes(modes)
    one = isinstance(average, str)
    averages = (average,) if one else tuple(average) if isinstance(
        average, tuple | list) else ()  # fmt: skip
    if not averages or any(a not in AVERAGES for a in averages):
        raise ValueError(
            f"Argument `average` must be one of {AVERAGES}, or a tuple of them. "
            f"Received: average={average!r}"
        )
    images, labels = _images_and_labels(dataset)
    outputs = model.output_shape[-1]
    if len(labels) and int(labels.max()) >= outputs:
        raise ValueError(
            f"The model predicts {outputs} classes, but the labels reach "
            f"{int(labels.max())}: the data has more classes than the model was "
            "trained for. Evaluate it on the data it was trained for."
        )
    results = {a: {} for a in averages}
    nested = [m for m in NESTED if m in modes]
    with _expected_retracing():
        if len(nested) > 1 or (nested and len(averages) > 1):
            per_view = _predict_views(
                model, images, nested[-1], pad, batch_size, verbose
            )
            softmax = not ends_in_softmax(model)
            for mode, a in itertools.product(nested, averages):
                views = np.swapaxes(per_view[:, : VIEWS[mode]], 0, 1)
                mean = ViewAverage(VIEWS[mode], WEIGHTS.get(mode), softmax, a)(
                    views.reshape(-1, per_view.shape[-1])
                )
                mean = keras.ops.convert_to_numpy(mean)
                results[a][mode] = float(np.mean(mean.argmax(axis=1) == labels))
        for mode, a in itertools.product(modes, averages):
            if mode not in results[a]:
                probs = predict_tta(
                    model, images, mode, crop_size, pad, batch_size,
                    verbose=verbose, average=a,
                )  # fmt: skip
                results[a][mode] = float(np.mean(probs.argmax(axis=1) == labels))
    results = {a: {m: results[a][m] for m in modes} for a in averages}
    return results[average] if one else results


def _images_and_labels(dataset):
    if isinstance(dataset, tuple):
        images, labels = dataset
        return images, np.asarray(labels).reshape(-1)
    spec = getattr(dataset, "element_spec", None)
    if not isinstance(spec, tuple):
        raise ValueError("evaluate_tta() needs a dataset of (image, label) pairs.")
    labels = np.concatenate(
        [np.asarray(y).reshape(-1) for y in dataset.map(lambda x, y: y)]
    )
    return dataset, labels


class _ByImage(keras.layers.Layer):
    """`(V * B, K)` view after view -> `(B, V, K)` (inside `_predict_views`)."""

    def __init__(self, views, **kwargs):
        super().__init__(**kwargs)
        self.views = views

    def call(self, outputs):
        per_view = keras.ops.reshape(outputs, (self.views, -1, outputs.shape[-1]))
        return keras.ops.transpose(per_view, (1, 0, 2))

    def compute_output_shape(self, input_shape):
        return (None, self.views, input_shape[-1])


def _predict_views(model, data, mode, pad, batch_size, verbose):
    """The model's outputs on every view of `mode`: `(N, V, K)` float32."""
    images, shape, is_array = _split_images(data)
    _check_views(mode, shape[:2], _model_size(model), None, pad, "reflect")
    inputs = keras.Input(shape, name="images")
    views = TTAViews(mode, name="tta_views")(inputs)
    per_image = _ByImage(VIEWS[mode])(keras.ops.cast(model(views), "float32"))
    chunk = max(1, batch_size // VIEWS[mode])
    return _predict(keras.Model(inputs, per_image), images, chunk, is_array, verbose)


def _predict(model, images, chunk, is_array, verbose):
    verbose = int(sys.stdout.isatty()) if verbose == "auto" else verbose
    if is_array:
        if not len(images):
            raise ValueError("predict_tta() got no images.")
        return model.predict(images, batch_size=chunk, verbose=verbose)
    return model.predict(images.batch(chunk), verbose=verbose)


class _NoRetracingNotice(logging.Filter):
    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _expected_retracing():
    """Silences TensorFlow's "N out of the last M calls ... retracing" notice.

    Each mode predicts through a model of its own, so each traces a predict
    function: that is by design, and TensorFlow's notice (which counts every
    Keras predict function as one) would only alarm. So would Keras's "Your
    input ran out of data" warning, which `predict` on a tf.data dataset of
    unknown length gives at its (expected) end. Other messages pass.
    """
    logger = logging.getLogger("tensorflow")
    notice = _NoRetracingNotice()
    logger.addFilter(notice)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            yield
    finally:
        logger.removeFilter(notice)
