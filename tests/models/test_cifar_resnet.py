import keras
import numpy as np
import pytest

import recipekit


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize(
    "depth, params", [(20, 269_722), (56, 853_018), (110, 1_727_962)]
)
def test_parameter_counts_match_the_paper(depth, params):
    # He et al. (2016), table 6: 0.27M, 0.85M, 1.7M (option A shortcuts).
    model = recipekit.models.cifar_resnet(depth)
    assert _trainable(model) == params
    assert (
        len([x for x in model.layers if isinstance(x, keras.layers.Conv2D)])
        == depth - 1
    )


def test_option_b_adds_projections_and_output_is_a_distribution():
    model = recipekit.models.cifar_resnet(8, num_classes=5, shortcut="B")
    # Two projections (1x1 conv 16->32, 32->64) with their BatchNorm scale/offset.
    assert _trainable(model) == _trainable(recipekit.models.cifar_resnet(8, 5)) + (
        16 * 32 + 2 * 32 + 32 * 64 + 2 * 64
    )
    out = model.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-5)


def test_zero_pad_shortcut_subsamples_and_pads():
    x = np.arange(2 * 4 * 4 * 2, dtype=np.float32).reshape(2, 4, 4, 2)
    out = keras.ops.convert_to_numpy(recipekit.models.ZeroPadShortcut(6, 2)(x))
    assert out.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(out[..., 2:4], x[:, ::2, ::2, :])
    assert not out[..., :2].any() and not out[..., 4:].any()


def test_save_load_round_trip_with_normalization(tmp_path):
    model = recipekit.models.cifar_resnet(8, mean=[120, 110, 100], std=[60, 61, 62])
    x = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"depth": 21}, "6n \\+ 2.*21"),
        ({"depth": 20, "num_classes": 1}, "num_classes.*>= 2"),
        ({"depth": 20, "shortcut": "C"}, "shortcut.*'C'"),
        ({"depth": 20, "mean": [1, 2, 3]}, "mean.*std.*together"),
        ({"depth": 20, "weight_decay": -1.0}, "weight_decay.*>= 0"),
    ],
)
def test_argument_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        recipekit.models.cifar_resnet(**kwargs)
