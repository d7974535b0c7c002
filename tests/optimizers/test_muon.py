import keras
import numpy as np
import pytest

import recipekit
from recipekit.optimizers import Muon, orthogonalize
from recipekit.optimizers._muon import NS_COEFFICIENTS
from tests.optimizers.test_ema import Interrupt, assert_close_lists


def numpy_orthogonalize(m, steps):
    """The iteration in float64, written out on PyTorch's (out, fan_in) layout."""
    a, b, c = NS_COEFFICIENTS
    x = m / (np.linalg.norm(m) + 1e-7)
    tall = x.shape[0] > x.shape[1]
    if tall:
        x = x.T
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def airbench_muon_steps(kernel, grads, lr, momentum, ns_steps):
    """airbench94_muon's Muon step in NumPy, on a PyTorch (out, in, kh, kw) filter."""
    w = np.transpose(kernel, (3, 2, 0, 1)).astype(np.float64)  # keras -> torch
    buf = np.zeros_like(w)
    for g in grads:
        g = np.transpose(g, (3, 2, 0, 1))
        buf = momentum * buf + g
        g = g + momentum * buf  # nesterov
        w = w * (len(w) ** 0.5 / np.linalg.norm(w))
        update = numpy_orthogonalize(g.reshape(len(g), -1), ns_steps)
        w = w - lr * update.reshape(w.shape)
    return np.transpose(w, (2, 3, 1, 0))  # torch -> keras


@pytest.mark.parametrize("shape", [(64, 20), (20, 64), (9, 9)])
def test_orthogonalize_is_the_newton_schulz_iteration(shape):
    m = np.random.default_rng(1).normal(size=shape).astype("float32")
    got = keras.ops.convert_to_numpy(orthogonalize(m, steps=5))
    want = numpy_orthogonalize(m.astype(np.float64), 5)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5)
    # It keeps the singular vectors and moves every singular value near 1.
    u, s, vt = np.linalg.svd(m.astype(np.float64), full_matrices=False)
    inner = u.T @ want @ vt.T
    np.testing.assert_allclose(inner, np.diag(np.diag(inner)), atol=1e-9)
    assert 0.65 < np.diag(inner).min() and np.diag(inner).max() < 1.2


def test_zero_matrix_stays_zero():
    got = keras.ops.convert_to_numpy(orthogonalize(np.zeros((4, 3), "float32")))
    np.testing.assert_array_equal(got, np.zeros((4, 3)))


