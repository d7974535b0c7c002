import keras
import numpy as np
import pytest

import recipekit
from recipekit import _random
from recipekit.layers import FractionalMaxPooling2D
from recipekit.layers._fractional_max_pooling import max_pool_regions, pooling_sequence


@pytest.mark.parametrize("overlapping", [True, False])
@pytest.mark.parametrize("pseudo_random", [True, False])
def test_regions_match_tensorflow_op(overlapping, pseudo_random):
    """The keras.ops pooling on this backend against TensorFlow's kernel."""
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).normal(size=(2, 11, 13, 3)).astype(np.float32)
    out, rows, cols = tf.nn.fractional_max_pool(
        x, [1, 1.414, 1.6, 1], pseudo_random=pseudo_random, overlapping=overlapping
    )
    pooled = max_pool_regions(
        keras.ops.convert_to_tensor(x), rows.numpy(), cols.numpy(), overlapping
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(pooled), out.numpy())


@pytest.mark.parametrize("pseudo_random", [True, False])
def test_sequences_are_valid(pseudo_random):
    for seed in range(20):
        key = _random.make_key(keras.ops, seed)
        seq = keras.ops.convert_to_numpy(pooling_sequence(32, 22, pseudo_random, key))
        steps = np.diff(seq)
        assert seq[0] == 0 and seq[-1] == 32 and len(seq) == 23
        assert set(steps) <= {1, 2}


def test_output_size_random_training_fixed_inference():
    x = np.random.default_rng(1).normal(size=(2, 32, 32, 4)).astype(np.float32)
    layer = FractionalMaxPooling2D(1.414, seed=3)
    train = [keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(5)]
    assert train[0].shape == (2, 22, 22, 4)
    assert len({t.tobytes() for t in train}) > 1  # A new layout each step.
    a = keras.ops.convert_to_numpy(layer(x, training=False))
    b = keras.ops.convert_to_numpy(
        FractionalMaxPooling2D(1.414, seed=9)(x, training=False)
    )
    np.testing.assert_array_equal(a, b)  # One fixed layout, whatever the seed.
    again = FractionalMaxPooling2D(1.414, seed=3)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(again(x, training=True)), train[0]
    )


def test_round_trip_and_test_time_averaging(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((12, 12, 2)),
            FractionalMaxPooling2D(1.5, overlapping=False, seed=1),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    x = np.random.default_rng(0).normal(size=(4, 12, 12, 2)).astype(np.float32)
    path = str(tmp_path / "fmp.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert loaded.layers[0].get_config()["pooling_ratio"] == 1.5
    averaged = recipekit.layers.average_random_layouts(model, x, samples=6)
    assert averaged.shape == (4, 3) and not np.allclose(
        averaged, model.predict(x, verbose=0)
    )
    np.testing.assert_allclose(averaged.sum(1), 1.0, rtol=1e-5)
    assert model.layers[0].test_mode == "fixed"


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"pooling_ratio": 1.0}, "> 1.*1.0"),
        ({"pooling_ratio": 0.5}, "> 1"),
        ({"test_mode": "avg"}, "test_mode"),
    ],
)
def test_argument_errors(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        FractionalMaxPooling2D(**kwargs)


def test_wrong_rank_is_an_error():
    with pytest.raises(ValueError, match="rank 4"):
        FractionalMaxPooling2D()(np.zeros((2, 8, 8), np.float32))
