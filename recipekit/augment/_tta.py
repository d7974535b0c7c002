"""Test-time augmentation: flip, translate and 10-crop averaging of softmax outputs."""

import weakref

import keras
import numpy as np
import tensorflow as tf

from recipekit.augment._checks import check_images
from recipekit.models._outputs import ends_in_softmax

MODES = ("none", "flip", "flip_translate", "ten_crop")
_VIEWS = {"none": 1, "flip": 2, "flip_translate": 6, "ten_crop": 10}
# flip_translate (airbench): half the weight on the image and its mirror, half
# on both of them shifted one pixel up-left and one pixel down-right.
_WEIGHTS = {"flip_translate": (0.25, 0.25, 0.125, 0.125, 0.125, 0.125)}
# Compiled TTA steps per model, so repeated calls do not trace again.
_STEPS = weakref.WeakKeyDictionary()


def ten_crop(images, crop_size):
    """The ten crops of AlexNet and torchvision: corners, center, and mirrored.

    Order: top-left, top-right, bottom-left, bottom-right, center of each image,
    then the same five crops of its mirror image. The center crop's offset is
    `round((H - h) / 2)`, `round((W - w) / 2)`.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float, with static H and W.
        crop_size: `(h, w)`, at most `(H, W)`.

    Returns:
        A tensor `(10, B, h, w, C)`, same dtype.

    Example:

    >>> crops = recipekit.augment.ten_crop(tf.zeros([4, 40, 40, 3]), (32, 32))
    >>> crops.shape
    TensorShape([10, 4, 32, 32, 3])
    """
    images = check_images(images)
    height, width = images.shape[1], images.shape[2]
    h, w = _check_crop(crop_size, (height, width))
    top, left = int(round((height - h) / 2.0)), int(round((width - w) / 2.0))
    corners = [(0, 0), (0, width - w), (height - h, 0), (height - h, width - w)]
    corners.append((top, left))
    mirrored = tf.reverse(images, axis=[2])
    crops = [
        source[:, t : t + h, x : x + w, :]
        for source in (images, mirrored)
        for t, x in corners
    ]
    return tf.stack(crops)


def flip_translate_views(images, shift=1):
    """The image, its mirror, and both shifted by `shift` pixels each way.

    Returns `(6, B, H, W, C)`: the image, its mirror, the image and its mirror
    shifted up-left, then both shifted down-right, with reflect padding (the
    test-time views of airbench94, Jordan 2024).

    Example:

    >>> flip_translate_views(tf.zeros([4, 32, 32, 3])).shape
    TensorShape([6, 4, 32, 32, 3])
    """
    images = check_images(images)
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    padded = tf.pad(
        images, [[0, 0], [shift, shift], [shift, shift], [0, 0]], mode="REFLECT"
    )
    up_left = padded[:, :height, :width]
    end = 2 * shift
    down_right = padded[:, end : end + height, end : end + width]
    views = [images, up_left, down_right]
    return tf.stack([v for view in views for v in (view, tf.reverse(view, axis=[2]))])


def _check_crop(crop_size, image_size):
    if (
        not isinstance(crop_size, tuple | list)
        or len(crop_size) != 2
        or not all(isinstance(v, int | np.integer) and v > 0 for v in crop_size)
    ):
        raise ValueError(
            "Argument `crop_size` must be (height, width) with positive integers. "
            f"Received: crop_size={crop_size!r}"
        )
    if None in image_size:
        raise ValueError("ten_crop() needs images with a static height and width.")
    if crop_size[0] > image_size[0] or crop_size[1] > image_size[1]:
        raise ValueError(
            f"Argument `crop_size`={tuple(crop_size)} is larger than the images "
            f"({image_size[0]}x{image_size[1]}). Pass a smaller crop, or `pad` "
            "to crop from padded images."
        )
    return int(crop_size[0]), int(crop_size[1])


def _model_size(model):
    shape = model.input_shape
    if isinstance(shape, list):
        raise ValueError("predict_tta() needs a model with a single image input.")
    return tuple(shape[1:3])


def _view_fn(mode, image_size, model_size, crop_size, pad, pad_mode):
    """Returns `views(images) -> (V, B, h, w, C)` and checks the sizes."""
    if mode not in MODES:
        raise ValueError(f"Argument `mode` must be one of {MODES}. Received: {mode!r}")
    if not isinstance(pad, int) or pad < 0:
        raise ValueError(f"Argument `pad` must be an integer >= 0. Received: {pad!r}")
    if mode == "ten_crop":
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

        def views(images):
            if pad:
                paddings = [[0, 0], [pad, pad], [pad, pad], [0, 0]]
                images = tf.pad(images, paddings, mode=pad_mode.upper())
            return ten_crop(images, crop)

        return views
    if None not in model_size and tuple(image_size) != model_size:
        raise ValueError(
            f"The model takes {model_size[0]}x{model_size[1]} images but the data "
            f"has {image_size[0]}x{image_size[1]} images, and mode={mode!r} does "
            "not crop. Use mode='ten_crop' with a matching `crop_size`, or resize "
            "the data (load(..., image_size=...))."
        )
    if mode == "flip":
        return lambda images: tf.stack([images, tf.reverse(images, axis=[2])])
    if mode == "flip_translate":
        return flip_translate_views
    return lambda images: images[None]


def _image_batches(data, batch_size):
    """A dataset of image batches from arrays or a (possibly batched) dataset."""
    if not isinstance(data, tf.data.Dataset):
        data = tf.data.Dataset.from_tensor_slices(np.asarray(data))
    spec = data.element_spec
    if isinstance(spec, tuple):
        data = data.map(lambda image, *rest: image)
        spec = spec[0]
    if spec.shape.rank == 4:
        data = data.rebatch(batch_size) if batch_size else data
    elif spec.shape.rank == 3:
        data = data.batch(batch_size)
    else:
        raise ValueError(
            "predict_tta() needs images of shape (H, W, C) or batches (B, H, W, C). "
            f"Received element shape {spec.shape}"
        )
    return data.prefetch(tf.data.AUTOTUNE)


