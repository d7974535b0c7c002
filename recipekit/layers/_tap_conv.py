"""A Conv2D whose kernel gradient is one matrix product per kernel tap."""

import keras
from keras import ops


def tap_kernel_gradient(inputs, upstream, kernel_size):
    """The gradient of a stride-1 "same" convolution's kernel, tap by tap.

    For each of the `kh * kw` taps, the (padded) input shifted by that tap and
    flattened to `(batch * h * w, in)`, transposed, times `upstream`
    flattened to `(batch * h * w, out)`: the tap's `(in, out)` slice of the
    kernel gradient.

    Args:
        inputs: the convolution's input, `(batch, h, w, in)`.
        upstream: the gradient of its output, `(batch, h, w, out)`.
        kernel_size: `(kh, kw)`, both odd.

    Returns:
        The kernel's gradient, `(kh, kw, in, out)`, in `upstream`'s dtype.
    """
    kh, kw = kernel_size
    _, h, w, channels = inputs.shape
    filters = upstream.shape[-1]
    padded = ops.pad(inputs, [[0, 0], [kh // 2] * 2, [kw // 2] * 2, [0, 0]])
    flat = ops.reshape(upstream, (-1, filters))
    taps = []
    for i in range(kh):
        for j in range(kw):
            shifted = ops.reshape(padded[:, i : i + h, j : j + w, :], (-1, channels))
            taps.append(ops.matmul(ops.transpose(shifted), flat))
    return ops.reshape(ops.stack(taps), (kh, kw, channels, filters))


@keras.saving.register_keras_serializable(package="recipekit")
class TapConv2D(keras.layers.Conv2D):
    """A `Conv2D` whose kernel gradient is one matrix product per kernel tap.

    The same function, weights and input gradient as `keras.layers.Conv2D`
    (stride 1, `"same"` padding, odd kernel sides, channels last); only the
    kernel's gradient is computed another way: for each of the `kh * kw`
    taps, the input shifted by that tap, flattened to `(batch * h * w, in)`,
    transposed, times the output's gradient flattened to `(batch * h * w,
    out)`. The input's gradient is the transposed convolution, as autodiff
    computes it.

    Why: on CPUs, TensorFlow's kernel-gradient op (oneDNN) is slow for small
    feature maps. On 2 AMD EPYC cores with AVX512-BF16, bfloat16, batch 2000
    of the fast CIFAR net's 7x7x256 and 3x3x256 maps (256 filters), it took
    555 and 171 ms where the nine matrix products took 408 and 89 ms; at
    15x15x64 it was faster than them (597 against 646 ms). So
    `recipekit.models.fast_cifar_net` uses this layer for its maps of 8x8
    and smaller, on TensorFlow in bfloat16 on a CPU (the measurements and the
    whole epoch: `benchmarks/RESULTS.md`). Other processors may differ: time
    both. On a GPU, the vendor's kernels are the better choice.

    Args:
        filters: output channels.
        kernel_size: int or `(kh, kw)`, odd.
        **kwargs: any other `keras.layers.Conv2D` argument, except that
            `strides`, `dilation_rate` and `groups` must stay 1, `padding`
            `"same"` and `data_format` `"channels_last"`.

    Examples:

    >>> layer = recipekit.layers.TapConv2D(8, 3, use_bias=False)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 5, 4)).astype("float32")
    >>> tuple(layer(x).shape)
    (2, 5, 5, 8)
    """

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.setdefault("padding", "same")
        kwargs.setdefault("data_format", "channels_last")
        super().__init__(filters, kernel_size, **kwargs)
        fixed = {
            "strides": (self.strides, (1, 1)),
            "dilation_rate": (self.dilation_rate, (1, 1)),
            "groups": (self.groups, 1),
            "padding": (self.padding, "same"),
            "data_format": (self.data_format, "channels_last"),
        }
        for name, (value, wanted) in fixed.items():
            if value != wanted:
                raise ValueError(
                    f"TapConv2D supports only {name}={wanted!r}. "
                    f"Received: {name}={value!r}"
                )
        if any(side % 2 == 0 for side in self.kernel_size):
            raise ValueError(
                "Argument `kernel_size` of TapConv2D must have odd sides. "
                f"Received: kernel_size={kernel_size!r}"
            )

    def convolution_op(self, inputs, kernel):
        kernel = ops.cast(kernel, inputs.dtype)
        kernel_size = self.kernel_size

        @ops.custom_gradient
        def convolve(x, kernel):
            def backward(*args, upstream=None):
                if upstream is None:  # TensorFlow and JAX pass it alone
                    (upstream,) = args
                upstream = ops.cast(upstream, x.dtype)
                dx = ops.conv_transpose(upstream, kernel, 1, padding="same")
                dk = tap_kernel_gradient(x, upstream, kernel_size)
                return dx, ops.cast(dk, kernel.dtype)

            return ops.conv(x, kernel, 1, padding="same"), backward

        return convolve(inputs, kernel)
