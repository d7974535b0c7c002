"""TapConv2D: Keras's Conv2D, with the kernel gradient computed tap by tap."""

import keras
import numpy as np
import pytest

import recipekit
from tests.layers.test_batch_norm_act import forward_and_grads


def pair(kernel_size, use_bias, activation=None, seed=0):
    """TapConv2D and Keras's Conv2D with the same weights."""
    ours = recipekit.layers.TapConv2D(
        6, kernel_size, use_bias=use_bias, activation=activation
    )
    conv = keras.layers.Conv2D(
        6, kernel_size, padding="same", use_bias=use_bias, activation=activation
    )
    shape = (3, 5, 7, 4)
    ours.build(shape)
    conv.build(shape)
    rng = np.random.default_rng(seed)
    values = [rng.normal(size=w.shape).astype("float32") for w in conv.weights]
    ours.set_weights(values)
    conv.set_weights(values)
    return ours, conv


@pytest.mark.parametrize(
    "kernel_size, use_bias, activation",
    [(3, False, None), ((1, 5), True, "relu"), (5, True, None)],
)
def test_output_and_gradients_match_conv2d(kernel_size, use_bias, activation):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, 7, 4)).astype("float32")
    upstream = rng.normal(size=(3, 5, 7, 6)).astype("float32")
    ours, conv = pair(kernel_size, use_bias, activation)
    y, grads = forward_and_grads([ours], x, upstream)
    y_ref, grads_ref = forward_and_grads([conv], x, upstream)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    assert len(grads) == len(grads_ref) == 2 + use_bias  # x, kernel, (bias)
    for g, g_ref in zip(grads, grads_ref, strict=True):
        np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-5 * np.abs(g_ref).max())


def test_tap_kernel_gradient_is_the_sum_over_shifted_inputs():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    dy = rng.normal(size=(2, 3, 4, 3)).astype("float32")
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    expected = np.zeros((3, 3, 2, 3), "float32")
    for i in range(3):
        for j in range(3):
            window = padded[:, i : i + 3, j : j + 4, :]
            expected[i, j] = np.einsum("nhwc,nhwo->co", window, dy)
    got = recipekit.layers._tap_conv.tap_kernel_gradient(x, dy, (3, 3))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), expected, rtol=1e-5)


def test_mixed_bfloat16_trains_in_bfloat16_with_float32_weights():
    x = np.random.default_rng(3).normal(size=(4, 3, 3, 8)).astype("float32")
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        layer = recipekit.layers.TapConv2D(16, 3, use_bias=False)
        model = keras.Sequential([keras.Input((3, 3, 8)), layer])
        model.compile(keras.optimizers.SGD(0.1), "mse")
        before = keras.ops.convert_to_numpy(layer.kernel).copy()
        model.fit(x, np.ones((4, 3, 3, 16), "float32"), epochs=1, verbose=0)
    finally:
        keras.config.set_dtype_policy("float32")
    assert layer.kernel.dtype == "float32" and layer.compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(model(x).dtype) == "bfloat16"
    assert np.abs(keras.ops.convert_to_numpy(layer.kernel) - before).max() > 0


def test_serializes_and_reloads(tmp_path):
    ours, _ = pair(3, True)
    model = keras.Sequential([keras.Input((5, 7, 4)), ours])
    path = tmp_path / "tap.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert isinstance(again.layers[0], recipekit.layers.TapConv2D)
    x = np.random.default_rng(4).normal(size=(2, 5, 7, 4)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(again(x)), keras.ops.convert_to_numpy(model(x))
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"strides": 2}, r"TapConv2D supports only strides=\(1, 1\)\. Received: "),
        ({"padding": "valid"}, r"supports only padding='same'\. Received: padding"),
        ({"dilation_rate": 2}, r"supports only dilation_rate=\(1, 1\)"),
        ({"groups": 2}, r"supports only groups=1\. Received: groups=2"),
        ({"data_format": "channels_first"}, r"data_format='channels_last'"),
        ({"kernel_size": (2, 3)}, r"`kernel_size` of TapConv2D must have odd"),
    ],
)
def test_unsupported_arguments_are_refused(kwargs, message):
    kwargs = {"filters": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        recipekit.layers.TapConv2D(**kwargs)
