"""`ImagePreprocessing`: a backbone's own input preprocessing, as a layer."""

import keras
from keras import ops

MODES = ("tf", "torch", "caffe", "none")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="recipekit")
class ImagePreprocessing(keras.layers.Layer):
    """Maps RGB pixel values (0-255) to what a `keras.applications` backbone expects.

    The three conventions of `keras.applications.*.preprocess_input`: `"tf"`
    scales to [-1, 1] (MobileNetV2, ResNetV2, ...); `"torch"` scales to [0, 1]
    and standardises with the ImageNet mean and std (DenseNet); `"caffe"`
    reorders RGB to BGR and subtracts the ImageNet BGR mean (ResNet50, VGG);
    `"none"` passes pixels through (EfficientNet, MobileNetV3, ConvNeXt carry
    their own). Those functions are plain Python, so a model that called them
    would need a `Lambda` layer and would not load with `safe_mode=True`; this
    layer serializes.

    Args:
        mode: `"tf"`, `"torch"`, `"caffe"` or `"none"`.

    Call arguments:
        inputs: `(..., 3)` RGB pixel values in 0-255.

    Examples:

    >>> x = ImagePreprocessing("tf")(keras.ops.full((1, 2, 2, 3), 255.0))  # all 1.0
    """

    def __init__(self, mode="tf", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(
                f"Argument `mode` must be one of {MODES}. Received: {mode!r}"
            )
        self.mode = mode

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_IMAGENET_MEAN, self.compute_dtype)
            std = ops.convert_to_tensor(_IMAGENET_STD, self.compute_dtype)
            return (x / 255.0 - mean) / std
        if self.mode == "caffe":
            mean = ops.convert_to_tensor(_CAFFE_MEAN_BGR, self.compute_dtype)
            return ops.flip(x, axis=-1) - mean
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
