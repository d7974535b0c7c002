import keras
import numpy as np
import pytest

import recipekit
from recipekit.layers import StochasticDepth


def test_identity_at_inference_and_at_rate_zero():
    x = np.random.default_rng(0).normal(size=(8, 3, 3, 2)).astype(np.float32)
    np.testing.assert_array_equal(StochasticDepth(0.7)(x, training=False), x)
    np.testing.assert_array_equal(StochasticDepth(0.7)(x), x)
    np.testing.assert_array_equal(StochasticDepth(0.0)(x, training=True), x)


def test_row_mode_gates_whole_samples_with_inverted_scaling():
    x = np.ones((4000, 2, 3), np.float32)
    out = keras.ops.convert_to_numpy(StochasticDepth(0.25, seed=1)(x, training=True))
    per_sample = out.reshape(4000, -1)
    # All or nothing per sample: every entry 0, or every entry 1 / 0.75.
    np.testing.assert_allclose(np.unique(per_sample), [0.0, 1 / 0.75], rtol=1e-6)
    assert np.all(per_sample.min(1) == per_sample.max(1))
    dropped = np.mean(per_sample[:, 0] == 0)
    # Binomial(4000, 0.25): std 0.0068; tolerance 4 std.
    assert abs(dropped - 0.25) < 0.028


def test_batch_mode_gates_the_whole_batch():
    x = np.ones((16, 5), np.float32)
    layer = StochasticDepth(0.5, mode="batch", seed=3)
    kept = []
    for _ in range(400):
        out = keras.ops.convert_to_numpy(layer(x, training=True))
        assert out.min() == out.max()  # One decision for the batch.
        kept.append(out.max() == 2.0)
        assert out.max() in (0.0, 2.0)
    # Binomial(400, 0.5): std 0.025; tolerance 4 std.
    assert abs(np.mean(kept) - 0.5) < 0.1


def test_linear_decay_rates_for_resnet110():
    rates = recipekit.layers.linear_decay_rates(54, 0.5)
    assert len(rates) == 54
    np.testing.assert_allclose(rates, 0.5 * np.arange(1, 55) / 54)
    assert rates[-1] == 0.5
    model = recipekit.models.cifar_resnet(110, stochastic_depth_rate=0.5)
    layers = [x for x in model.layers if isinstance(x, StochasticDepth)]
    np.testing.assert_allclose([x.rate for x in layers], rates)


def test_resnet_with_stochastic_depth_round_trips(tmp_path):
    model = recipekit.models.cifar_resnet(
        8, stochastic_depth_rate=0.5, stochastic_depth_mode="batch"
    )
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    path = str(tmp_path / "sd.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5
    )
    sd = [x for x in loaded.layers if isinstance(x, StochasticDepth)]
    assert [x.mode for x in sd] == ["batch"] * 3


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"rate": 1.0}, r"\[0, 1\).*rate=1.0"),
        ({"rate": -0.1}, r"\[0, 1\)"),
        ({"rate": 0.1, "mode": "sample"}, "mode.*'sample'"),
        ({"rate": 0.1, "seed": 1.5}, "seed"),
    ],
)
def test_argument_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        StochasticDepth(**kwargs)


def test_wrong_rank_is_an_error():
    with pytest.raises(ValueError, match="rank >= 2"):
        StochasticDepth(0.1)(np.ones((3,), np.float32), training=True)
    with pytest.raises(ValueError, match="num_blocks"):
        recipekit.layers.linear_decay_rates(0, 0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rate": 0.5, "mode": "batchwise"}, "mode.*'row' or 'batch'"),
        ({"rate": 1.0}, r"rate.*\[0, 1\)"),
        ({"rate": -0.1}, r"rate.*\[0, 1\)"),
        ({"rate": True}, "rate"),
    ],
)
def test_drop_path_refuses_an_unknown_mode_and_rate_one(kwargs, match):
    from recipekit.layers._stochastic_depth import drop_path

    with pytest.raises(ValueError, match=match):
        drop_path(np.ones((4, 3), "float32"), **kwargs)
