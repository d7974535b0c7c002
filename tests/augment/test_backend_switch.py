"""The one private Keras API recipekit uses: the tf.data backend switch.

These fail loudly when a Keras upgrade moves what `recipekit/augment/_backend.py`
imports, and prove the promise built on it: the same op gives the same batch
in tf.data as on the backend's own tensors, under every backend.
"""

import keras
import numpy as np
import pytest

import recipekit
from recipekit.augment import _backend

tf = pytest.importorskip("tensorflow")

MOVED = "Keras moved its tf.data backend switch: update recipekit/augment/_backend.py"


def test_the_private_pieces_are_where_keras_had_them():
    layer = recipekit.augment.ColorJitter(seed=0)
    assert isinstance(layer, _backend.DataLayer), MOVED
    assert callable(getattr(layer, "_get_seed_generator", None)), MOVED
    assert layer.backend.name == keras.backend.backend(), MOVED
    ops = _backend.ops_for(tf.zeros([1]))
    if keras.backend.backend() == "tensorflow":
        assert ops is keras.ops
    else:
        assert ops is not keras.ops
        x = tf.constant([[1, -2]], tf.int32)
        np.testing.assert_array_equal(
            ops.bitwise_xor(ops.right_shift(x, 1), 3), [[3, -4]]
        )
        assert ops.image.resize is not None, MOVED
    assert _backend.ops_for(np.zeros(1)) is keras.ops


POLICIES = {
    "cifar": lambda: recipekit.augment.cifar_policy(
        padding=3, brightness=0.3, contrast=0.2, saturation=0.4, lighting=0.1
    ),
    "imagenet": lambda: recipekit.augment.imagenet_policy(size=(10, 12)),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_gives_the_same_batch_in_tf_data_and_on_the_device(name):
    policy = POLICIES[name]()
    x = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3)).astype(np.uint8)
    seed = np.array([7, 3], np.int64)
    on_device = np.asarray(policy(keras.ops.convert_to_tensor(x), seed=seed))
    dataset = tf.data.Dataset.from_tensors(x).map(lambda b: policy(b, seed=seed))
    in_tf_data = next(iter(dataset)).numpy()
    assert in_tf_data.dtype == np.uint8 and in_tf_data.shape == on_device.shape
    np.testing.assert_array_equal(in_tf_data, on_device)
    assert not np.array_equal(on_device[:, :10, :10], x[:, :10, :10])


def test_layers_draw_the_same_in_tf_data_as_in_a_model():
    x = np.random.default_rng(1).integers(0, 256, (4, 8, 8, 3)).astype(np.float32)
    make = [
        lambda: recipekit.augment.RandomPadCrop(2, seed=5),
        lambda: recipekit.augment.ColorJitter(0.4, 0.4, 0.4, seed=5),
        lambda: recipekit.augment.PCALighting(0.1, seed=5),
    ]
    for build in make:
        direct = np.asarray(build()(x, training=True))
        layer = build()
        mapped = next(iter(tf.data.Dataset.from_tensors(x).map(layer))).numpy()
        np.testing.assert_allclose(mapped, direct, atol=1e-3)
