import keras
import numpy as np
import pytest

from recipekit.layers import DropConnectConv2D, DropConnectDense


def _dense(rate=0.5, **kwargs):
    layer = DropConnectDense(
        6, rate, seed=0, kernel_initializer="ones", bias_initializer="zeros", **kwargs
    )
    layer.build((None, 4))
    return layer


def test_one_hot_input_shows_individual_weights_dropped():
    layer = _dense(0.5)
    eye = np.eye(4, dtype=np.float32)
    out = keras.ops.convert_to_numpy(layer(eye, training=True))
    # Row i is row i of the masked kernel: each weight is 0 or 1 / 0.5.
    assert set(np.unique(out)) == {0.0, 2.0}
    # Weights are dropped one by one, not whole units or whole inputs.
    assert 0 < (out == 0).sum() < out.size
    assert not np.all(out.min(axis=0) == out.max(axis=0))
    assert not np.all(out.min(axis=1) == out.max(axis=1))


def test_training_mean_equals_inference_output():
    layer = DropConnectDense(3, 0.3, seed=1)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    layer.build((None, 4))
    inference = keras.ops.convert_to_numpy(layer(x, training=False))
    plain = x @ keras.ops.convert_to_numpy(layer.kernel) + keras.ops.convert_to_numpy(
        layer.bias
    )
    np.testing.assert_allclose(inference, plain, rtol=1e-5)
    samples = np.stack(
        [keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(3000)]
    )
    # Each output's std over masks is below sqrt(0.3/0.7 * sum x^2 w^2); the mean
    # of 3000 draws is within 4 standard errors.
    bound = np.sqrt(0.3 / 0.7 * (x**2) @ keras.ops.convert_to_numpy(layer.kernel) ** 2)
    assert np.all(
        np.abs(samples.mean(0) - inference) < 4 * bound / np.sqrt(3000) + 1e-6
    )


def test_new_mask_each_step_and_drop_frequency():
    layer = _dense(0.25)
    eye = np.eye(4, dtype=np.float32)
    masks = np.stack(
        [keras.ops.convert_to_numpy(layer(eye, training=True)) == 0 for _ in range(200)]
    )
    assert len({m.tobytes() for m in masks}) > 190
    # 200 * 24 weights, p = 0.25: std 0.0063; tolerance 4 std.
    assert abs(masks.mean() - 0.25) < 0.025


def test_conv_training_mean_and_inference():
    layer = DropConnectConv2D(2, 3, 0.5, seed=2, padding="same", activation=None)
    x = np.random.default_rng(0).normal(size=(1, 5, 5, 3)).astype(np.float32)
    inference = keras.ops.convert_to_numpy(layer(x, training=False))
    plain = keras.layers.Conv2D(2, 3, padding="same")
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        inference, keras.ops.convert_to_numpy(plain(x)), rtol=1e-5, atol=1e-6
    )
    samples = np.stack(
        [keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(2000)]
    )
    assert not np.allclose(samples[0], inference)
    np.testing.assert_allclose(samples.mean(0), inference, atol=0.15)


def test_save_load_round_trip(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            DropConnectConv2D(3, 3, 0.2, seed=1, strides=2, activation="relu"),
            keras.layers.Flatten(),
            DropConnectDense(4, 0.4, seed=2, activation="softmax", use_bias=False),
        ]
    )
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype(np.float32)
    path = str(tmp_path / "dc.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5
    )
    assert loaded.layers[0].rate == 0.2 and loaded.layers[0].strides == (2, 2)
    assert loaded.layers[-1].rate == 0.4 and loaded.layers[-1].use_bias is False


@pytest.mark.parametrize("rate", [1.0, -0.5, "0.1"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        DropConnectDense(3, rate)
    with pytest.raises(ValueError, match="rate"):
        DropConnectConv2D(3, 3, rate)


def test_conv_training_runs_keras_own_conv_call(monkeypatch):
    # The layer masks the kernel in `convolution_op` and leaves the rest of
    # the call (bias, activation, layouts) to Keras's Conv2D.call, so it
    # cannot drift from it: Keras's call runs in training too.
    calls = []
    original = keras.layers.Conv2D.call

    def spy(self, inputs):
        calls.append(type(self).__name__)
        return original(self, inputs)

    monkeypatch.setattr(keras.layers.Conv2D, "call", spy)
    layer = DropConnectConv2D(4, 3, rate=0.5, seed=0, activation="relu")
    x = np.ones((2, 5, 5, 3), "float32")
    layer(x, training=True)
    layer(x, training=False)
    assert calls == ["DropConnectConv2D", "DropConnectConv2D"]
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    dense = keras.ops.convert_to_numpy(layer(x, training=False))
    dropped = keras.ops.convert_to_numpy(layer(x, training=True))
    assert dense.shape == dropped.shape == (2, 3, 3, 4)
    assert not np.allclose(dense, dropped) and np.all(dropped >= 0)
    assert np.array_equal(kernel, keras.ops.convert_to_numpy(layer.kernel))
