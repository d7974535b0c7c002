import keras
import numpy as np
import pytest

import recipekit
from recipekit.models._whitening import PatchWhitening


def _patches(images, k=2):
    n, h, w, c = images.shape
    rows = [
        images[:, i : i + h - k + 1, j : j + w - k + 1]
        for i in range(k)
        for j in range(k)
    ]
    return np.stack(rows, 3).reshape(-1, k * k * c)


def test_parameter_count_matches_airbench94():
    # Jordan (2024): 1.97M parameters; BatchNorm has shifts only.
    model = recipekit.models.fast_cifar_net(mean=[0, 0, 0], std=[1, 1, 1])
    assert model.count_params() == 1_973_944
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    # Not trained: the 2x2x3x24 whitening kernel and BatchNorm's running stats.
    assert model.count_params() - trainable == 2 * 2 * 3 * 24 + 2 * (2 * 64 + 4 * 256)
    assert model.output_shape == (None, 10)
    assert not any(w.path.endswith("gamma") for w in model.weights)


def test_whitening_kernel_decorrelates_patches():
    rng = np.random.default_rng(0)
    mixing = np.array([[1.0, 0.9, 0.8], [0.0, 0.5, 0.4], [0.0, 0.0, 0.3]])
    images = rng.normal(size=(200, 8, 8, 3)) @ mixing
    kernel = recipekit.models.patch_whitening_kernel(images, epsilon=1e-9)
    assert kernel.shape == (2, 2, 3, 24)
    filters = kernel.reshape(12, 24)
    np.testing.assert_array_equal(filters[:, 12:], -filters[:, :12])
    features = _patches(images) @ filters[:, :12]
    moments = features.T @ features / len(features)
    np.testing.assert_allclose(moments, np.eye(12), atol=1e-4)
    # Sorted by decreasing variance before scaling: the first filter is smallest.
    norms = np.linalg.norm(filters[:, :12], axis=0)
    assert norms[0] == norms.min()


def test_whitening_layer_convolves_with_its_adapted_kernel_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.normal(size=(50, 6, 6, 3)).astype(np.float32)
    layer = PatchWhitening(2)
    layer.adapt(images)
    layer.bias.assign(np.arange(24, dtype=np.float32))
    out = keras.ops.convert_to_numpy(layer(images))
    assert out.shape == (50, 5, 5, 24)
    kernel = recipekit.models.patch_whitening_kernel(images)
    expected = (_patches(images) @ kernel.reshape(12, 24)).reshape(50, 5, 5, 24)
    np.testing.assert_allclose(out, expected + np.arange(24), rtol=1e-4, atol=1e-4)
    assert [w.name for w in layer.trainable_weights] == ["bias"]
    model = keras.Sequential([keras.Input((6, 6, 3)), layer])
    model.save(tmp_path / "w.keras")
    loaded = keras.saving.load_model(tmp_path / "w.keras", safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(images)), out)


def test_convolutions_start_as_identity_on_their_first_channels():
    kernel = keras.ops.convert_to_numpy(
        recipekit.models.PartialIdentity(seed=0)((3, 3, 4, 6))
    )
    for j in range(4):
        expected = np.zeros((3, 3, 4))
        expected[1, 1, j] = 1.0
        np.testing.assert_array_equal(kernel[..., j], expected)
    assert np.all(np.abs(kernel[..., 4:]) <= 1 / np.sqrt(36)) and kernel[..., 4:].any()
    config = recipekit.models.PartialIdentity(seed=3).get_config()
    restored = recipekit.models.PartialIdentity.from_config(config)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(restored((3, 3, 2, 2))),
        keras.ops.convert_to_numpy(
            recipekit.models.PartialIdentity(seed=3)((3, 3, 2, 2))
        ),
    )


