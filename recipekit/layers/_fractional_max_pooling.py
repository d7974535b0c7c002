"""Fractional max-pooling (Graham, 2014): pooling by a non-integer factor."""

import math

import keras
from keras import ops

from recipekit import _random
from recipekit._checks import check_seed, is_number
from recipekit._sublayers import sublayers

TEST_MODES = ("fixed", "random")


def pooling_sequence(in_size, out_size, pseudo_random, key=None, u=None):
    """Region boundaries `a_0 = 0 < a_1 < ... < a_out = in_size` (int32).

    Pseudo-random (Graham's eq. 3): `a_i = ceil(alpha (i + u)) - ceil(alpha u)`
    with `alpha = in / out` and `u` drawn uniformly from the int32 `key` (or
    given). Random: `out` steps of `floor(alpha)` or `ceil(alpha)`, the longer
    ones at random places.
    """
    alpha = in_size / out_size
    if pseudo_random:
        if u is None:
            u = _random.uniform(ops, key, (1,))[0]
        i = ops.arange(out_size, dtype="float32")
        seq = ops.ceil(alpha * (i + u)) - ops.ceil(alpha * u)
        end = ops.full((1,), in_size, dtype="int32")
        return ops.concatenate([ops.cast(seq, "int32"), end], axis=0)
    short, extra = divmod(in_size, out_size)
    ranks = ops.argsort(ops.argsort(_random.uniform(ops, key, (out_size,))))
    steps = short + ops.cast(ops.less(ranks, extra), "int32")
    return ops.concatenate([ops.zeros((1,), "int32"), ops.cumsum(steps)], axis=0)


def _pool_axis(x, seq, axis, overlapping):
    in_size = x.shape[axis]
    seq = ops.cast(seq, "int32")
    out_size = seq.shape[0] - 1
    span = math.ceil(in_size / out_size) + 2  # Longest region, with overlap.
    last = seq[1:] if overlapping else seq[1:] - 1
    last = ops.minimum(last, in_size - 1)
    index = seq[:-1, None] + ops.arange(span, dtype="int32")[None, :]
    index = ops.minimum(index, last[:, None])  # Repeats do not change a max.
    gathered = ops.take(x, ops.reshape(index, (-1,)), axis=axis)
    shape = list(x.shape)
    shape[0] = -1
    shape[axis : axis + 1] = [out_size, span]
    return ops.max(ops.reshape(gathered, shape), axis=axis + 1)


def max_pool_regions(images, row_seq, col_seq, overlapping=True):
    """Max-pools `(B, H, W, C)` over the regions given by two boundary sequences.

    Region `(i, j)` spans rows `a_i .. a_{i+1} - 1` (or `.. a_{i+1}` when
    `overlapping`, clipped to the image) and likewise for columns; the same
    regions as `tf.nn.fractional_max_pool` for the same sequences.
    """
    rows = _pool_axis(images, row_seq, 1, overlapping)
    return _pool_axis(rows, col_seq, 2, overlapping)


