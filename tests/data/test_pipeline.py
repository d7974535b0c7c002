import numpy as np
import pytest
import tensorflow as tf

import recipekit


def _dataset(n=10):
    x = np.arange(n * 2 * 2 * 3, dtype=np.uint8).reshape(n, 2, 2, 3)
    return tf.data.Dataset.from_tensor_slices((x, np.arange(n, dtype=np.int64))), x


def test_eval_pipeline_keeps_order_and_casts():
    dataset, x = _dataset()
    batches = list(recipekit.data.pipeline(dataset, 4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    images = np.concatenate([b[0].numpy() for b in batches])
    assert images.dtype == np.float32
    np.testing.assert_array_equal(images, x.astype(np.float32))


def test_training_pipeline_shuffles_and_drops_remainder():
    dataset, _ = _dataset()
    batches = list(recipekit.data.pipeline(dataset, 4, training=True, seed=1))
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert len(batches) == 2 and len(set(labels)) == 8
    assert labels.tolist() != sorted(labels.tolist())


def test_pipeline_argument_errors():
    dataset, _ = _dataset()
    with pytest.raises(ValueError, match="batch_size.*positive.*0"):
        recipekit.data.pipeline(dataset, 0)
    with pytest.raises(TypeError, match="augment.*callable"):
        recipekit.data.pipeline(dataset, 2, augment="flip")


def test_channel_stats_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 4, 4, 3)).astype(np.uint8)
    dataset = tf.data.Dataset.from_tensor_slices((x, np.zeros(50, np.int64)))
    mean, std = recipekit.data.channel_stats(dataset, batch_size=7)
    np.testing.assert_allclose(mean, x.reshape(-1, 3).mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, x.reshape(-1, 3).std(0), rtol=1e-9)
