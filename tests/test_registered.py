"""One harness over every object recipekit registers under `recipekit>`.

Layers: built and called in a model (training and inference), their config
round-trips, the model saves to `.keras` and loads with `safe_mode=True`
predicting the same, and it runs under `mixed_bfloat16`. Schedules,
initializers and optimizers: config and `keras.saving` round trips. A newly
registered object without an entry in SPECS fails `test_every_registered_object_
has_a_spec`, so nothing ships untested.
"""

import keras
import numpy as np
import pytest

import recipekit


def image(shape=(2, 8, 8, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


# name -> (factory, input array, tf_only). Inputs are batches of 2.
LAYERS = {
    "BatchNormAct": (lambda: recipekit.layers.BatchNormAct("gelu", momentum=0.6),
                     image((2, 4, 4, 3)), False),
    "StochasticDepth": (lambda: recipekit.layers.StochasticDepth(0.5, seed=1),
                        image((2, 4, 4, 3)), False),
    "DropConnectDense": (lambda: recipekit.layers.DropConnectDense(3, 0.5, seed=1),
                         image((2, 5)), False),
    "DropConnectConv2D": (lambda: recipekit.layers.DropConnectConv2D(
        4, 3, 0.5, seed=1), image(), False),
    "FractionalMaxPooling2D": (lambda: recipekit.layers.FractionalMaxPooling2D(
        seed=1), image(), False),
    "TapConv2D": (lambda: recipekit.layers.TapConv2D(4, 3), image(), False),
    "ImagePreprocessing": (lambda: recipekit.models.ImagePreprocessing("torch"),
                           image(), False),
    "ZeroPadShortcut": (lambda: recipekit.models.ZeroPadShortcut(6, 2), image(), False),
    "PatchWhitening": (lambda: recipekit.models.PatchWhitening(2), image(), False),
    "DeviceImages": (lambda: recipekit.data.DeviceImages(
        4, (8, 8, 3), images=image((4, 8, 8, 3)).astype("uint8"), seed=1),
        np.array([[0, 0], [3, 1]], "int32"), False),
    "TTAViews": (lambda: recipekit.evaluate.TTAViews("flip_translate"), image(), False),
    "ViewAverage": (lambda: recipekit.evaluate.ViewAverage(2, [0.25, 0.75]),
                    image((4, 3)), False),
    "RandomPadCrop": (lambda: recipekit.augment.RandomPadCrop(2, seed=1),
                      image(), False),
    "RandomResizedCrop": (lambda: recipekit.augment.RandomResizedCrop(
        (6, 6), seed=1), image(), False),
    "ColorJitter": (lambda: recipekit.augment.ColorJitter(seed=1), image(), False),
    "PCALighting": (lambda: recipekit.augment.PCALighting(seed=1), image(), False),
    "RandomErasing": (lambda: recipekit.augment.RandomErasing(1.0, seed=1),
                      image(), False),
    "Cutout": (lambda: recipekit.augment.Cutout(3, seed=1), image(), False),
    "RandAugment": (lambda: recipekit.augment.RandAugment(seed=1), image(), False),
    "TrivialAugmentWide": (lambda: recipekit.augment.TrivialAugmentWide(seed=1),
                           image(), False),
    "AugMix": (lambda: recipekit.augment.AugMix(seed=1), image(), False),
}  # fmt: skip

OTHERS = {
    "PiecewiseLinear": lambda: recipekit.optimizers.PiecewiseLinear(
        [0, 10], [1.0, 0.0]
    ),
    "StepDecay": lambda: recipekit.optimizers.StepDecay(0.1, [5], warmup_steps=2),
    "ScaledSchedule": lambda: recipekit.optimizers.ScaledSchedule(
        recipekit.optimizers.PiecewiseLinear([0, 10], [1.0, 0.0]), 4.0
    ),
    "PartialIdentity": lambda: recipekit.models.PartialIdentity(seed=0),
    "EMA": lambda: recipekit.optimizers.EMA(keras.optimizers.SGD(0.1), 0.9),
    "Lookahead": lambda: recipekit.optimizers.Lookahead(
        keras.optimizers.SGD(0.1),
        5,
        recipekit.optimizers.PiecewiseLinear([0, 9], [1, 0.5]),
    ),
    "Muon": lambda: recipekit.optimizers.Muon(
        0.24, 0.6, ns_steps=3, normalize_weights=True
    ),
    "SmoothedCrossentropy": lambda: recipekit.losses.SmoothedCrossentropy(
        0.2, from_logits=True
    ),
    "RateFactors": lambda: recipekit.optimizers.RateFactors(
        keras.optimizers.SGD(0.1), {"a": 2.0}
    ),
}


def registered():
    for module in ("augment", "evaluate", "layers", "losses", "models", "optimizers"):
        getattr(recipekit, module)
    for name in recipekit.augment.__all__:  # The lazily imported tf.data layers.
        if keras.backend.backend() == "tensorflow":
            getattr(recipekit.augment, name)
    return sorted(
        key.split(">", 1)[1]
        for key in keras.saving.get_custom_objects()
        if key.startswith("recipekit>")
    )


def test_every_registered_object_has_a_spec():
    missing = set(registered()) - set(LAYERS) - set(OTHERS)
    assert not missing, f"Registered without a harness entry: {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_harness(name, tmp_path):
    make, x, tf_only = LAYERS[name]
    if tf_only and keras.backend.backend() != "tensorflow":
        pytest.skip("written in TensorFlow ops (tf_only)")
    layer = make()
    inputs = keras.Input(x.shape[1:], dtype=x.dtype.name)
    model = keras.Model(inputs, layer(inputs))
    inference = keras.ops.convert_to_numpy(model(x, training=False))
    training = keras.ops.convert_to_numpy(model(x, training=True))
    assert training.shape == inference.shape
    assert np.all(np.isfinite(inference))
    # Shapes: the symbolic output, compute_output_shape and the real one agree.
    assert tuple(model.output_shape[1:]) == inference.shape[1:]
    assert tuple(layer.compute_output_shape(x.shape)) == inference.shape
    # One training step through (a fresh copy of) the layer, on every backend;
    # the TTA layers turn a batch into its views and back: inference only.
    if name not in ("TTAViews", "ViewAverage"):
        head = keras.layers.Dense(1)(keras.layers.Flatten()(make()(inputs)))
        trainer = keras.Model(inputs, head)
        trainer.compile(keras.optimizers.SGD(0.01), "mse")
        y = np.zeros((len(x), 1), "float32")
        history = trainer.fit(x, y, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    # Config round trip: the same config, and a layer that builds from it.
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    # .keras round trip with safe_mode: same inference outputs (read again:
    # the training calls above moved BatchNormAct's moving statistics).
    inference = keras.ops.convert_to_numpy(model(x, training=False))
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    if name == "DeviceImages":  # Holds data, which its files leave out.
        loaded.layers[-1].set_images(keras.ops.convert_to_numpy(layer.images))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)), inference,
        rtol=1e-5, atol=1e-5,
    )  # fmt: skip
    # Mixed precision: the layer runs with bfloat16 compute.
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = make()
        assert mixed.compute_dtype == "bfloat16"
        out = mixed(keras.ops.convert_to_tensor(x), training=True)
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(
            keras.ops.cast(out, "float32"))))  # fmt: skip
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_serializable_objects_round_trip(name):
    obj = OTHERS[name]()
    config = obj.get_config()
    assert type(obj).from_config(config).get_config() == config
    again = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(obj)
    )
    assert type(again) is type(obj) and again.get_config() == config


def test_import_recipekit_is_enough_to_load_a_saved_model(tmp_path):
    import subprocess
    import sys

    model = recipekit.models.fast_cifar_net(3, widths=(8, 8, 8))
    path = str(tmp_path / "fast.keras")
    model.save(path)
    code = (
        "import keras, recipekit; "
        f"m = keras.saving.load_model({path!r}, safe_mode=True); print(m.name)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == model.name
