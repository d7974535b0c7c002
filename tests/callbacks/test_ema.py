import os

import keras
import numpy as np
import pytest

import recipekit
from tests.callbacks.conftest import tiny_bn_model, tiny_data
from tests.conftest import run_child


class RecordWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_begin(self, logs=None):
        self.start = [np.array(w) for w in self.model.get_weights()]

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([np.array(w) for w in self.model.get_weights()])


def reference_ema(start, steps, decay, warmup=True):
    shadow = [w.astype(np.float64) for w in start]
    for t, weights in enumerate(steps):
        d = min(decay, (1 + t) / (10 + t)) if warmup else decay
        shadow = [d * s + (1 - d) * w for s, w in zip(shadow, weights)]
    return shadow


def test_ema_recursion_matches_numpy_step_by_step_including_batchnorm():
    model = tiny_bn_model()
    x, y = tiny_data()
    record = RecordWeights()
    ema = recipekit.callbacks.EMA(decay=0.9)
    model.fit(
        x, y, batch_size=8, epochs=3, verbose=0, shuffle=False, callbacks=[record, ema]
    )
    assert len(record.steps) == 12
    expected = reference_ema(record.start, record.steps, 0.9)
    names = [w.path for w in model.weights]
    assert any("moving_mean" in n for n in names)
    for name, got, want in zip(names, ema.shadow_weights, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)
    # The model keeps its raw weights after fit.
    for got, raw in zip(model.get_weights(), record.steps[-1]):
        np.testing.assert_array_equal(got, raw)


def test_without_non_trainable_only_trainables_are_averaged():
    model = tiny_bn_model()
    x, y = tiny_data()
    ema = recipekit.callbacks.EMA(decay=0.5, warmup=False, average_non_trainable=False)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ema])
    assert len(ema.shadow_weights) == len(model.trainable_weights)


def test_validation_in_fit_uses_ema_weights():
    model = tiny_bn_model()
    x, y = tiny_data()
    ema = recipekit.callbacks.EMA(decay=0.8)
    history = model.fit(
        x, y, batch_size=8, epochs=2, verbose=0, validation_data=(x, y), callbacks=[ema]
    )
    raw_loss = model.evaluate(x, y, verbose=0)[0]
    with ema.swapped(model):
        ema_loss = model.evaluate(x, y, verbose=0)[0]
    assert history.history["val_loss"][-1] == pytest.approx(ema_loss, rel=1e-5)
    assert abs(raw_loss - ema_loss) > 1e-4
    # Swapping back restores the raw weights exactly.
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(raw_loss, rel=1e-6)
    ema.apply(model)
    assert model.evaluate(x, y, verbose=0)[0] == pytest.approx(ema_loss, rel=1e-5)


def test_steps_per_execution_gives_the_same_average(deterministic):
    x, y = tiny_data()
    shadows = []
    for steps in (1, 4):
        model = tiny_bn_model()
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            steps_per_execution=steps,
        )
        ema = recipekit.callbacks.EMA(decay=0.7)
        model.fit(
            x, y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[ema]
        )
        shadows.append(ema.shadow_weights)
    for a, b in zip(*shadows):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_polyak_average_from_start_epoch():
    model = tiny_bn_model()
    x, y = tiny_data()
    record = RecordWeights()
    ema = recipekit.callbacks.EMA(decay=None, start_epoch=2)
    model.fit(
        x, y, batch_size=8, epochs=4, verbose=0, shuffle=False, callbacks=[record, ema]
    )
    averaged = record.steps[8:]  # Epochs 2 and 3, four steps each.
    for got, *values in zip(ema.shadow_weights, *averaged):
        np.testing.assert_allclose(got, np.mean(values, axis=0), rtol=1e-5, atol=1e-6)


def test_recompute_batch_norm_sets_cumulative_batch_statistics():
    model = tiny_bn_model()
    x, _ = tiny_data(24)
    batches = [x[i : i + 8] for i in range(0, 24, 8)]
    used = recipekit.callbacks.recompute_batch_norm(model, batches)
    dense = model.layers[0]
    hidden = [keras.ops.convert_to_numpy(dense(b)) for b in batches]
    bn = model.layers[1]
    np.testing.assert_allclose(
        bn.moving_mean.numpy(), np.mean([h.mean(0) for h in hidden], 0), rtol=1e-5
    )
    np.testing.assert_allclose(
        bn.moving_variance.numpy(), np.mean([h.var(0) for h in hidden], 0), rtol=1e-4
    )
    assert used == 3 and bn.momentum == 0.8
    assert recipekit.callbacks.recompute_batch_norm(model, batches, steps=1) == 1


@pytest.mark.parametrize(
    "kwargs", [{"decay": 1.0}, {"decay": 0}, {"decay": -0.5}, {"start_epoch": -1}]
)
def test_argument_errors(kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[0]):
        recipekit.callbacks.EMA(**kwargs)


def test_swapped_needs_a_trained_model():
    ema = recipekit.callbacks.EMA()
    with pytest.raises(ValueError, match="pass the model"):
        with ema.swapped(tiny_bn_model()):
            pass


def test_mirrored_training_with_ema():
    # Logical devices must be set before TensorFlow starts: a fresh process.
    report = run_child(os.path.join(os.path.dirname(__file__), "mirrored_ema_child.py"))
    assert report["replicas"] == 2
    assert report["error"] < 1e-5
