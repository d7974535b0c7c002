"""The small, fast CIFAR network of the speed records (Page, 2018; Jordan, 2024)."""

import keras
import numpy as np

from recipekit.layers import BatchNormAct, TapConv2D
from recipekit.models._whitening import PatchWhitening


@keras.saving.register_keras_serializable(package="recipekit")
class PartialIdentity(keras.initializers.Initializer):
    """Convolution kernels that start as the identity on the first input channels.

    The first `min(in, out)` filters copy one input channel each through the
    kernel's center tap (PyTorch's `dirac_` init); the others are drawn from
    `base` (default: PyTorch's conv default, uniform +-1/sqrt(fan_in)).

    Examples:

    >>> init = PartialIdentity()
    >>> keras.layers.Conv2D(64, 3, kernel_initializer=init)
    """

    def __init__(self, base=None, seed=None):
        self.base = keras.initializers.get(
            base
            or keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=seed)
        )
        self.seed = seed

    def __call__(self, shape, dtype=None):
        if len(shape) != 4 or shape[0] % 2 == 0 or shape[1] % 2 == 0:
            raise ValueError(
                "PartialIdentity needs an odd-sized conv kernel (kh, kw, in, out). "
                f"Received shape {shape}"
            )
        kernel = keras.ops.convert_to_numpy(self.base(shape, dtype="float32"))
        identity = min(shape[2], shape[3])
        kernel[..., :identity] = 0.0
        center = (shape[0] // 2, shape[1] // 2)
        kernel[center[0], center[1], np.arange(identity), np.arange(identity)] = 1.0
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {"base": keras.initializers.serialize(self.base), "seed": self.seed}


def fast_cifar_net(
    num_classes=10,
    widths=(64, 256, 256),
    input_shape=(32, 32, 3),
    mean=None,
    std=None,
    patch_size=2,
    whitening=True,
    batch_norm_momentum=0.6,
    logit_scale=1 / 9,
    seed=None,
    tap_gradients=None,
    name="fast_cifar_net",
):
    """The VGG-like network of the CIFAR-10 speed records (airbench94).

    A frozen `PatchWhitening` layer (adapt it to the training images before
    training), GELU, then one conv group per width (3x3 conv, 2x2 max-pool,
    BatchNorm + GELU, 3x3 conv, BatchNorm + GELU; each BatchNorm + GELU one
    `recipekit.layers.BatchNormAct`), a max-pool over what is left, and a
    bias-free linear classifier whose logits are multiplied by
    `logit_scale`. BatchNorm has no scale (gamma fixed at 1), only a shift;
    convolutions start as the identity on their first channels. 1.97M
    parameters at the default widths.

    Args:
        num_classes: number of output classes (>= 2).
        widths: filters of the three conv groups.
        input_shape: `(height, width, channels)`.
        mean: per-channel mean of the input pixels; with `std`, the model
            starts with a `Normalization` layer and takes raw pixels (0-255).
        std: per-channel standard deviation of the input pixels.
        patch_size: side of the whitened patches.
        whitening: False replaces the frozen whitening layer by an ordinary
            trainable convolution of the same shape (for ablations).
        batch_norm_momentum: Keras momentum of the BatchNorm running statistics:
            each step keeps this fraction of them (airbench's 0.6, which its
            PyTorch code passes on as `momentum=1 - 0.6`).
        logit_scale: the logits are multiplied by this (1/9 in airbench94).
        seed: seeds the kernel initializers.
        tap_gradients: True makes the convolutions on maps of 8x8 and
            smaller `recipekit.layers.TapConv2D`s (the same function and
            weights; their kernel gradients computed tap by tap), False keeps
            `keras.layers.Conv2D`. None (default): True on TensorFlow
            computing in bfloat16 with only CPUs (measured faster on an AMD
            EPYC with AVX512-BF16, `benchmarks/RESULTS.md`; on another
            processor, time both).
        name: model name.

    Returns:
        A functional `keras.Model` mapping images to logits (no softmax).

    Examples:

    >>> model = recipekit.models.fast_cifar_net(mean=mean, std=std)
    >>> model.get_layer("whitening").adapt(normalized_train_images[:5000])
    >>> model.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            "Argument `num_classes` must be an integer >= 2. Received: "
            f"num_classes={num_classes!r}"
        )
    if len(widths) < 1 or any(not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(
            f"Argument `widths` must be positive integers. Received: widths={widths!r}"
        )
    if (mean is None) != (std is None):
        raise ValueError("Arguments `mean` and `std` must be given together.")
    if not 0 <= batch_norm_momentum < 1:
        raise ValueError(
            "Argument `batch_norm_momentum` must be in [0, 1). Received: "
            f"batch_norm_momentum={batch_norm_momentum!r}"
        )
    if tap_gradients is None:
        tap_gradients = (
            keras.backend.backend() == "tensorflow"
            and keras.config.dtype_policy().compute_dtype == "bfloat16"
            and all(d.startswith("cpu") for d in keras.distribution.list_devices())
        )
    elif not isinstance(tap_gradients, bool):
        raise ValueError(
            "Argument `tap_gradients` must be True, False or None. Received: "
            f"tap_gradients={tap_gradients!r}"
        )
    seeds = iter(range(0 if seed is None else seed, 10**9))

    def init():
        return PartialIdentity(seed=None if seed is None else next(seeds))

    def conv_bn_gelu(x, filters, pool, name):
        small = x.shape[1] is not None and max(x.shape[1:3]) <= 8
        x = (TapConv2D if tap_gradients and small else keras.layers.Conv2D)(
            filters,
            3,
            padding="same",
            use_bias=False,
            kernel_initializer=init(),
            name=f"{name}_conv",
        )(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        # BatchNorm then GELU, with one hand-written backward pass (the same
        # function and weights as BatchNormalization + Activation("gelu")).
        return BatchNormAct(
            "gelu", momentum=batch_norm_momentum, epsilon=1e-12, scale=False,
            name=f"{name}_bn",
        )(x)  # fmt: skip

    inputs = keras.Input(input_shape)
    x = inputs
    if mean is not None:
        x = keras.layers.Normalization(
            mean=list(map(float, mean)),
            variance=[float(s) ** 2 for s in std],
            name="normalize",
        )(x)
    if whitening:
        x = PatchWhitening(patch_size, name="whitening")(x)
    else:
        channels = input_shape[-1]
        x = keras.layers.Conv2D(
            2 * patch_size**2 * channels,
            patch_size,
            kernel_initializer=keras.initializers.VarianceScaling(
                1 / 3, "fan_in", "uniform", seed=None if seed is None else next(seeds)
            ),
            name="first_conv",
        )(x)
    x = keras.layers.Activation("gelu", name="whitening_gelu")(x)
    for group, width in enumerate(widths, 1):
        x = conv_bn_gelu(x, width, True, f"group{group}a")
        x = conv_bn_gelu(x, width, False, f"group{group}b")
    x = keras.layers.GlobalMaxPooling2D(name="pool")(x)
    x = keras.layers.Dense(
        num_classes,
        use_bias=False,
        kernel_initializer=keras.initializers.VarianceScaling(
            1 / 3, "fan_in", "uniform", seed=None if seed is None else next(seeds)
        ),
        name="logits",
    )(x)
    outputs = keras.layers.Rescaling(logit_scale, name="logit_scale")(x)
    return keras.Model(inputs, outputs, name=name)