def _make_step(model, views, spec, weights=None):
    """A compiled step: all views of a batch through the model, averaged."""
    probabilities = ends_in_softmax(model)
    signature = [tf.TensorSpec([None, *spec.shape[1:]], spec.dtype)]

    @tf.function(input_signature=signature)
    def step(images):
        stacked = views(images)
        num_views, batch = tf.shape(stacked)[0], tf.shape(stacked)[1]
        flat = tf.reshape(stacked, tf.concat([[-1], tf.shape(stacked)[2:]], 0))
        outputs = tf.cast(model(tf.cast(flat, tf.float32), training=False), tf.float32)
        if not probabilities:
            outputs = tf.nn.softmax(outputs, axis=-1)
        outputs = tf.reshape(outputs, [num_views, batch, -1])
        if weights is None:
            return tf.reduce_mean(outputs, axis=0)
        return tf.tensordot(tf.constant(weights, tf.float32), outputs, axes=1)

    return step


def predict_tta(
    model,
    data,
    mode="flip",
    crop_size=None,
    pad=0,
    batch_size=256,
    pad_mode="reflect",
    verbose="auto",
):
    """Predicts class probabilities averaged over test-time augmented views.

    `"none"` is one view; `"flip"` averages an image and its mirror;
    `"flip_translate"` weights those two by 1/4 each and the four
    one-pixel-shifted views of `flip_translate_views` by 1/8 each; `"ten_crop"`
    averages the ten crops of `ten_crop` (AlexNet). For CIFAR-size models trained
    with pad-and-crop, `pad=4` takes the ten crops from the image padded like in
    training, so each crop has the model's input size. All views of a chunk of
    images run through the model as one batch of about `batch_size` images, not
    one `predict` call per view.

    Models ending in a softmax are averaged as they are. Any other model is
    taken to output logits: its outputs go through a softmax first, so the
    average is always over probabilities.

    Args:
        model: a Keras image classifier with one input `(H, W, C)`.
        data: images `(N, H, W, C)` (array or tensor) or a `tf.data.Dataset` of
            images or `(image, label)`, batched or not. uint8 images are cast to
            float32 unscaled (recipekit models normalise inside).
        mode: `"none"`, `"flip"`, `"flip_translate"` or `"ten_crop"`.
        crop_size: `(h, w)` of the ten crops; default the model's input size.
        pad: pixels of padding around each image before ten-cropping.
        batch_size: images per model call (views included).
        pad_mode: `"reflect"`, `"symmetric"` or `"constant"`.
        verbose: show a progress bar (`"auto"`, 0 or 1).

    Returns:
        A numpy array `(N, classes)` of averaged probabilities.

    Example:

    >>> probs = recipekit.augment.predict_tta(model, x_test, mode="flip")
    >>> accuracy = (probs.argmax(1) == y_test).mean()
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            "Argument `batch_size` must be a positive integer. Received: "
            f"batch_size={batch_size!r}"
        )
    if mode not in MODES:
        raise ValueError(f"Argument `mode` must be one of {MODES}. Received: {mode!r}")
    chunk = max(1, batch_size // _VIEWS[mode])
    batches = _image_batches(data, chunk)
    image_size = tuple(batches.element_spec.shape[1:3])
    views = _view_fn(mode, image_size, _model_size(model), crop_size, pad, pad_mode)

    spec = batches.element_spec
    key = (
        mode,
        tuple(crop_size or ()),
        pad,
        pad_mode,
        tuple(spec.shape[1:]),
        spec.dtype,
    )
    steps = _STEPS.setdefault(model, {})
    if key not in steps:
        steps[key] = _make_step(model, views, spec, _WEIGHTS.get(mode))
    step = steps[key]

    cardinality = int(batches.cardinality())
    bar = keras.utils.Progbar(
        cardinality if cardinality > 0 else None,
        verbose=1 if verbose == "auto" else verbose,
        unit_name="batch",
    )
    results = []
    for i, images in enumerate(batches):
        results.append(step(images).numpy())
        bar.update(i + 1)
    if not results:
        raise ValueError("predict_tta() got no images.")
    return np.concatenate(results)


def evaluate_tta(
    model,
    dataset,
    modes=("none", "flip", "ten_crop"),
    crop_size=None,
    pad=0,
    batch_size=256,
    verbose="auto",
):
    """Top-1 accuracy of a classifier under each test-time augmentation mode.

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

    Returns:
        A dict `{mode: accuracy}`.

    Example:

    >>> recipekit.augment.evaluate_tta(model, test, pad=4)
    {'none': 0.912, 'flip': 0.918, 'ten_crop': 0.921}
    """
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise ValueError(
            f"Argument `modes` must name some of {MODES}. Received: modes={modes!r}"
        )
    if isinstance(dataset, tuple):
        images, labels = dataset
        labels = np.asarray(labels).reshape(-1)
    else:
        if not isinstance(dataset.element_spec, tuple):
            raise ValueError("evaluate_tta() needs a dataset of (image, label) pairs.")
        images = dataset
        labels = np.concatenate(
            [np.asarray(y).reshape(-1) for y in dataset.map(lambda x, y: y)]
        )
    results = {}
    for mode in modes:
        probs = predict_tta(
            model, images, mode, crop_size, pad, batch_size, verbose=verbose
        )
        results[mode] = float(np.mean(probs.argmax(axis=1) == labels))
    return results
