import keras
import numpy as np
import pytest

import recipekit
from recipekit.transfer._probe import probe_objective


def _cifar_model(weights=None, classes=3):
    keras.utils.set_random_seed(0)
    return recipekit.models.transfer_model(
        "cifar_resnet20", classes, (32, 32, 3), weights=weights, dropout=0.0
    )


def test_weights_file_loads_exactly(tmp_path):
    _, backbone = _cifar_model()
    path = str(tmp_path / "backbone.weights.h5")
    backbone.save_weights(path)
    keras.utils.set_random_seed(1)
    _, loaded = recipekit.models.transfer_model(
        "cifar_resnet20", 4, (32, 32, 3), weights=path
    )
    for a, b in zip(backbone.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    bad = str(tmp_path / "other.weights.h5")
    other.save_weights(bad)
    # Keras warns once per skipped container before our error: expected here.
    with (
        pytest.warns(UserWarning, match="Skipping nested container"),
        pytest.raises(ValueError, match="other.weights.h5.*does not match backbone"),
    ):
        recipekit.models.transfer_model("cifar_resnet20", 4, (32, 32, 3), weights=bad)
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        recipekit.models.transfer_model(
            "MobileNetV2", 4, (32, 32, 3), weights="missing.weights.h5"
        )


def test_freeze_leaves_only_the_head_trainable_and_preprocessing_serializes(tmp_path):
    model, backbone = _cifar_model()
    assert backbone.trainable_weights == []
    assert [w.path.split("/")[-1] for w in model.trainable_weights] == [
        "kernel",
        "bias",
    ]
    recipekit.transfer.unfreeze(backbone, fraction=1.0)
    recipekit.transfer.freeze(backbone)
    assert backbone.trainable_weights == []
    path = str(tmp_path / "m.keras")
    model.save(path)
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5
    )


def test_fine_tuning_after_unfreeze_keeps_batchnorm_untouched():
    model, backbone = _cifar_model()
    names = recipekit.transfer.unfreeze(backbone, fraction=0.5)
    assert names and not any("batch_normalization" in n for n in names)
    bns = [x for x in backbone.layers if isinstance(x, keras.layers.BatchNormalization)]
    assert all(not bn.trainable for bn in bns)
    before_bn = [np.array(w) for bn in bns for w in bn.weights]
    convs = [x for x in backbone.layers if isinstance(x, keras.layers.Conv2D)]
    before_top, before_bottom = np.array(convs[-1].kernel), np.array(convs[0].kernel)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy"
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 32, 32, 3)).astype("float32")
    model.fit(x, np.arange(16) % 3, batch_size=8, epochs=2, verbose=0)
    for before, w in zip(before_bn, [w for bn in bns for w in bn.weights], strict=True):
        np.testing.assert_array_equal(before, np.array(w))
    assert not np.allclose(before_top, np.array(convs[-1].kernel))
    np.testing.assert_array_equal(before_bottom, np.array(convs[0].kernel))


def _newton_optimum(features, labels, l2, k):
    """An independent solver: Newton's method with the exact Hessian."""
    n, d = features.shape
    onehot = np.eye(k)[labels]
    params = np.zeros(d * k + k)
    x1 = np.hstack([features, np.ones((n, 1))])
    for _ in range(50):
        loss, grad = probe_objective(params, features, onehot, l2)
        w = np.vstack([params[: d * k].reshape(d, k), params[d * k :]])
        logits = x1 @ w
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        hessian = np.zeros(((d + 1) * k, (d + 1) * k))
        for i in range(n):
            s = np.diag(p[i]) - np.outer(p[i], p[i])
            hessian += np.kron(np.outer(x1[i], x1[i]), s) / n
        reg = np.zeros((d + 1, k))
        reg[:d] = l2
        hessian += np.diag(reg.ravel())
        g = np.vstack([grad[: d * k].reshape(d, k), grad[d * k :]]).ravel()
        step = np.linalg.solve(hessian + 1e-12 * np.eye(len(g)), g).reshape(d + 1, k)
        w = w - step
        params = np.concatenate([w[:d].ravel(), w[d]])
    return probe_objective(params, features, onehot, l2)[0], params


def test_lbfgs_probe_reaches_the_newton_optimum():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 4)) * 1.5
    labels = np.repeat(np.arange(3), 30)
    features = centers[labels] + rng.normal(size=(90, 4))
    head = recipekit.transfer.linear_probe(features, labels, l2=1e-2)
    optimum, params = _newton_optimum(features, labels, 1e-2, 3)
    assert abs(head.probe_loss - optimum) < 1e-3
    assert head.probe_loss == pytest.approx(optimum, abs=1e-8)
    kernel, bias = head.get_layer("probe").get_weights()
    np.testing.assert_allclose(kernel.ravel(), params[:12], atol=1e-3)
    probs = head.predict(features, verbose=0)
    assert probs.shape == (90, 3) and (probs.argmax(1) == labels).mean() > 0.8


@pytest.mark.parametrize(
    "labels, fragment",
    [([0] * 6, "at least two classes"), ([0, 0, 0, 1, 1, 2], "class 2 has one")],
)
def test_probe_rejects_degenerate_labels(labels, fragment):
    with pytest.raises(ValueError, match=fragment):
        recipekit.transfer.linear_probe(np.zeros((6, 2)), np.array(labels))


def test_extract_features_and_bad_arguments():
    model, _ = _cifar_model()
    extractor = recipekit.transfer.feature_extractor(model)
    x = np.random.default_rng(0).integers(0, 256, (10, 32, 32, 3), np.uint8)
    y = np.arange(10) % 3
    features, labels = recipekit.transfer.extract_features(
        extractor, (x, y), batch_size=4, verbose=0
    )
    assert features.shape == (10, 64) and labels.tolist() == y.tolist()
    direct = keras.ops.convert_to_numpy(extractor(x.astype(np.float32)))
    np.testing.assert_allclose(features, direct, rtol=1e-4, atol=1e-5)
    if keras.backend.backend() == "tensorflow":  # A tf.data.Dataset, unbatched.
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices((x, y))
        streamed, _ = recipekit.transfer.extract_features(
            extractor, ds, batch_size=3, verbose=0
        )
        np.testing.assert_allclose(streamed, features, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        recipekit.transfer.extract_features(extractor, (x, y[:9]), verbose=0)
    with pytest.raises(ValueError, match="Unknown backbone 'VGG99'.*MobileNetV2"):
        recipekit.models.transfer_model("VGG99", 3, (32, 32, 3), weights=None)
    with pytest.raises(ValueError, match="cannot take input_shape"):
        recipekit.models.transfer_model("MobileNetV2", 3, (16, 16, 3), weights=None)
    _, backbone = _cifar_model()
    with pytest.raises(ValueError, match=r"fraction.*\(0, 1\]"):
        recipekit.transfer.unfreeze(backbone, fraction=1.5)
    with pytest.raises(ValueError, match="no weighted layer"):
        recipekit.transfer.unfreeze(backbone, from_layer="nope")
