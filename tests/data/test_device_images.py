import keras
import numpy as np
import pytest

import recipekit
from recipekit.augment import translate
from recipekit.data import DeviceImages, epoch_indices


def numbered_images(n=6, size=6):
    """Image i holds i * 36 + pixel index in channel 0, so crops can be traced."""
    x = np.zeros((n, size, size, 3), np.uint8)
    x[..., 0] = (np.arange(n)[:, None, None] * 36 + np.arange(size * size).reshape(
        size, size)) % 256  # fmt: skip
    x[..., 1] = np.arange(n)[:, None, None]
    return x


def reflect_crops(image, pixels):
    padded = np.pad(image, [(pixels, pixels), (pixels, pixels), (0, 0)], "reflect")
    size = image.shape[0]
    return [padded[r : r + size, c : c + size] for r in range(2 * pixels + 1)
            for c in range(2 * pixels + 1)]  # fmt: skip


def test_translate_gives_one_reflect_padded_crop_per_image_and_covers_them_all():
    x = numbered_images(n=64).astype("float32")
    out = keras.ops.convert_to_numpy(translate(x, 1, seed=3))
    seen = set()
    for image, shifted in zip(x, out, strict=True):
        crops = reflect_crops(image, 1)
        matches = [i for i, c in enumerate(crops) if np.array_equal(c, shifted)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == set(range(9))  # 64 draws hit all 9 offsets.
    again = keras.ops.convert_to_numpy(translate(x, 1, seed=3))
    np.testing.assert_array_equal(out, again)  # Seeded: repeats exactly.
    assert translate(x, 0, seed=0) is x


def test_alternating_flips_mirror_every_image_in_every_other_epoch():
    x = numbered_images(n=32)
    layer = DeviceImages(32, x.shape[1:], images=x, translate=0, seed=1)
    index = np.arange(32)
    views = []
    for epoch in range(3):
        pairs = np.stack([index, np.full(32, epoch)], 1).astype("int32")
        views.append(keras.ops.convert_to_numpy(layer(pairs, training=True)))
    mirrored = [
        np.array([np.array_equal(v, img[:, ::-1]) for v, img in
                  zip(view, x, strict=True)]) for view in views
    ]  # fmt: skip
    plain = [np.array([np.array_equal(v, img) for v, img in
                       zip(view, x, strict=True)]) for view in views]  # fmt: skip
    for m, p in zip(mirrored, plain, strict=True):
        assert np.all(m ^ p)  # Each image is either mirrored or not.
    assert np.all(mirrored[0] != mirrored[1]) and np.all(mirrored[0] == mirrored[2])
    assert 8 < mirrored[0].sum() < 24  # Epoch 0: a fair coin per image.
    # Inference only gathers: no flips, no shifts.
    pairs = np.stack([index, np.ones(32)], 1).astype("int32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(pairs)), x)


def test_random_flips_and_shifts_per_image_and_config_round_trip(tmp_path):
    x = numbered_images(n=16)
    layer = DeviceImages(16, x.shape[1:], images=x, flip="random", translate=2,
                         seed=0)  # fmt: skip
    pairs = np.stack([np.arange(16), np.zeros(16)], 1).astype("int32")
    out = keras.ops.convert_to_numpy(layer(pairs, training=True))
    for image, view in zip(x, out, strict=True):
        crops = reflect_crops(image, 2) + reflect_crops(image[:, ::-1], 2)
        assert any(np.array_equal(c, view) for c in crops)
    same = DeviceImages.from_config(layer.get_config())
    assert same.get_config() == layer.get_config()
    inputs = keras.Input((2,), dtype="int32")
    model = keras.Model(inputs, layer(inputs))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    # The file holds the coins, not the data (set it again): same draws.
    loaded.layers[-1].set_images(x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(pairs)), x)
    coins = keras.ops.convert_to_numpy(layer.coins)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded.layers[-1].coins),
                                  coins)  # fmt: skip
    weights = tmp_path / "w.weights.h5"
    model.save_weights(str(weights))
    assert weights.stat().st_size < 20_000  # 16 images of 6x6x3 are not in it.


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_images": 0}, "num_images"),
        ({"image_shape": (4, 4)}, "image_shape"),
        ({"flip": "sometimes"}, "flip"),
        ({"translate": 6}, "translate"),
        ({"translate": -1}, "translate"),
    ],
)
def test_argument_errors(kwargs, match):
    args = {"num_images": 2, "image_shape": (6, 6, 3), **kwargs}
    with pytest.raises(ValueError, match=match):
        DeviceImages(**args)


def test_set_images_checks_shape_and_dtype():
    layer = DeviceImages(2, (6, 6, 3))
    with pytest.raises(ValueError, match="holds 2 images"):
        layer.set_images(np.zeros((3, 6, 6, 3), np.uint8))
    with pytest.raises(TypeError, match="uint8"):
        layer.set_images(np.zeros((2, 6, 6, 3), np.float32))


