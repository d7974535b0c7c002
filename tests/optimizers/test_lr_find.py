"""lr_find: the learning-rate range test, leaving the model as it was."""

import keras
import numpy as np
import pytest

import recipekit
from recipekit.optimizers import lr_find


def problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
    return x, y


def model_with(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16),
                              keras.layers.BatchNormalization(),
                              keras.layers.ReLU(), keras.layers.Dense(2)])  # fmt: skip
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer, loss, metrics=["accuracy"])
    return model


def test_the_sweep_is_geometric_and_stops_when_the_loss_diverges():
    x, y = problem()
    model = model_with(keras.optimizers.SGD(0.1))
    found = lr_find(model, x, y, min_lr=1e-3, max_lr=1e4, steps=80, verbose=0)
    full = np.geomspace(1e-3, 1e4, 80)
    assert found.rates == pytest.approx(full[: len(found.rates)].tolist())
    assert 10 < len(found.rates) < 80  # a rate of 1e4 diverges before the end
    assert len(found.losses) == len(found.smoothed) == len(found.rates)
    last = found.smoothed[-1]
    assert not np.isfinite(last) or last > 4.0 * min(found.smoothed[:-1])
    assert 1e-3 < found.suggestion < 1e2
    assert found.minimum_over_10 == pytest.approx(
        found.rates[int(np.nanargmin(found.smoothed))] / 10
    )


def test_the_model_its_optimizer_and_its_compilation_are_as_before(tmp_path):
    x, y = problem()
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
    model = model_with(optimizer)
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)  # a used optimizer
    weights = model.get_weights()  # BatchNorm's moving statistics too
    slots = [keras.ops.convert_to_numpy(v) for v in optimizer.variables]
    lr_find(model, x, y, steps=30, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(),
                                                     strict=True))  # fmt: skip
    assert model.optimizer is optimizer
    assert all(np.array_equal(a, keras.ops.convert_to_numpy(b))
               for a, b in zip(slots, optimizer.variables, strict=True))  # fmt: skip
    history = model.fit(x, y, epochs=1, batch_size=64, verbose=0)  # still trains
    assert set(history.history) == {"loss", "accuracy"}


def test_a_plot_marks_the_picks(tmp_path):
    x, y = problem()
    found = lr_find(model_with("adam"), x, y, min_lr=1e-5, max_lr=10, steps=40,
                    verbose=0)  # fmt: skip
    found.plot(str(tmp_path / "lr.png"))
    assert (tmp_path / "lr.png").stat().st_size > 10_000


def test_a_dataset_of_batches_is_repeated_as_needed():
    tf = pytest.importorskip("tensorflow")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a tf.data dataset feeds the TensorFlow backend here")
    x, y = problem()
    data = tf.data.Dataset.from_tensor_slices((x[:64], y[:64])).batch(16)
    found = lr_find(model_with("sgd"), data, steps=10, max_lr=1e-2, verbose=0)
    assert len(found.rates) == 10  # four batches, repeated


def test_a_schedule_cannot_be_swept_without_an_optimizer_of_its_own():
    x, y = problem()
    schedule = recipekit.optimizers.StepDecay(0.1, [100])
    model = model_with(keras.optimizers.SGD(schedule))
    with pytest.raises(ValueError, match="rate is a schedule. Pass optimizer="):
        lr_find(model, x, y, steps=5, verbose=0)
    found = lr_find(model, x, y, steps=5, optimizer=keras.optimizers.SGD(0.1),
                    verbose=0)  # fmt: skip
    assert len(found.rates) == 5
    assert model.optimizer.learning_rate is not None  # its schedule, untouched


def test_an_ema_wrapped_optimizer_sweeps_its_inner_rate():
    x, y = problem()
    model = model_with(recipekit.optimizers.EMA(keras.optimizers.SGD(0.1), 0.9))
    found = lr_find(model, x, y, steps=6, max_lr=1.0, verbose=0)
    assert len(found.rates) == 6 and all(np.isfinite(found.losses))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"min_lr": 0.0}, "`min_lr` must be a number in \\(0, inf\\)"),
     ({"min_lr": 1.0, "max_lr": 0.5}, "`min_lr` must be below `max_lr`"),
     ({"steps": 1}, "`steps` must be an integer >= 2"),
     ({"diverge": 1.0}, "`diverge` must be a number in \\(1, inf\\)"),
     ({"smoothing": 1.0}, "`smoothing` must be a number in \\[0, 1\\)"),
     ({"batch_size": 0}, "`batch_size` must be an integer >= 1")],
)  # fmt: skip
def test_bad_arguments_are_refused(kwargs, match):
    x, y = problem()
    with pytest.raises(ValueError, match=match):
        lr_find(model_with("sgd"), x, y, verbose=0, **kwargs)


def test_an_uncompiled_model_and_mismatched_labels_are_refused():
    x, y = problem()
    bare = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="needs a compiled model"):
        lr_find(bare, x, y)
    with pytest.raises(ValueError, match="512 images and 10 labels"):
        lr_find(model_with("sgd"), x, y[:10], verbose=0)
