"""A full-batch L-BFGS linear probe: multinomial logistic regression on features."""

import keras
import numpy as np
import scipy.optimize


def probe_objective(params, features, onehot, l2):
    """Mean cross-entropy + `l2 / 2 * ||W||^2` and its gradient (float64).

    `params` is `W` (D x K) then `b` (K), flattened.
    """
    n, d = features.shape
    k = onehot.shape[1]
    weights = params[: d * k].reshape(d, k)
    bias = params[d * k :]
    logits = features @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
    log_probs = logits - log_norm
    loss = -(onehot * log_probs).sum() / n + 0.5 * l2 * (weights**2).sum()
    residual = (np.exp(log_probs) - onehot) / n
    grad_w = features.T @ residual + l2 * weights
    grad_b = residual.sum(axis=0)
    return loss, np.concatenate([grad_w.ravel(), grad_b])


def linear_probe(features, labels, l2=1e-4, max_iter=1000, num_classes=None):
    """Fits a softmax classifier on frozen features with full-batch L-BFGS.

    Minimises the mean cross-entropy plus `l2 / 2 * ||W||^2` (the bias is not
    penalised) over all examples at once: with little stochasticity and few
    parameters, a quasi-Newton method converges in tens of iterations where SGD
    needs epochs. SciPy's L-BFGS-B (float64, deterministic, a small and
    well-kept dependency) rather than TensorFlow Probability (not otherwise
    needed, and its TF 2.21 support trails TensorFlow's releases).

    Args:
        features: `(N, D)` array.
        labels: `(N,)` integer labels `0..K-1`.
        l2: penalty on the weights, >= 0.
        max_iter: L-BFGS iterations at most.
        num_classes: K; default `max(labels) + 1`.

    Returns:
        A Keras model `Input(D) -> Dense(K, softmax)` holding the solution; its
        `probe_loss` and `probe_iterations` attributes tell how it converged.

    Examples:

    >>> head = recipekit.transfer.linear_probe(train_features, train_labels)
    >>> head.predict(test_features).argmax(1)
    """
    features = np.asarray(features, np.float64)
    labels = np.asarray(labels).reshape(-1)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(
            "linear_probe() needs features (N, D) and N labels. Received shapes "
            f"{features.shape} and {labels.shape}."
        )
    if not 0 <= l2 < float("inf"):  # NaN fails too.
        raise ValueError(
            f"Argument `l2` must be a finite number >= 0. Received: l2={l2!r}"
        )
    k = int(num_classes or labels.max() + 1)
    counts = np.bincount(labels, minlength=k)
    if (counts > 0).sum() < 2:
        raise ValueError("linear_probe() needs examples of at least two classes.")
    if counts[counts > 0].min() < 2:
        raise ValueError(
            "linear_probe() needs at least two examples of every class; class "
            f"{int(np.flatnonzero(counts == 1)[0])} has one."
        )
    d = features.shape[1]
    onehot = np.eye(k)[labels]
    result = scipy.optimize.minimize(
        probe_objective,
        np.zeros(d * k + k),
        args=(features, onehot, l2),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-10, "ftol": 1e-14},
    )
    inputs = keras.Input((d,))
    dense = keras.layers.Dense(k, activation="softmax", name="probe")
    model = keras.Model(inputs, dense(inputs), name="linear_probe")
    dense.set_weights([result.x[: d * k].reshape(d, k), result.x[d * k :]])
    model.probe_loss = float(result.fun)
    model.probe_iterations = int(result.nit)
    return model
