import os

import albumentations as A
import keras
import numpy as np
import pytest
from PIL import Image

import recipekit

LAYERS = [
    lambda: recipekit.augment.RandomPadCrop(2, seed=1),
    lambda: recipekit.augment.ColorJitter(0.3, 0.2, 0.1, seed=2),
    lambda: recipekit.augment.PCALighting(0.1, seed=3),
    lambda: recipekit.augment.RandomResizedCrop((8, 8), scale=(0.5, 1.0), seed=4),
    lambda: recipekit.augment.RandomErasing(1.0, seed=5),
    lambda: recipekit.augment.Cutout(3, value=(0, 10, 20), seed=6),
    lambda: recipekit.augment.RandAugment(2, 9, seed=7),
    lambda: recipekit.augment.TrivialAugmentWide(seed=8),
    lambda: recipekit.augment.AugMix(seed=9),
]


def _uint8(n=4, h=8, w=8):
    return np.random.default_rng(0).integers(0, 256, (n, h, w, 3)).astype(np.uint8)


@pytest.mark.parametrize("make", LAYERS)
def test_layer_round_trip_and_identity_at_inference(make, tmp_path):
    layer = make()
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), layer, keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    x = _uint8().astype(np.float32)
    # Inside a model at inference the layer is the identity: the output is the
    # dense layer applied to the raw pixels.
    kernel, bias = model.layers[-1].get_weights()
    expected = x.reshape(len(x), -1) @ kernel + bias
    # Sums of 192 products of pixels up to 255: a result near 0 carries the
    # rounding of the large terms, so the tolerance scales with the largest.
    scale = np.abs(expected).max()
    np.testing.assert_allclose(
        model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5 * scale
    )
    assert not np.allclose(np.asarray(layer(x, training=True)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.layers[0]) is type(layer)
    assert loaded.layers[0].get_config() == layer.get_config()
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5
    )


@pytest.mark.parametrize("make", LAYERS)
def test_layer_in_tf_data_on_single_images_repeats_with_seed(make):
    """In tf.data under every backend (TensorFlow runs the layer there, and
    returns the layer's compute dtype, as Keras's own preprocessing layers)."""
    tf = pytest.importorskip("tensorflow")

    def run():
        layer = make()
        ds = tf.data.Dataset.from_tensor_slices(_uint8(6))
        return np.stack([x.numpy() for x in ds.map(lambda x: layer(x))])

    a, b = run(), run()
    assert a.dtype == np.float32 and a.shape == (6, 8, 8, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _uint8(6))


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="padding"):
        recipekit.augment.RandomPadCrop(-1)
    with pytest.raises(ValueError, match="value_range"):
        recipekit.augment.ColorJitter(value_range=(1, 0))
    with pytest.raises(ValueError, match="together"):
        recipekit.augment.PCALighting(0.1, eigenvalues=[1, 2, 3])
    with pytest.raises(ValueError, match="rank|shape"):
        recipekit.augment.RandomPadCrop(1)(np.zeros((2, 2), np.float32))


def test_policies_in_tf_data_and_in_a_model():
    tf = pytest.importorskip("tensorflow")
    x = _uint8(8, 12, 12)
    policy = recipekit.augment.cifar_policy(
        padding=2, brightness=0.2, contrast=0.2, saturation=0.2, lighting=0.1
    )
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(8))).batch(4)
    out = ds.map(lambda images, y: (policy(images), y))
    batch, labels = next(iter(out))
    assert batch.dtype == tf.uint8 and batch.shape == (4, 12, 12, 3)
    assert labels.numpy().tolist() == [0, 1, 2, 3]
    layers = policy.as_layers(seed=0)
    names = [type(layer).__name__ for layer in layers.layers]
    assert names == ["RandomPadCrop", "RandomFlip", "ColorJitter", "PCALighting"]
    model = keras.Sequential(
        [keras.Input((12, 12, 3)), layers, keras.layers.GlobalAveragePooling2D()]
    )
    assert tuple(model(x.astype(np.float32), training=True).shape) == (8, 3)
    imagenet = recipekit.augment.imagenet_policy(size=(10, 10))
    assert tuple(imagenet(x, seed=1).shape) == (8, 10, 10, 3)
    views = imagenet.as_layers()(x.astype(np.float32), training=True)
    assert tuple(views.shape) == (8, 10, 10, 3)
    assert "brightness=0.4" in repr(imagenet)