@keras.saving.register_keras_serializable(package="recipekit")
class FractionalMaxPooling2D(keras.layers.Layer):
    """Max-pooling that shrinks each side by a non-integer `pooling_ratio`.

    Graham (2014): regions of 1 or 2 pixels (2 or 3 when `overlapping`) laid out
    by a random or pseudo-random sequence, so a stack of layers can shrink the
    image gently (by sqrt(2) per layer) and each training step sees a new
    layout: a regularizer. Output side: `floor(input_side / pooling_ratio)`.

    One layout is drawn per training step for the whole batch (as
    `tf.nn.fractional_max_pool` does), from a `keras.random.SeedGenerator`, so
    a seeded layer repeats exactly. `tf.nn.fractional_max_pool` itself cannot be
    both random per step and seedable (a non-zero seed fixes its layout
    forever), so the regions are built here in `keras.ops` and pooled with
    gathers, on every backend; the tests check the result equals the
    TensorFlow op for the same regions. This also compiles with XLA and runs
    on TPUs.

    At inference the layout is fixed: the pseudo-random sequence with `u = 0.5`
    (deterministic). `test_mode="random"` keeps random layouts at inference, so
    averaging several `predict` calls gives the paper's test-time averaging
    (`average_random_layouts` does it).

    Args:
        pooling_ratio: shrink factor per side, > 1 (the paper: sqrt(2) = 1.414).
        pseudo_random: pseudo-random (True) or random (False) sequences.
        overlapping: neighbouring regions share their boundary pixels.
        seed: an int for repeatable layouts, or None.
        test_mode: `"fixed"` (default) or `"random"` layouts at inference.

    Call arguments:
        inputs: `(batch, height, width, channels)`, static height and width.
        training: random layouts when True.

    Examples:

    >>> x = recipekit.layers.FractionalMaxPooling2D(1.414)(x)  # 32x32 -> 22x22
    """

    def __init__(
        self,
        pooling_ratio=1.414,
        pseudo_random=True,
        overlapping=True,
        seed=None,
        test_mode="fixed",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not is_number(pooling_ratio) or not pooling_ratio > 1:
            raise ValueError(
                "Argument `pooling_ratio` must be a number > 1 (e.g. 1.414). "
                f"Received: pooling_ratio={pooling_ratio!r}"
            )
        if test_mode not in TEST_MODES:
            raise ValueError(
                f"Argument `test_mode` must be one of {TEST_MODES}. Received: "
                f"test_mode={test_mode!r}"
            )
        self.pooling_ratio = float(pooling_ratio)
        self.pseudo_random = bool(pseudo_random)
        self.overlapping = bool(overlapping)
        self.seed = check_seed(seed)
        self.test_mode = test_mode
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _out_sizes(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "FractionalMaxPooling2D expects inputs of rank 4 (batch, height, "
                f"width, channels). Received shape {input_shape}"
            )
        if input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                "FractionalMaxPooling2D needs a static height and width. Received "
                f"shape {input_shape}"
            )
        sizes = [int(side // self.pooling_ratio) for side in input_shape[1:3]]
        if min(sizes) < 1:
            raise ValueError(
                f"pooling_ratio={self.pooling_ratio} shrinks the {input_shape[1]}x"
                f"{input_shape[2]} input below one pixel."
            )
        return sizes

    def build(self, input_shape):
        self._out_sizes(input_shape)

    def call(self, inputs, training=None):
        height, width = inputs.shape[1], inputs.shape[2]
        out_h, out_w = self._out_sizes(inputs.shape)
        if training or self.test_mode == "random":
            key = _random.make_key(ops, self.seed_generator.next())
            keys = [_random.subkey(ops, key, i) for i in range(2)]
            rows = pooling_sequence(height, out_h, self.pseudo_random, keys[0])
            cols = pooling_sequence(width, out_w, self.pseudo_random, keys[1])
        else:
            rows = pooling_sequence(height, out_h, True, u=0.5)
            cols = pooling_sequence(width, out_w, True, u=0.5)
        return max_pool_regions(inputs, rows, cols, self.overlapping)

    def compute_output_shape(self, input_shape):
        out_h, out_w = self._out_sizes(input_shape)
        return (input_shape[0], out_h, out_w, input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "pooling_ratio": self.pooling_ratio,
            "pseudo_random": self.pseudo_random,
            "overlapping": self.overlapping,
            "seed": self.seed,
            "test_mode": self.test_mode,
        }


def average_random_layouts(model, x, samples=12, batch_size=256):
    """Averages a model's predictions over `samples` random pooling layouts.

    Graham (2014) reports lower test error when the outputs of several passes
    with different fractional-pooling layouts are averaged. Every
    `FractionalMaxPooling2D` of `model` uses random layouts during the calls,
    then its `test_mode` is restored.

    Args:
        model: a Keras model containing `FractionalMaxPooling2D` layers.
        x: inputs for `model.predict`.
        samples: number of passes (>= 1).
        batch_size: `predict` batch size.

    Returns:
        The mean of the `samples` predictions.
    """
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(
            f"Argument `samples` must be an int >= 1. Received: {samples!r}"
        )
    layers = [
        layer for layer in sublayers(model) if isinstance(layer, FractionalMaxPooling2D)
    ]
    if not layers:
        raise ValueError("The model has no FractionalMaxPooling2D layer.")
    modes = [layer.test_mode for layer in layers]
    try:
        for layer in layers:
            layer.test_mode = "random"
        total = None
        for _ in range(samples):
            # A fresh predict function per pass: the mode is read when tracing.
            model.predict_function = None
            out = model.predict(x, batch_size=batch_size, verbose=0)
            total = out if total is None else total + out
    finally:
        for layer, mode in zip(layers, modes, strict=True):
            layer.test_mode = mode
        model.predict_function = None
    return total / samples
