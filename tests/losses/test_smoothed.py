"""SmoothedCrossentropy: label smoothing for integer labels, and soft targets."""

import keras
import numpy as np
import pytest

import recipekit
from recipekit.losses import SmoothedCrossentropy

LOGITS = np.array([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0]], "float32")
LABELS = np.array([0, 1, 1])


def numpy_loss(targets, logits, smoothing):
    targets = targets * (1 - smoothing) + smoothing / logits.shape[-1]
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return float(-(targets * log_p).sum(-1).mean())


def value(loss, y_true, y_pred=LOGITS):
    return float(keras.ops.convert_to_numpy(loss(y_true, y_pred)))


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_integer_labels_are_smoothed_exactly(smoothing):
    loss = SmoothedCrossentropy(smoothing, from_logits=True)
    want = numpy_loss(np.eye(3)[LABELS], LOGITS, smoothing)
    assert value(loss, LABELS) == pytest.approx(want, rel=1e-6)
    assert value(loss, LABELS[:, None]) == pytest.approx(want, rel=1e-6)  # (B, 1)


def test_without_smoothing_it_is_keras_sparse_crossentropy():
    for from_logits in (True, False):
        y_pred = LOGITS if from_logits else keras.ops.softmax(LOGITS)
        ours = SmoothedCrossentropy(0.0, from_logits=from_logits)
        keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        assert value(ours, LABELS, y_pred) == pytest.approx(
            value(keras_loss, LABELS, y_pred), rel=1e-5
        )


def test_keras_sparse_crossentropy_has_no_label_smoothing():
    """What this loss is for: Keras 3.15 refuses the argument."""
    with pytest.raises(TypeError, match="label_smoothing"):
        keras.losses.SparseCategoricalCrossentropy(label_smoothing=0.1)


def test_one_hot_targets_match_keras_categorical_smoothing():
    one_hot = np.eye(3, dtype="float32")[LABELS]
    ours = SmoothedCrossentropy(0.2, from_logits=True)
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True,
                                                      label_smoothing=0.2)  # fmt: skip
    assert value(ours, one_hot) == pytest.approx(value(keras_loss, one_hot), rel=1e-6)


def test_soft_targets_of_a_mixed_batch():
    mixed = 0.7 * np.eye(3)[LABELS] + 0.3 * np.eye(3)[[2, 0, 1]]
    loss = SmoothedCrossentropy(0.1, from_logits=True)
    want = numpy_loss(mixed, LOGITS, 0.1)
    assert value(loss, mixed.astype("float32")) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"label_smoothing": 1.0}, "label_smoothing` must be a number in \\[0, 1\\)"),
     ({"label_smoothing": -0.1}, "label_smoothing"),
     ({"label_smoothing": "0.1"}, "label_smoothing"),
     ({"from_logits": 1}, "from_logits` must be True or False")],
)  # fmt: skip
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmoothedCrossentropy(**kwargs)


def test_a_model_trains_saves_and_loads_with_it(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("sgd", SmoothedCrossentropy(0.1, from_logits=True))
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.arange(32) % 3
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.loss, SmoothedCrossentropy)
    assert loaded.loss.get_config() == model.loss.get_config()
    assert recipekit.losses.SmoothedCrossentropy is SmoothedCrossentropy
