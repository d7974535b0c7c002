"""Optimizer paths on 2-D surfaces, with the real Keras optimizers."""

import contextlib

import keras
import numpy as np
import scipy.optimize


def keras_trajectory(optimizer, surface, steps):
    """Runs a Keras optimizer on `surface` from its start; returns the path.

    The point is a `keras.Variable`, the gradient comes from the backend's
    own autodiff, and `optimizer.apply_gradients` makes the step: exactly
    what `model.fit` does to a weight, on any backend.

    Returns:
        An array `(steps + 1, 2)` of positions, the start first.
    """
    with _float64():
        point = keras.Variable(np.asarray(surface.start, np.float64), dtype="float64")
        optimizer.build([point])
        fun = _value_and_gradient(surface)
        path = [keras.ops.convert_to_numpy(point)]
        for _ in range(steps):
            _, gradient = fun(path[-1])
            gradient = keras.ops.convert_to_tensor(gradient, dtype="float64")
            optimizer.apply_gradients([(gradient, point)])
            path.append(keras.ops.convert_to_numpy(point))
    return np.stack(path)


def _float64():
    """float64 for the duration (JAX computes in float32 unless asked)."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def _value_and_gradient(surface):
    """`fun(xy) -> (loss, gradient)` on NumPy, by the backend's autodiff."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        grad = jax.value_and_grad(lambda xy: surface(xy))

        def fun(xy):
            with _float64():
                loss, gradient = grad(jax.numpy.asarray(xy, jax.numpy.float64))
                return float(loss), np.asarray(gradient, np.float64)

        return fun
    if backend == "torch":
        import torch

        def fun(xy):
            point = torch.tensor(xy, dtype=torch.float64, requires_grad=True)
            loss = surface(point)
            loss.backward()
            return float(loss), point.grad.numpy()

        return fun
    import tensorflow as tf

    def fun(xy):
        point = tf.constant(xy, tf.float64)
        with tf.GradientTape() as tape:
            tape.watch(point)
            loss = surface(point)
        return float(loss), tape.gradient(loss, point).numpy()

    return fun


def lbfgs_trajectory(surface, steps):
    """Full-batch L-BFGS (SciPy's L-BFGS-B) from the surface's start.

    Returns:
        An array of the iterates, the start first (at most `steps + 1` rows;
        fewer when it converges early).
    """
    path = [np.asarray(surface.start, np.float64)]
    scipy.optimize.minimize(
        _value_and_gradient(surface),
        path[0],
        jac=True,
        method="L-BFGS-B",
        callback=lambda xk: path.append(np.array(xk)),
        options={"maxiter": steps},
    )
    return np.stack(path)


def adam_without_bias_correction(
    surface, steps, learning_rate, beta_1=0.9, beta_2=0.999
):
    """Adam with the bias correction left out, to show its too-large first steps.

    Keras's Adam always corrects the bias, so this one line of the tour is
    written out: `m` and `v` start at zero and stay small for the first steps,
    and `m / sqrt(v)` is then about `(1 - beta_1) / sqrt(1 - beta_2)` = 3.2
    times a unit step.
    """
    fun = _value_and_gradient(surface)
    position = np.asarray(surface.start, np.float64)
    m = np.zeros(2)
    v = np.zeros(2)
    path = [position.copy()]
    for _ in range(steps):
        _, gradient = fun(position)
        m = beta_1 * m + (1 - beta_1) * gradient
        v = beta_2 * v + (1 - beta_2) * gradient**2
        position = position - learning_rate * m / (np.sqrt(v) + 1e-7)
        path.append(position.copy())
    return np.stack(path)