def test_model_saves_and_loads_with_the_same_logits(tmp_path):
    model = recipekit.models.fast_cifar_net(
        3, widths=(8, 8, 8), mean=[120, 120, 120], std=[60, 60, 60], seed=0
    )
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    model.get_layer("whitening").adapt((x - 120) / 60)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)),
        keras.ops.convert_to_numpy(model(x)),
        rtol=1e-5,
        atol=1e-6,
    )
    plain = recipekit.models.fast_cifar_net(3, widths=(8,), whitening=False)
    assert plain.get_layer("first_conv").trainable


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"widths": (64, 0)}, "widths"),
        ({"mean": [0, 0, 0]}, "together"),
        ({"batch_norm_momentum": 1.0}, "batch_norm_momentum"),
        ({"tap_gradients": "yes"}, r"`tap_gradients` must be True, False or None"),
    ],
)
def test_bad_arguments_are_reported(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recipekit.models.fast_cifar_net(**kwargs)


def _tap_layers(model):
    layers = model.layers
    return [x.name for x in layers if isinstance(x, recipekit.layers.TapConv2D)]


def test_tap_gradients_on_the_maps_of_8x8_and_smaller():
    taps = recipekit.models.fast_cifar_net(tap_gradients=True, seed=0)
    # 31x31 after the whitening, then 15x15, 7x7 and 3x3 after each pool.
    assert _tap_layers(taps) == ["group2b_conv", "group3a_conv", "group3b_conv"]
    plain = recipekit.models.fast_cifar_net(tap_gradients=False, seed=0)
    assert _tap_layers(plain) == []
    assert [w.path for w in taps.weights] == [w.path for w in plain.weights]
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    plain.set_weights(taps.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(taps(x)),
        keras.ops.convert_to_numpy(plain(x)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_tap_gradients_by_default_only_in_bfloat16_on_tensorflow_cpus():
    assert _tap_layers(recipekit.models.fast_cifar_net()) == []  # float32
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = recipekit.models.fast_cifar_net()
    finally:
        keras.config.set_dtype_policy("float32")
    if keras.backend.backend() != "tensorflow":
        assert _tap_layers(model) == []
    elif all(d.startswith("cpu") for d in keras.distribution.list_devices()):
        assert _tap_layers(model) == ["group2b_conv", "group3a_conv", "group3b_conv"]
    else:  # a GPU or TPU: the vendor's kernels
        assert _tap_layers(model) == []


def test_whitening_arguments_are_checked():
    with pytest.raises(ValueError, match="patch_size"):
        PatchWhitening(0)
    with pytest.raises(ValueError, match="epsilon"):
        recipekit.models.patch_whitening_kernel(np.zeros((1, 4, 4, 3)), epsilon=0)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        recipekit.models.patch_whitening_kernel(np.zeros((4, 4, 3)))
    layer = PatchWhitening(2)
    layer.build((None, 8, 8, 3))
    with pytest.raises(ValueError, match="built for 3"):
        layer.adapt(np.zeros((2, 8, 8, 1)))


def _rates(optimizer, steps):
    """[(group name, [rate at step 0, 1, ...])] of a fast optimizer's
    scheduled groups, in their order."""
    inner = optimizer.optimizers if hasattr(optimizer, "optimizers") else [optimizer]
    return [(o.name, [float(o._learning_rate(s)) for s in range(steps)])
            for o in inner if callable(o._learning_rate)]  # fmt: skip


def test_fast_optimizers_repeat_their_schedule_in_each_cycle():
    one = _rates(recipekit.models.fast_cifar_sgd(30, 1024), 30)
    three = _rates(recipekit.models.fast_cifar_sgd(90, 1024, cycles=3), 90)
    assert len(one) == len(three) == 2  # the rate and the BatchNorm shifts' 64x
    for (_, rates), (_, cycled) in zip(one, three, strict=True):
        np.testing.assert_allclose(cycled, rates * 3, rtol=1e-6, atol=1e-7)
    one = dict(_rates(recipekit.models.fast_cifar_muon(20, 5), 20))
    two = dict(_rates(recipekit.models.fast_cifar_muon(40, 5, cycles=2), 40))
    for name in ("muon", "sgd_head", "sgd_shifts"):
        np.testing.assert_allclose(two[name], one[name] * 2, rtol=1e-6, atol=1e-7)
    # The whitening bias trains once, in the first steps: never again.
    assert two["sgd_whitening"][5:] == [0.0] * 35 and two["sgd_whitening"][0] > 0
    with pytest.raises(ValueError, match="must divide `total_steps`"):
        recipekit.models.fast_cifar_sgd(100, cycles=3)
    with pytest.raises(ValueError, match="cycles"):
        recipekit.models.fast_cifar_muon(100, 10, cycles=0)
