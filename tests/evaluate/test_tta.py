import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import recipekit
from recipekit_cli import _tta_command as tta_command


def test_ten_crop_order_matches_numpy():
    x = np.arange(2 * 6 * 7 * 1, dtype=np.float32).reshape(2, 6, 7, 1)
    crops = keras.ops.convert_to_numpy(recipekit.evaluate.ten_crop(x, (3, 4)))
    assert crops.shape == (10, 2, 3, 4, 1)
    m = x[:, :, ::-1]
    top, left = round(3 / 2), round(3 / 2)
    # TL, TR, BL, BR, center; then the same of the mirror image.
    corners = [(0, 0), (0, 3), (3, 0), (3, 3), (top, left)]
    expected = [src[:, t : t + 3, c : c + 4] for src in (x, m) for t, c in corners]
    for got, want in zip(crops, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="larger than the images"):
        recipekit.evaluate.ten_crop(x, (7, 4))


def _asymmetric_model(size=4, logits=False):
    """Class 0 score grows with the left half's brightness, class 1 with the right's."""
    inputs = keras.Input((size, size, 1))
    x = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(2, activation=None if logits else "softmax")
    outputs = dense(x)
    model = keras.Model(inputs, outputs)
    kernel = np.zeros((size * size, 2), np.float32)
    cols = np.tile(np.arange(size), size)
    kernel[cols < size // 2, 0] = 0.1
    kernel[cols >= size // 2, 1] = 0.1
    dense.set_weights([kernel, np.zeros(2, np.float32)])
    return model


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("logits", [False, True])
def test_flip_averages_probabilities_of_both_views(logits):
    model = _asymmetric_model(logits=logits)
    x = np.random.default_rng(0).uniform(0, 10, (7, 4, 4, 1)).astype(np.float32)
    raw = model.predict(x, verbose=0)
    mirrored = model.predict(x[:, :, ::-1], verbose=0)
    if logits:
        raw, mirrored = _softmax(raw), _softmax(mirrored)
    probs = recipekit.evaluate.predict_tta(model, x, "flip", batch_size=4, verbose=0)
    np.testing.assert_allclose(probs, (raw + mirrored) / 2, rtol=1e-5)
    # The asymmetric model's flip average is exactly (0.5, 0.5).
    np.testing.assert_allclose(probs, 0.5, atol=1e-6)
    none = recipekit.evaluate.predict_tta(model, x, "none", verbose=0)
    np.testing.assert_allclose(none, raw, rtol=1e-5)


def test_ten_crop_with_pad_equals_mean_over_manual_crops():
    model = _asymmetric_model()
    x = np.random.default_rng(1).uniform(0, 5, (5, 4, 4, 1)).astype(np.float32)
    probs = recipekit.evaluate.predict_tta(
        model, x, "ten_crop", pad=1, batch_size=20, verbose=0
    )
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    crops = keras.ops.convert_to_numpy(recipekit.evaluate.ten_crop(padded, (4, 4)))
    manual = np.mean([model.predict(c, verbose=0) for c in crops], axis=0)
    np.testing.assert_allclose(probs, manual, rtol=1e-5)


def test_tta_size_and_mode_errors():
    model = _asymmetric_model()
    x = np.zeros((2, 6, 6, 1), np.float32)
    with pytest.raises(ValueError, match="takes 4x4 images but the data has 6x6"):
        recipekit.evaluate.predict_tta(model, x, "flip", verbose=0)
    with pytest.raises(ValueError, match="mode.*'five_crop'"):
        recipekit.evaluate.predict_tta(model, x, "five_crop", verbose=0)
    with pytest.raises(ValueError, match="ten copies.*pad"):
        recipekit.evaluate.predict_tta(model, x[:, :4, :4], "ten_crop", verbose=0)
    with pytest.raises(ValueError, match="ten crops would be 5x5"):
        recipekit.evaluate.predict_tta(
            model, x, "ten_crop", crop_size=(5, 5), verbose=0
        )
    with pytest.raises(ValueError, match="modes"):
        recipekit.evaluate.evaluate_tta(model, (x, [0, 1]), modes=("none", "zoom"))


def test_evaluate_tta_on_a_dataset():
    model = _asymmetric_model(logits=True)
    x = np.zeros((6, 4, 4, 1), np.float32)
    x[:3, :, :2] = 5  # Left-bright: class 0.
    x[3:, :, 2:] = 5  # Right-bright: class 1.
    y = np.array([0, 0, 0, 1, 1, 1])
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = recipekit.evaluate.evaluate_tta(
            model, ds, modes=("none", "ten_crop"), pad=1, verbose=0
        )
    assert result["none"] == 1.0
    assert set(result) == {"none", "ten_crop"}
    # The end of a finite dataset is expected: no "ran out of data" alarm.
    assert not [w for w in caught if "ran out of data" in str(w.message)]


def test_tta_command_on_a_recipe_model(load_recipe_model, capsys):
    path, data = load_recipe_model
    report = tta_command.run([path, "--data", data, "--modes", "none,flip", "--json"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == report
    assert [r["mode"] for r in report["results"]] == ["none", "flip"]
    assert report["images"] == 30 and 0 <= report["results"][1]["accuracy"] <= 1
    with pytest.raises(SystemExit):
        tta_command.run([path, "--data", data, "--modes", "zoom"])


@pytest.fixture
def load_recipe_model(tmp_path):
    """A model saved by the CIFAR recipe's own code path (tiny, untrained)."""
    model = recipekit.models.cifar_resnet(
        8, num_classes=3, mean=[127] * 3, std=[60] * 3
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    rng = np.random.default_rng(0)
    data = str(tmp_path / "d.npz")
    np.savez(
        data,
        x_test=rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8),
        y_test=np.arange(30) % 3,
    )
    return path, data


def test_flip_translate_views_are_the_shifted_and_mirrored_images():
    x = np.arange(2 * 5 * 6 * 1, dtype=np.float32).reshape(2, 5, 6, 1)
    views = keras.ops.convert_to_numpy(recipekit.evaluate.flip_translate_views(x))
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    up_left, down_right = padded[:, :5, :6], padded[:, 2:7, 2:8]
    expected = [x, up_left, down_right]
    expected = [v for e in expected for v in (e, e[:, :, ::-1])]
    assert views.shape == (6, 2, 5, 6, 1)
    for got, want in zip(views, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_flip_translate_weights_the_views_like_airbench():
    x = np.random.default_rng(0).uniform(0, 255, (8, 4, 4, 1)).astype(np.float32)
    model = _asymmetric_model(logits=True)
    probs = recipekit.evaluate.predict_tta(model, x, "flip_translate", verbose=0)
    views = keras.ops.convert_to_numpy(recipekit.evaluate.flip_translate_views(x))
    per_view = [
        keras.ops.convert_to_numpy(keras.ops.softmax(model(v), axis=-1)) for v in views
    ]
    weights = [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
    expected = sum(w * p for w, p in zip(weights, per_view, strict=True))
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)


def test_view_average_of_logits_is_the_softmax_of_the_mean_logit():
    logits = np.array([[-2.0, 1.0, 2.0], [-1.0, 0.0, 2.0], [2.0, 6.0, 1.0],
                       [0.0, 1.0, -3.0]], "float32")  # fmt: skip
    weights = [0.75, 0.25]  # 2 views of 2 images: rows 0-1 view 1, 2-3 view 2
    mean = 0.75 * logits[:2] + 0.25 * logits[2:]
    want = np.exp(mean) / np.exp(mean).sum(1, keepdims=True)
    got = recipekit.evaluate.ViewAverage(2, weights, softmax=True, average="logits")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got(logits)), want, 1e-6)
    # A softmax model's log probabilities differ from its logits by a constant
    # per view: the same result.
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    from_probs = recipekit.evaluate.ViewAverage(2, weights, average="logits")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(from_probs(probs)), want, rtol=1e-5
    )
    # The default averages probabilities, which picks another class here.
    default = recipekit.evaluate.ViewAverage(2, weights, softmax=True)
    by_probability = keras.ops.convert_to_numpy(default(logits)).argmax(1)
    assert by_probability.tolist() != want.argmax(1).tolist()
    with pytest.raises(ValueError, match="average"):
        recipekit.evaluate.ViewAverage(2, average="mean")


def test_nested_modes_and_both_averages_come_from_one_pass(monkeypatch):
    keras.utils.set_random_seed(1)  # a model whose modes and averages differ
    layers = [keras.layers.Conv2D(3, 3), keras.layers.Flatten(), keras.layers.Dense(4)]
    model = keras.Sequential([keras.Input((6, 6, 2)), *layers])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 8, (37, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 4, 37)
    modes = ("none", "flip", "flip_translate")
    alone = {
        a: {m: recipekit.evaluate.evaluate_tta(model, (x, y), m, batch_size=24,
                                               average=a, verbose=0)[m]
            for m in modes}
        for a in ("probabilities", "logits")
    }  # fmt: skip
    assert alone["logits"]["flip"] != alone["probabilities"]["flip"]
    assert alone["probabilities"]["flip_translate"] != alone["probabilities"]["none"]

    def no_second_pass(*args, **kwargs):
        raise AssertionError("predict_tta called: the views were predicted again")

    monkeypatch.setattr(recipekit.evaluate._tta, "predict_tta", no_second_pass)
    both = ("probabilities", "logits")
    shared = recipekit.evaluate.evaluate_tta(
        model, (x, y), modes, batch_size=24, average=both, verbose=0
    )
    assert shared == alone
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    one = recipekit.evaluate.evaluate_tta(model, dataset, ("flip", "none"), verbose=0)
    assert one == {"flip": alone["probabilities"]["flip"],
                   "none": alone["probabilities"]["none"]}  # fmt: skip
    assert list(one) == ["flip", "none"]  # in the order asked for


@pytest.mark.parametrize("average", ["mean", (), ("logits", "votes"), 3, None])
def test_evaluate_tta_refuses_an_unknown_average(average):
    x, y = np.zeros((2, 4, 4, 1), np.float32), np.zeros(2, int)
    with pytest.raises(ValueError, match="Argument `average` must be one of"):
        recipekit.evaluate.evaluate_tta(_asymmetric_model(), (x, y), average=average)