def test_conv_filter_steps_match_airbench_on_the_pytorch_layout():
    """A (kh, kw, in, out) kernel is one (kh*kw*in, out) matrix: the same
    update airbench computes on PyTorch's (out, in*kh*kw) reshape."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 3, 4, 6)).astype("float32")
    grads = [rng.normal(size=(3, 3, 4, 6)).astype("float32") for _ in range(3)]
    kernel = keras.Variable(start)
    muon = Muon(0.24, momentum=0.6, ns_steps=3, normalize_weights=True)
    for g in grads:
        muon.apply([g], [kernel])
    want = airbench_muon_steps(start, grads, 0.24, 0.6, 3)
    np.testing.assert_allclose(kernel.numpy(), want, rtol=0, atol=2e-5)
    assert int(muon.iterations) == 3


def test_without_nesterov_or_normalisation_a_step_is_lr_times_the_orthogonal_momentum():
    rng = np.random.default_rng(2)
    start = rng.normal(size=(5, 3)).astype("float32")
    w = keras.Variable(start)
    g1, g2 = (rng.normal(size=(5, 3)).astype("float32") for _ in range(2))
    muon = Muon(0.1, momentum=0.5, nesterov=False, ns_steps=4)
    muon.apply([g1], [w])
    muon.apply([g2], [w])
    m1, m2 = g1, 0.5 * g1 + g2
    want = start - 0.1 * numpy_orthogonalize(m1, 4) - 0.1 * numpy_orthogonalize(m2, 4)
    np.testing.assert_allclose(w.numpy(), want, rtol=0, atol=2e-6)


def conv_model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, 3, use_bias=False, name="conv"),
            keras.layers.BatchNormalization(scale=False, name="bn"),
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(3, name="head"),
        ]
    )


def split_optimizer():
    return keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(
            keras.optimizers.SGD(0.05, momentum=0.85, nesterov=True),
            {".*conv/kernel": Muon(0.1, momentum=0.6, ns_steps=3,
                                   normalize_weights=True)},
        )
    )  # fmt: skip


def conv_data(n=32):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 6, 6, 2)).astype("float32")
    return x, (x[:, 0, 0, 0] > 0).astype("int64") + (x[:, 1, 1, 1] > 0)


def fit(model, optimizer, epochs=3, steps_per_execution=1, callbacks=()):
    model.compile(optimizer, "sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_execution)  # fmt: skip
    x, y = conv_data()
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=False,
              callbacks=list(callbacks))  # fmt: skip
    return model


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_in_a_multi_optimizer_the_filter_follows_muon_and_the_rest_sgd(
    steps_per_execution,
):
    if steps_per_execution > 1 and keras.backend.backend() == "torch":
        pytest.skip("Keras's PyTorch trainer runs one step per execution")
    optimizer = split_optimizer()
    model = fit(conv_model(), optimizer, steps_per_execution=steps_per_execution)
    assert int(optimizer.iterations) == 12
    kernel = model.get_layer("conv").kernel.numpy()
    # normalize_weights: the norm before the last step was sqrt(4); one step
    # of lr 0.1 with singular values near 1 moves it by well under 1.
    assert abs(np.linalg.norm(kernel) - 2.0) < 0.5
    reference = fit(conv_model(), split_optimizer(), steps_per_execution=1)
    assert_close_lists(model.weights, reference.weights, rtol=0, atol=2e-5)


def test_saved_model_carries_the_momentum_and_config(tmp_path):
    model = fit(conv_model(), split_optimizer(), epochs=1)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    (muon,) = [o for o in model.optimizer.optimizers if isinstance(o, Muon)]
    (loaded_muon,) = [o for o in loaded.optimizer.optimizers if isinstance(o, Muon)]
    assert isinstance(loaded_muon, Muon)
    assert loaded_muon.get_config() == muon.get_config()
    assert loaded_muon.get_config()["normalize_weights"] is True
    assert_close_lists(loaded_muon.variables, muon.variables, atol=0)


def test_keras_backup_and_restore_resumes_exactly(tmp_path):
    def run(backup, extra=()):
        callbacks = [keras.callbacks.BackupAndRestore(backup), *extra]
        return fit(conv_model(), split_optimizer(), epochs=4, callbacks=callbacks)

    straight = run(str(tmp_path / "a"))
    with pytest.raises(RuntimeError, match="killed"):
        run(str(tmp_path / "b"), [Interrupt()])
    resumed = run(str(tmp_path / "b"))
    assert int(resumed.optimizer.iterations) == 16
    assert_close_lists(straight.weights, resumed.weights, rtol=0, atol=1e-7)


def test_biases_and_norms_are_refused_with_the_way_out():
    model = conv_model()
    with pytest.raises(ValueError, match=r"fewer.*bn/beta.*MultiOptimizer"):
        Muon().build(model.trainable_variables)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"momentum": True}, "momentum"),
        ({"ns_steps": 0}, "ns_steps"),
        ({"ns_steps": 2.0}, "ns_steps"),
        ({"learning_rate": -0.1}, "learning_rate.*-0.1"),
        ({"learning_rate": float("nan")}, "learning_rate.*nan"),
        ({"learning_rate": float("inf")}, "learning_rate.*inf"),
    ],
)
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Muon(**kwargs)


def test_registered_under_recipekit():
    config = keras.optimizers.serialize(Muon(0.3, ns_steps=3))
    assert config["registered_name"] == "recipekit>Muon"
    restored = keras.optimizers.deserialize(config)
    assert isinstance(restored, recipekit.optimizers.Muon) and restored.ns_steps == 3


def test_keras_muon_gives_a_conv_kernel_plain_adam_not_muon():
    """What the docs say of Keras 3.15's own Muon: a 4-D kernel gets AdamW's
    step (here equal to Adam's to rounding); only 2-D variables get Muon's."""
    rng = np.random.default_rng(0)
    for shape, adam_like in (((3, 3, 4, 8), True), ((36, 8), False)):
        start = rng.normal(size=shape).astype("float32")
        gradient = rng.normal(size=shape).astype("float32")
        steps = []
        muon = keras.optimizers.Muon(0.01, weight_decay=0.0, adam_weight_decay=0.0)
        for optimizer in (muon, keras.optimizers.Adam(0.01)):
            variable = keras.Variable(start)
            optimizer.apply_gradients(
                [(keras.ops.convert_to_tensor(gradient), variable)]
            )
            steps.append(keras.ops.convert_to_numpy(variable) - start)
        assert np.allclose(steps[0], steps[1], atol=1e-6) == adam_like
