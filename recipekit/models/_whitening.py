"""A frozen 2x2 patch-whitening first layer (Page, 2018; Jordan, 2024)."""

import keras
import numpy as np
from keras import ops


def _check(patch_size, epsilon):
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(
            "Argument `patch_size` must be a positive integer. Received: "
            f"patch_size={patch_size!r}"
        )
    if not epsilon > 0:
        raise ValueError(f"Argument `epsilon` must be > 0. Received: {epsilon!r}")


def patch_whitening_kernel(images, patch_size=2, epsilon=5e-4):
    """Eigenvector filters that whiten the `patch_size` x `patch_size` patches.

    Every patch of the images is a vector of `k * k * C` values; with `S` their
    second-moment matrix and `S = V diag(l) V^T`, the filters `V / sqrt(l + eps)`
    map patches to decorrelated unit-variance features. Both signs of every
    filter are returned (`2 * k * k * C` filters), so a following ReLU/GELU
    loses nothing.

    Args:
        images: float array `(N, H, W, C)`, already normalised the way the
            model normalises them; a few thousand drawn at random are plenty
            (not the first ones of a folder stored class by class).
        patch_size: side `k` of the square patches.
        epsilon: added to the eigenvalues; bounds the gain on flat directions.

    Returns:
        A float32 kernel `(k, k, C, 2 * k * k * C)` in Keras `Conv2D` layout,
        filters sorted by decreasing eigenvalue.

    Examples:

    >>> x = np.random.default_rng(0).normal(size=(100, 32, 32, 3))
    >>> recipekit.models.patch_whitening_kernel(x).shape
    (2, 2, 3, 24)
    """
    _check(patch_size, epsilon)
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or min(images.shape[1:3]) < patch_size:
        raise ValueError(
            f"Argument `images` must be (N, H, W, C) with H, W >= {patch_size}. "
            f"Received shape {images.shape}"
        )
    k, channels = patch_size, images.shape[3]
    height, width = images.shape[1] - k + 1, images.shape[2] - k + 1
    # (N, h, w, k, k, C) windows, flattened in the kernel's (row, col, channel) order.
    patches = np.stack(
        [
            np.stack([images[:, i : i + height, j : j + width] for j in range(k)], 3)
            for i in range(k)
        ],
        3,
    ).reshape(-1, k * k * channels)
    moments = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(moments)
    order = np.argsort(eigenvalues)[::-1]
    filters = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + epsilon)
    kernel = np.concatenate([filters, -filters], axis=1)
    return kernel.reshape(k, k, channels, -1).astype(np.float32)


def _zero_gradient_anchor(variable, dtype):
    """A scalar 0 that depends on `variable`, whose gradient is always zeros."""

    @ops.custom_gradient
    def anchor(value):
        def backward(*args, upstream=None):
            return ops.zeros_like(value)

        return ops.zeros((), dtype), backward

    return anchor(variable)


@keras.saving.register_keras_serializable(package="recipekit")
class PatchWhitening(keras.layers.Layer):
    """A convolution with a frozen whitening kernel and a trainable bias.

    The first layer of the fast CIFAR networks: a `patch_size` x `patch_size`
    valid convolution whose `2 * k * k * C` filters whiten the input patches
    (`patch_whitening_kernel`). Like Keras's `Normalization`, the layer learns
    its kernel from data with `adapt(images)`, not by gradient descent; the kernel
    is a non-trainable weight (saved with the model), the bias trains.

    `train_bias = False` (an argument, or an attribute set between epochs
    with a retrace: `recipekit.callbacks.StopWhiteningBias`) ends the bias's
    training the way airbench94_muon does after 3 epochs: the bias gets a zero
    gradient, and the backward pass stops at the layer above this one (its
    gradient with respect to the whitened images, which only the bias used, is
    never computed). The bias stays in `trainable_weights`, so optimizers that
    need every variable's gradient (`MultiOptimizer`) keep working.

    Args:
        patch_size: side `k` of the square patches.
        epsilon: added to the patch eigenvalues (see `patch_whitening_kernel`).
        train_bias: False: the bias gets zero gradients (see above).

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        `(batch, height - k + 1, width - k + 1, 2 * k * k * channels)`.

    Examples:

    >>> layer = PatchWhitening(2)
    >>> layer.adapt(normalized_train_images[:5000])
    >>> layer(x).shape  # x: (B, 32, 32, 3)
    (B, 31, 31, 24)
    """

    def __init__(self, patch_size=2, epsilon=5e-4, train_bias=True, **kwargs):
        super().__init__(**kwargs)
        _check(patch_size, epsilon)
        if not isinstance(train_bias, bool):
            raise ValueError(
                "Argument `train_bias` must be True or False. Received: "
                f"train_bias={train_bias!r}"
            )
        self.patch_size = patch_size
        self.epsilon = epsilon
        self.train_bias = train_bias

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                "PatchWhitening expects inputs (batch, height, width, channels) "
                f"with known channels. Received: {input_shape}"
            )
        k, channels = self.patch_size, input_shape[-1]
        self.filters = 2 * k * k * channels
        self.kernel = self.add_weight(
            shape=(k, k, channels, self.filters),
            initializer="glorot_uniform",
            trainable=False,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.filters,), initializer="zeros", name="bias"
        )

    def adapt(self, images):
        """Sets the kernel to whiten the patches of `images` (see the class)."""
        images = np.asarray(images)
        if not self.built:
            self.build((None, *images.shape[1:]))
        kernel = patch_whitening_kernel(images, self.patch_size, self.epsilon)
        if kernel.shape != tuple(self.kernel.shape):
            raise ValueError(
                f"adapt() got images with {images.shape[-1]} channels; the layer "
                f"was built for {self.kernel.shape[2]}."
            )
        self.kernel.assign(kernel)

    def call(self, inputs):
        kernel = ops.cast(self.kernel, inputs.dtype)
        outputs = ops.conv(inputs, kernel, padding="valid")
        outputs = outputs + ops.cast(self.bias, inputs.dtype)
        if self.train_bias:
            return outputs
        # Nothing flows back through the outputs; the bias is tied to them by
        # a zero whose gradient is zero whatever comes from above, so the
        # graph that would compute what comes from above is pruned.
        return ops.stop_gradient(outputs) + _zero_gradient_anchor(
            ops.convert_to_tensor(self.bias), outputs.dtype
        )

    def compute_output_shape(self, input_shape):
        k = self.patch_size
        size = [None if d is None else d - k + 1 for d in input_shape[1:3]]
        return (input_shape[0], *size, 2 * k * k * input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "patch_size": self.patch_size,
            "epsilon": self.epsilon,
            "train_bias": self.train_bias,
        }
