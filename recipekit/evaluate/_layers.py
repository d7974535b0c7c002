"""TTA as two layers: the views of a batch, and the average of their outputs."""

import keras
from keras import ops

from recipekit.evaluate._modes import AVERAGES, VIEWS, check_modes
from recipekit.evaluate._views import _mirror, flip_translate_views, ten_crop


@keras.saving.register_keras_serializable(package="recipekit")
class TTAViews(keras.layers.Layer):
    """All test-time views of a batch, stacked along the batch axis.

    `(B, H, W, C)` in, `(V * B, h, w, C)` out, view after view: 1 for
    `"none"`, 2 for `"flip"`, 6 for `"flip_translate"`, 10 for `"ten_crop"`
    (from the image padded by `pad`). The first half of `tta_model`.

    Args:
        mode: `"none"`, `"flip"`, `"flip_translate"` or `"ten_crop"`.
        crop_size: `(h, w)` of the ten crops.
        pad: pixels of padding before ten-cropping.
        pad_mode: `"reflect"`, `"symmetric"` or `"constant"`.

    Examples:

    >>> layer = TTAViews("flip")
    >>> tuple(layer(np.zeros((3, 8, 8, 3), "float32")).shape)
    (6, 8, 8, 3)
    """

    def __init__(self, mode, crop_size=None, pad=0, pad_mode="reflect", **kwargs):
        super().__init__(**kwargs)
        check_modes(mode, "mode")
        self.mode = mode
        self.crop_size = None if crop_size is None else tuple(crop_size)
        self.pad = pad
        self.pad_mode = pad_mode

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "none":
            return images
        if self.mode == "flip":
            stacked = ops.stack([images, _mirror(images)])
        elif self.mode == "flip_translate":
            stacked = flip_translate_views(images)
        else:
            if self.pad:
                p = self.pad
                paddings = [[0, 0], [p, p], [p, p], [0, 0]]
                images = ops.pad(images, paddings, mode=self.pad_mode)
            stacked = ten_crop(images, self.crop_size)
        shape = ops.shape(stacked)
        return ops.reshape(stacked, (-1, *shape[2:]))

    def compute_output_shape(self, input_shape):
        views = VIEWS[self.mode]
        batch = None if input_shape[0] is None else views * input_shape[0]
        if self.mode == "ten_crop":
            return (batch, *self.crop_size, input_shape[-1])
        return (batch, *input_shape[1:])

    def get_config(self):
        return {
            **super().get_config(),
            "mode": self.mode,
            "crop_size": self.crop_size,
            "pad": self.pad,
            "pad_mode": self.pad_mode,
        }


@keras.saving.register_keras_serializable(package="recipekit")
class ViewAverage(keras.layers.Layer):
    """Averages `(V * B, K)` per-view outputs into `(B, K)` probabilities.

    The second half of `tta_model`. `softmax=True` says the inputs are logits.
    `average="probabilities"` averages the views' probabilities;
    `average="logits"` averages their logits (for softmax inputs, their log
    probabilities, which differ from the logits by a constant per view) and
    returns the softmax of that average, as airbench94 does.

    Args:
        views: the number of views V.
        weights: optional V weights summing to 1 (default: equal).
        softmax: the inputs are logits (else probabilities).
        average: `"probabilities"` or `"logits"`.

    Examples:

    >>> tuple(ViewAverage(2)(np.ones((6, 4), "float32")).shape)
    (3, 4)
    """

    def __init__(
        self, views, weights=None, softmax=False, average="probabilities", **kwargs
    ):
        super().__init__(**kwargs)
        if average not in AVERAGES:
            raise ValueError(
                f"Argument `average` must be one of {AVERAGES}. Received: "
                f"average={average!r}"
            )
        self.average = average
        self.views = int(views)
        self.weights_ = None if weights is None else [float(w) for w in weights]
        if self.weights_ is not None and len(self.weights_) != self.views:
            raise ValueError(
                f"Argument `weights` must have {self.views} entries. Received: "
                f"{weights!r}"
            )
        self.softmax = bool(softmax)

    def call(self, outputs):
        outputs = ops.cast(outputs, "float32")
        logits = self.average == "logits"
        if self.softmax and not logits:
            outputs = ops.softmax(outputs, axis=-1)
        elif logits and not self.softmax:
            outputs = ops.log(ops.maximum(outputs, 1e-30))
        per_view = ops.reshape(outputs, (self.views, -1, ops.shape(outputs)[-1]))
        if self.weights_ is None:
            mean = ops.mean(per_view, axis=0)
        else:
            weights = ops.convert_to_tensor(self.weights_, "float32")
            mean = ops.tensordot(weights, per_view, axes=1)
        return ops.softmax(mean, axis=-1) if logits else mean

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.views
        return (batch, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "views": self.views,
            "weights": self.weights_,
            "softmax": self.softmax,
            "average": self.average,
        }
