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


def test_resumable_pipeline_goes_on_where_a_killed_run_stopped():
    dataset, _ = _dataset()

    def flip_some(images, seed):  # Seeded augmentation, as a policy's.
        coin = tf.random.stateless_uniform([tf.shape(images)[0]], seed) < 0.5
        return tf.where(coin[:, None, None, None], 255 - images, images)

    def batches(start):
        stream = recipekit.data.pipeline(
            dataset, 4, training=True, augment=flip_some, seed=3, epochs=3,
            start_epoch=start,
        )  # fmt: skip
        return [(x.numpy(), y.numpy()) for x, y in stream]

    whole, resumed = batches(0), batches(2)
    assert len(whole) == 6 and len(resumed) == 2  # 2 steps per epoch.
    for (xa, ya), (xb, yb) in zip(whole[4:], resumed, strict=True):
        np.testing.assert_array_equal(ya, yb)
        np.testing.assert_array_equal(xa, xb)
    epochs = [np.concatenate([y for _, y in whole[i : i + 2]]) for i in (0, 2, 4)]
    assert epochs[0].tolist() != epochs[1].tolist()  # Reshuffled every epoch.
    with pytest.raises(ValueError, match="integer `seed`"):
        recipekit.data.pipeline(dataset, 4, training=True, epochs=2)
    assert batches(3) == []  # Training had finished.
    with pytest.raises(ValueError, match="start_epoch <= epochs"):
        recipekit.data.pipeline(dataset, 4, training=True, seed=0, epochs=2,
                                start_epoch=3)  # fmt: skip


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
