"""BatchNormAct: Keras's BatchNormalization + Activation, with its own gradient."""

import inspect

import keras
import numpy as np
import pytest

import recipekit

BACKEND = keras.backend.backend()


def forward_and_grads(layers, x, upstream):
    """Output of `layers` in training, and d(sum(output * upstream)) with
    respect to x and to the first layer's trainable weights."""
    weights = layers[0].trainable_weights
    if BACKEND == "jax":
        import jax

        first, rest = layers[0], layers[1:]
        fixed = [w.value for w in first.non_trainable_weights]
        training = {"training": True}  # for the layers whose call takes it
        if "training" not in inspect.signature(first.call).parameters:
            training = {}

        def run(x, values):
            y, _ = first.stateless_call(values, fixed, x, **training)
            for layer in rest:
                y = layer(y)
            return y

        def loss(x, values):
            return (run(x, values) * upstream).sum()

        values = [w.value for w in weights]
        gx, gw = jax.grad(loss, argnums=(0, 1))(x, values)
        return np.asarray(run(x, values)), [np.asarray(gx), *map(np.asarray, gw)]
    if BACKEND == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        y = xt
        for layer in layers:
            y = layer(y, training=True)
        (y * torch.tensor(upstream)).sum().backward()
        grads = [xt.grad.numpy()] + [w.value.grad.numpy() for w in weights]
        return y.detach().numpy(), grads
    import tensorflow as tf

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = xt
        for layer in layers:
            y = layer(y, training=True)
        total = tf.reduce_sum(y * upstream)
    return y.numpy(), [g.numpy() for g in tape.gradient(total, [xt, *weights])]


def pair(activation, scale, seed=0, **kwargs):
    """BatchNormAct and Keras's BatchNormalization + Activation, same weights."""
    rng = np.random.default_rng(seed)
    ours = recipekit.layers.BatchNormAct(activation, scale=scale, **kwargs)
    norm = keras.layers.BatchNormalization(scale=scale, **kwargs)
    shape = (6, 5, 5, 4)
    ours.build(shape)
    norm.build(shape)
    values = [rng.normal(size=w.shape).astype("float32") for w in norm.weights]
    values[-1] = np.abs(values[-1]) + 0.5  # a moving variance
    ours.set_weights(values)
    norm.set_weights(values)
    return ours, [norm, keras.layers.Activation(activation)]


@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("activation", ["linear", "relu", "gelu"])
def test_training_matches_batch_norm_then_activation(activation, scale):
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 2.0, size=(6, 5, 5, 4)).astype("float32")
    upstream = rng.normal(size=x.shape).astype("float32")
    ours, reference = pair(activation, scale, momentum=0.6, epsilon=1e-3)
    y, grads = forward_and_grads([ours], x, upstream)
    y_ref, grads_ref = forward_and_grads(reference, x, upstream)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    assert len(grads) == len(grads_ref) == 2 + scale  # x, (gamma,) beta
    for g, g_ref in zip(grads, grads_ref, strict=True):
        np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-5 * np.abs(g_ref).max())
    if BACKEND != "jax":  # the moving statistics, after one training call
        for w, w_ref in zip(ours.weights, reference[0].weights, strict=True):
            np.testing.assert_allclose(
                np.array(w), np.array(w_ref), rtol=1e-6, atol=1e-6
            )


def test_moving_statistics_follow_keras_update():
    x = np.random.default_rng(2).normal(3.0, 2.0, size=(64, 2, 2, 3)).astype("float32")
    layer = recipekit.layers.BatchNormAct("gelu", momentum=0.6)
    layer(x, training=True)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(np.array(layer.moving_mean), 0.4 * mean, rtol=1e-5)
    np.testing.assert_allclose(np.array(layer.moving_variance), 0.6 + 0.4 * var,
                               rtol=1e-5)  # fmt: skip


@pytest.mark.parametrize("frozen", [False, True])
def test_inference_and_frozen_use_moving_statistics(frozen):
    x = np.random.default_rng(3).normal(size=(6, 5, 5, 4)).astype("float32")
    ours, (norm, act) = pair("gelu", True, seed=4)
    ours.trainable = norm.trainable = not frozen
    training = frozen  # frozen: even a training call uses the moving statistics
    before = [np.array(w) for w in ours.weights]
    got = keras.ops.convert_to_numpy(ours(x, training=training))
    np.testing.assert_allclose(
        got,
        keras.ops.convert_to_numpy(act(norm(x, training=training))),
        rtol=1e-5,
        atol=1e-6,
    )
    for w, b in zip(ours.weights, before, strict=True):
        np.testing.assert_array_equal(np.array(w), b)


def test_mixed_bfloat16_computes_in_float32_and_returns_bfloat16():
    x = np.random.default_rng(5).normal(size=(8, 3, 3, 4)).astype("float32")
    layer = recipekit.layers.BatchNormAct("gelu", dtype="mixed_bfloat16")
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert layer.moving_mean.dtype == "float32"
    exact = keras.ops.convert_to_numpy(
        recipekit.layers.BatchNormAct("gelu")(x, training=True)
    )
    y = keras.ops.convert_to_numpy(keras.ops.cast(y, "float32"))
    np.testing.assert_allclose(y, exact, rtol=1e-2, atol=1e-2)


def test_a_mask_takes_keras_path_then_the_activation():
    x = np.random.default_rng(6).normal(size=(2, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    ours = recipekit.layers.BatchNormAct("relu")
    norm, act = keras.layers.BatchNormalization(), keras.layers.Activation("relu")
    got = keras.ops.convert_to_numpy(ours(x, training=True, mask=mask))
    want = keras.ops.convert_to_numpy(act(norm(x, training=True, mask=mask)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_config_round_trip_keeps_the_activation():
    layer = recipekit.layers.BatchNormAct("relu", momentum=0.6, epsilon=1e-12)
    clone = recipekit.layers.BatchNormAct.from_config(layer.get_config())
    assert (clone.activation, clone.momentum, clone.epsilon) == ("relu", 0.6, 1e-12)
    assert recipekit.layers.BatchNormAct(None).activation == "linear"


def test_unknown_activation_is_refused_by_name():
    with pytest.raises(ValueError, match=r"`activation` must be one of .*'swish'"):
        recipekit.layers.BatchNormAct("swish")


@pytest.mark.parametrize("channels", [16, 24])
def test_mixed_bfloat16_training_matches_keras_on_both_paths(channels):
    """Under bfloat16 TensorFlow takes its fused kernel at 16 channels and the
    portable path at 24 (oneDNN's slow case); every backend agrees with
    Keras's BatchNormalization + Activation to bfloat16's precision, and the
    moving statistics get Keras's update."""
    rng = np.random.default_rng(8)
    x = rng.normal(0.5, 2.0, size=(32, 3, 3, channels)).astype("float32")
    ours = recipekit.layers.BatchNormAct("gelu", momentum=0.6, dtype="mixed_bfloat16")
    norm = keras.layers.BatchNormalization(momentum=0.6, dtype="mixed_bfloat16")
    act = keras.layers.Activation("gelu", dtype="mixed_bfloat16")
    got = keras.ops.convert_to_numpy(keras.ops.cast(ours(x, training=True), "float32"))
    want = keras.ops.convert_to_numpy(
        keras.ops.cast(act(norm(x, training=True)), "float32")
    )
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=2e-2)
    for w, w_ref in zip(ours.weights, norm.weights, strict=True):
        np.testing.assert_allclose(np.array(w), np.array(w_ref), rtol=1e-2, atol=1e-3)
