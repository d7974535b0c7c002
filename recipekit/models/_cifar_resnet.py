"""The CIFAR ResNets of He et al. (2016): depth 6n + 2, widths 16/32/64."""

import keras

from recipekit.layers import StochasticDepth, linear_decay_rates
from recipekit.models._shortcut import ZeroPadShortcut

SHORTCUTS = ("A", "B")


def cifar_resnet(
    depth=20,
    num_classes=10,
    width=16,
    shortcut="A",
    input_shape=(32, 32, 3),
    mean=None,
    std=None,
    weight_decay=0.0,
    stochastic_depth_rate=0.0,
    stochastic_depth_mode="row",
    synchronized_batch_norm=False,
    name=None,
):
    """Builds a CIFAR ResNet (He et al., 2016, section 4.2).

    A 3x3 convolution, then three stages of `n = (depth - 2) / 6` basic blocks
    (two 3x3 convolutions with BatchNorm and ReLU) with `width`, `2 * width` and
    `4 * width` filters, the last two stages starting with stride 2, then global
    average pooling and a softmax classifier. Parameter counts for the paper's
    option A: 0.27M (ResNet-20), 0.85M (56), 1.7M (110).

    Shortcuts where the shape changes: `"A"` subsamples and pads with zero
    channels (no parameters, the paper's CIFAR choice); `"B"` uses a strided
    1x1 convolution with BatchNorm (a projection).

    Args:
        depth: total number of weighted layers, `6n + 2` (20, 32, 44, 56, 110...).
        num_classes: number of output classes (>= 2).
        width: filters of the first stage.
        shortcut: `"A"` or `"B"`, as above.
        input_shape: `(height, width, channels)` of the input images.
        mean: per-channel mean of the input pixels; with `std`, the model starts
            with a `Normalization` layer, so it takes raw pixel values (0-255).
        std: per-channel standard deviation of the input pixels.
        weight_decay: L2 penalty coefficient on convolution and dense kernels, in
            the paper's (and PyTorch's) sense: the gradient gains
            `weight_decay * w`. The ResNet paper uses 1e-4.
        stochastic_depth_rate: drop rate of the last residual block (Huang et
            al., 2016; 0.5 for ResNet-110); block l of L drops its branch with
            `rate * l / L` (`recipekit.layers.linear_decay_rates`). 0 = off.
        stochastic_depth_mode: `"row"` (a decision per sample) or `"batch"` (one
            per batch, as in the paper); see `recipekit.layers.StochasticDepth`.
        synchronized_batch_norm: BatchNorm statistics over the global batch
            of all replicas (TensorFlow strategies only; Keras's
            `synchronized=True`), so N workers train as one process would.
        name: model name; default `resnet<depth>`.

    Returns:
        A functional `keras.Model` mapping images to class probabilities.

    Examples:

    >>> model = recipekit.models.cifar_resnet(20, num_classes=10)
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> model.fit(train, epochs=182)
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            "Argument `depth` must be 6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, "
            f"110, ...). Received: depth={depth!r}"
        )
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            "Argument `num_classes` must be an integer >= 2. Received: "
            f"num_classes={num_classes!r}"
        )
    if not isinstance(width, int) or width < 1:
        raise ValueError(
            f"Argument `width` must be a positive integer. Received: width={width!r}"
        )
    if shortcut not in SHORTCUTS:
        raise ValueError(
            f"Argument `shortcut` must be one of {SHORTCUTS}. Received: "
            f"shortcut={shortcut!r}"
        )
    if (mean is None) != (std is None):
        raise ValueError("Arguments `mean` and `std` must be given together.")
    if weight_decay < 0:
        raise ValueError(
            "Argument `weight_decay` must be >= 0. Received: "
            f"weight_decay={weight_decay!r}"
        )
    regularizer = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    blocks_per_stage = (depth - 2) // 6
    drop_rates = linear_decay_rates(3 * blocks_per_stage, stochastic_depth_rate)
    if stochastic_depth_mode not in StochasticDepth.MODES:
        raise ValueError(
            f"Argument `stochastic_depth_mode` must be one of {StochasticDepth.MODES}. "
            f"Received: stochastic_depth_mode={stochastic_depth_mode!r}"
        )

    def conv(x, filters, kernel_size, strides=1):
        return keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            kernel_regularizer=regularizer,
        )(x)

    def bn(x):
        return keras.layers.BatchNormalization(
            momentum=0.9, epsilon=1e-5, synchronized=synchronized_batch_norm
        )(x)

    inputs = keras.Input(input_shape)
    x = inputs
    if mean is not None:
        x = keras.layers.Normalization(
            mean=list(map(float, mean)), variance=[float(s) ** 2 for s in std]
        )(x)
    x = keras.layers.ReLU()(bn(conv(x, width, 3)))
    for stage in range(3):
        filters = width * 2**stage
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            branch = keras.layers.ReLU()(bn(conv(x, filters, 3, strides)))
            branch = bn(conv(branch, filters, 3))
            if strides == 1 and x.shape[-1] == filters:
                residual = x
            elif shortcut == "A":
                residual = ZeroPadShortcut(filters, strides)(x)
            else:
                residual = bn(conv(x, filters, 1, strides))
            rate = drop_rates[stage * blocks_per_stage + block]
            if rate > 0:
                branch = StochasticDepth(rate, mode=stochastic_depth_mode)(branch)
            x = keras.layers.ReLU()(keras.layers.Add()([residual, branch]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(
        num_classes,
        kernel_initializer="he_normal",
        kernel_regularizer=regularizer,
    )(x)
    outputs = keras.layers.Activation("softmax", dtype="float32")(outputs)
    return keras.Model(inputs, outputs, name=name or f"resnet{depth}")
