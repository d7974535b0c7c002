import keras
import numpy as np
import pytest

import recipekit
from tests.callbacks.conftest import tiny_bn_model, tiny_data
from tests.optimizers.test_ema import Interrupt, assert_close_lists


class ManualLookahead(keras.callbacks.Callback):
    """The reference: plain SGD, and the Lookahead sync done in NumPy."""

    def __init__(self, k, alpha):
        super().__init__()
        self.k, self.alpha = k, alpha

    def on_train_begin(self, logs=None):
        self.slow = [np.array(w, np.float64) for w in self.model.trainable_weights]
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.k:
            return
        a = self.alpha(self.step)
        fast = [np.array(w, np.float64) for w in self.model.trainable_weights]
        self.slow = [s + a * (f - s) for s, f in zip(self.slow, fast, strict=True)]
        for variable, slow in zip(self.model.trainable_weights, self.slow, strict=True):
            variable.assign(slow.astype(np.float32))


def sgd():
    return keras.optimizers.SGD(0.1, momentum=0.9)


def lookahead_model(k=3, alpha=0.5, steps_per_execution=1):
    model = tiny_bn_model(0)
    optimizer = recipekit.optimizers.Lookahead(sgd(), k, alpha)
    model.compile(
        optimizer, "sparse_categorical_crossentropy",
        steps_per_execution=steps_per_execution,
    )  # fmt: skip
    return model, optimizer


def reference(k, alpha_fn, epochs=3):
    model = tiny_bn_model(0)
    model.compile(sgd(), "sparse_categorical_crossentropy")
    manual = ManualLookahead(k, alpha_fn)
    x, y = tiny_data()
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=False,
              callbacks=[manual])  # fmt: skip
    return model, manual


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_matches_sgd_with_the_sync_done_by_hand(steps_per_execution):
    if steps_per_execution > 1 and keras.backend.backend() == "torch":
        pytest.skip("Keras's PyTorch trainer runs one step per execution")
    x, y = tiny_data()  # 32 samples: 4 steps of 8 per epoch, 12 in all
    model, look = lookahead_model(3, 0.5, steps_per_execution)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    want, manual = reference(3, lambda step: 0.5)
    assert int(look.iterations) == 12 and look.synced(12)
    assert_close_lists(model.weights, want.weights, rtol=0, atol=2e-6)
    assert_close_lists(look.slow_weights, manual.slow, rtol=0, atol=2e-6)


def test_between_syncs_the_model_holds_fast_weights_until_use_slow_weights():
    x, y = tiny_data()
    model, look = lookahead_model(5, 0.5)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    want, manual = reference(5, lambda step: 0.5)
    assert not look.synced(12)
    assert_close_lists(model.trainable_weights, want.trainable_weights, atol=2e-6)
    differ = [np.abs(np.array(w) - s).max() for w, s in
              zip(model.trainable_weights, manual.slow, strict=True)]  # fmt: skip
    assert max(differ) > 1e-3  # 2 steps past the sync at step 10
    look.use_averages()
    assert_close_lists(model.trainable_weights, manual.slow, rtol=0, atol=2e-6)


def test_alpha_schedule_of_the_step_like_airbench():
    total = 12
    points = np.linspace(0, total, 5)
    alpha = recipekit.optimizers.PiecewiseLinear(
        points.tolist(), (1 - 0.95**5 * (points / total) ** 3).tolist()
    )
    x, y = tiny_data()
    model, look = lookahead_model(2, alpha)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    want, manual = reference(2, lambda step: float(alpha(step)))
    assert_close_lists(model.weights, want.weights, rtol=0, atol=2e-6)
    assert float(look.alpha_at(12)) == pytest.approx(1 - 0.95**5)


def test_saved_model_carries_the_slow_weights_and_config(tmp_path):
    alpha = recipekit.optimizers.PiecewiseLinear([0, 10], [1.0, 0.5])
    model, look = lookahead_model(3, alpha)
    x, y = tiny_data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.optimizer, recipekit.optimizers.Lookahead)
    assert loaded.optimizer.get_config() == look.get_config()
    assert isinstance(loaded.optimizer.alpha, recipekit.optimizers.PiecewiseLinear)
    assert_close_lists(loaded.optimizer.slow_weights, look.slow_weights, atol=0)


def test_keras_backup_and_restore_resumes_exactly(tmp_path):
    x, y = tiny_data()

    def run(backup, extra=()):
        model, look = lookahead_model(3, 0.5)
        callbacks = [keras.callbacks.BackupAndRestore(backup), *extra]
        model.fit(x, y, batch_size=8, epochs=4, verbose=0, shuffle=False,
                  callbacks=callbacks)  # fmt: skip
        return model, look

    straight = run(str(tmp_path / "a"))
    with pytest.raises(RuntimeError, match="killed"):
        run(str(tmp_path / "b"), [Interrupt()])
    resumed = run(str(tmp_path / "b"))
    assert int(resumed[1].iterations) == 16
    assert_close_lists(straight[1].slow_weights, resumed[1].slow_weights, atol=1e-7)
    assert_close_lists(straight[0].weights, resumed[0].weights, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sync_period": 0}, "sync_period"),
        ({"sync_period": 2.5}, "sync_period"),
        ({"sync_period": True}, "sync_period"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"alpha": "0.5"}, "alpha"),
    ],
)
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        recipekit.optimizers.Lookahead(keras.optimizers.SGD(), **kwargs)


def test_wrapping_errors():
    with pytest.raises(TypeError, match="optimizer"):
        recipekit.optimizers.Lookahead("sgd")
    inner = recipekit.optimizers.Lookahead(keras.optimizers.SGD())
    with pytest.raises(ValueError, match="must not be a Lookahead"):
        recipekit.optimizers.Lookahead(inner)
    with pytest.raises(ValueError, match="no slow weights yet"):
        inner.use_slow_weights()


def test_use_slow_weights_is_the_former_name_of_use_averages():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    look = recipekit.optimizers.Lookahead(keras.optimizers.SGD(0.5), 5, 0.5)
    model.compile(look, "mse")
    x = np.ones((4, 2), "float32")
    model.fit(x, x[:, 0], epochs=3, batch_size=4, verbose=0)
    slow = [keras.ops.convert_to_numpy(v) for v in look._slow]
    look.use_slow_weights()
    for value, weight in zip(slow, model.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(weight), value)
