"""The parameter-free "option A" shortcut of the CIFAR ResNets."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recipekit")
class ZeroPadShortcut(keras.layers.Layer):
    """Identity shortcut that subsamples and zero-pads channels (He et al., 2016, A).

    Where a ResNet stage halves the resolution and widens the features, option A
    keeps every shortcut parameter-free: it takes every `strides`-th pixel and
    appends zero channels up to `filters`. Keras has no such layer, and a
    `Lambda` would not load with `safe_mode=True`.

    Args:
        filters: output channels, >= the input channels.
        strides: spatial subsampling factor, a positive int.

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        `(batch, ceil(height / strides), ceil(width / strides), filters)`.

    Examples:

    >>> ZeroPadShortcut(32, strides=2)(keras.ops.ones((1, 8, 8, 16))).shape
    (1, 4, 4, 32)
    """

    def __init__(self, filters, strides=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(
                "Argument `filters` must be a positive integer. Received: "
                f"filters={filters!r}"
            )
        if not isinstance(strides, int) or strides < 1:
            raise ValueError(
                "Argument `strides` must be a positive integer. Received: "
                f"strides={strides!r}"
            )
        self.filters = filters
        self.strides = strides

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "ZeroPadShortcut expects inputs of rank 4 (batch, height, width, "
                f"channels). Received shape {input_shape}"
            )
        if input_shape[-1] is not None and input_shape[-1] > self.filters:
            raise ValueError(
                f"ZeroPadShortcut cannot shrink {input_shape[-1]} channels to "
                f"filters={self.filters}."
            )

    def call(self, inputs):
        x = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.filters - inputs.shape[-1]
        if extra:
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])
        return x

    def compute_output_shape(self, input_shape):
        def down(size):
            return None if size is None else -(-size // self.strides)

        return (
            input_shape[0],
            down(input_shape[1]),
            down(input_shape[2]),
            self.filters,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "strides": self.strides,
        }