def test_random_resized_crop_full_box_is_identity_and_boxes_vary():
    x = _uint8(3, 9, 9)
    same = recipekit.augment.random_resized_crop(
        x, (9, 9), scale=(1.0, 1.0), ratio=(1.0, 1.0), seed=0
    )
    np.testing.assert_array_equal(np.asarray(same), x)
    flat = (
        np.tile(np.arange(16, dtype=np.float32)[None, None, :, None], (50, 16, 1, 3))
        / 15
    )
    out = np.asarray(
        recipekit.augment.random_resized_crop(flat, (4, 4), scale=(0.1, 0.5), seed=1)
    )
    lefts = out[:, 0, 0, 0]
    assert len(np.unique(lefts.round(4))) > 40 and out.max() <= 1.0
    with pytest.raises(ValueError, match="scale"):
        recipekit.augment.random_resized_crop(x, (4, 4), scale=(0.5, 0.1))


@pytest.mark.tf_only
def test_albumentations_map_passes_labels_and_sets_shapes():
    import tensorflow as tf

    x = _uint8(6)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(6)))
    flip = A.Compose([A.HorizontalFlip(p=1.0)])
    out = ds.apply(recipekit.augment.albumentations_map(flip))
    assert out.element_spec[0].shape == (8, 8, 3)
    images = np.stack([a.numpy() for a, _ in out])
    np.testing.assert_array_equal(images, x[:, :, ::-1])
    assert [int(y) for _, y in out] == list(range(6))
    resize = A.Compose([A.Resize(4, 5)])
    batched = ds.batch(3).apply(
        recipekit.augment.albumentations_map(resize, output_size=(4, 5))
    )
    assert batched.element_spec[0].shape.as_list() == [None, 4, 5, 3]
    assert next(iter(batched))[0].shape == (3, 4, 5, 3)


@pytest.mark.tf_only
def test_albumentations_map_refuses_tpu(monkeypatch):
    from recipekit.augment import _albumentations

    monkeypatch.setattr(_albumentations, "_under_tpu", lambda: True)
    with pytest.raises(ValueError, match="cannot run on a TPU.*cifar_policy"):
        recipekit.augment.albumentations_map(A.Compose([]))


def test_preview_writes_a_grid(tmp_path):
    ds, names = (_uint8(5, 16, 16), np.array([0, 1, 0, 1, 1])), ["a", "b"]
    path = recipekit.augment.preview(
        ds,
        recipekit.augment.cifar_policy(),
        str(tmp_path / "p" / "grid.png"),
        num_images=2,
        num_views=3,
        class_names=names,
    )
    assert os.path.exists(path)
    with Image.open(path) as image:
        width, height = image.size
    assert (width, height) == (560, 280)  # 4 columns, 2 rows of 1.4 in at 100 dpi.
    with pytest.raises(ValueError, match="num_views"):
        recipekit.augment.preview(
            ds, recipekit.augment.cifar_policy(), path, num_views=0
        )


def test_crop_resize_matches_tf_crop_and_resize():
    """The keras.ops resampling on this backend against TensorFlow's kernel."""
    tf = pytest.importorskip("tensorflow")
    from recipekit.augment._resized_crop import crop_resize

    x = np.random.default_rng(0).uniform(0, 1, (3, 9, 7, 2)).astype(np.float32)
    boxes = np.array([[0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], [0.3, 0.1, 0.5, 0.6]])
    boxes = boxes.astype(np.float32)
    reference = tf.image.crop_and_resize(x, boxes, tf.range(3), (5, 4)).numpy()
    edges = [keras.ops.convert_to_tensor(boxes[:, i]) for i in range(4)]
    out = crop_resize(keras.ops, keras.ops.convert_to_tensor(x), *edges, (5, 4))
    np.testing.assert_allclose(np.asarray(out), reference, atol=1e-6)