@pytest.mark.parametrize("shape", [(6, 6, 3), (5, 5, 3)])  # 108, 75 bytes
def test_packed_pixels_give_the_same_batches(shape):
    """pack=True (4 pixels per int32, as under MultiWorkerMirroredStrategy)
    holds a quarter of the elements and yields the very same images."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, *shape), dtype=np.uint8)
    images[0] = 255  # the top byte: int32's sign bit
    plain = DeviceImages(7, shape, images=images, flip="random", seed=3)
    packed = DeviceImages(7, shape, images=images, flip="random", seed=3, pack=True)
    assert plain.pack is False and packed.pack is True
    assert tuple(packed.images.shape) == (7, -(-int(np.prod(shape)) // 4))
    assert packed.images.dtype == "int32"
    pairs = np.array([[i, e] for e in range(3) for i in range(7)], "int32")
    for training in (False, True):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(packed(pairs, training=training)),
            keras.ops.convert_to_numpy(plain(pairs, training=training)),
        )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(packed(pairs[:7])), images.astype(np.float32)
    )
    assert DeviceImages.from_config(packed.get_config()).pack is True


def test_epoch_indices_are_seeded_per_epoch_and_resume():
    positions, pairs = epoch_indices(10, 4, epochs=3, seed=5)
    assert pairs.shape == (24, 2) and pairs.dtype == np.int32
    assert pairs[:, 1].tolist() == [0] * 8 + [1] * 8 + [2] * 8
    np.testing.assert_array_equal(positions, pairs[:, 0])
    assert len(set(positions[:8])) == 8  # A permutation within each epoch.
    assert positions[:8].tolist() != positions[8:16].tolist()
    _, resumed = epoch_indices(10, 4, epochs=3, seed=5, start_epoch=1)
    np.testing.assert_array_equal(resumed, pairs[8:])
    with pytest.raises(ValueError, match="fewer than one batch"):
        epoch_indices(3, 4, epochs=1, seed=0)


def test_training_model_with_device_images_learns_and_validates_on_the_net():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    y = (x[..., 0].mean(axis=(1, 2)) > 127).astype("int64")
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                            keras.layers.GlobalAveragePooling2D(),
                            keras.layers.Dense(2)])  # fmt: skip
    data = DeviceImages(64, (8, 8, 3), images=x, translate=1, seed=0)
    inputs = keras.Input((2,), dtype="int32")
    model = keras.Model(inputs, net(data(inputs)))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(recipekit.optimizers.EMA(keras.optimizers.SGD(0.5), 0.5), loss)
    net.compile(
        loss=loss,
        metrics=["accuracy"],
    )
    positions, pairs = epoch_indices(64, 16, epochs=3, seed=0)
    validate = recipekit.callbacks.Validate(net, (x, y), batch_size=32)
    history = model.fit(pairs, y[positions], batch_size=16, epochs=3,
                        steps_per_epoch=4, shuffle=False, verbose=0,
                        callbacks=[validate])  # fmt: skip
    assert len(history.history["val_accuracy"]) == 3
    ema = model.optimizer
    with ema.swapped():
        want = net.evaluate(x, y, verbose=0, return_dict=True)
    assert history.history["val_loss"][-1] == pytest.approx(want["loss"], rel=1e-5)


class Stop(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("killed")


def test_a_killed_run_on_device_images_resumes_to_the_same_weights(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (32, 8, 8, 3), dtype=np.uint8)
    y = np.arange(32) % 2

    def run(backup, extra=()):
        keras.utils.set_random_seed(0)
        layers = [keras.layers.Rescaling(1 / 255), keras.layers.Flatten()]
        net = keras.Sequential([keras.Input((8, 8, 3)), *layers, keras.layers.Dense(2)])
        data = DeviceImages(32, (8, 8, 3), images=x, flip="random", translate=2)
        inputs = keras.Input((2,), dtype="int32")
        model = keras.Model(inputs, net(data(inputs)))
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(keras.optimizers.SGD(0.1, momentum=0.9), loss)
        start = recipekit.callbacks.backup_epoch(backup)
        positions, pairs = epoch_indices(32, 8, 4, seed=0, start_epoch=start)
        callbacks = [keras.callbacks.BackupAndRestore(backup), *extra]
        model.fit(pairs, y[positions], batch_size=8, epochs=4, steps_per_epoch=4,
                  shuffle=False, verbose=0, callbacks=callbacks)  # fmt: skip
        return net.get_weights()

    straight = run(str(tmp_path / "a"))
    with pytest.raises(RuntimeError, match="killed"):
        run(str(tmp_path / "b"), [Stop()])
    resumed = run(str(tmp_path / "b"))
    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
