import keras
import numpy as np

import recipekit.tour as tour


def _distance(path, surface):
    return float(np.linalg.norm(path[-1] - np.asarray(surface.minimum)))


def test_momentum_and_adam_end_closer_than_sgd_on_the_bowl():
    bowl = tour.BOWL
    rates = bowl.learning_rates
    sgd = tour.keras_trajectory(tour.OPTIMIZERS["sgd"](rates["sgd"]), bowl, 100)
    momentum = tour.keras_trajectory(
        tour.OPTIMIZERS["momentum"](rates["momentum"]), bowl, 100
    )
    adam = tour.keras_trajectory(tour.OPTIMIZERS["adam"](rates["adam"]), bowl, 100)
    assert sgd.shape == (101, 2)
    np.testing.assert_array_equal(sgd[0], bowl.start)
    assert _distance(momentum, bowl) < _distance(sgd, bowl) / 10
    assert _distance(adam, bowl) < _distance(sgd, bowl) / 10
    # SGD zig-zags across the steep axis: y changes sign at the first steps.
    assert np.all(np.sign(sgd[1:6, 1]) != np.sign(sgd[:5, 1]))


def test_sgd_stalls_at_the_saddle_where_momentum_leaves():
    saddle = tour.SADDLE
    assert abs(saddle.start[1]) < 1e-2  # A hair off the attracting x axis.
    sgd = tour.keras_trajectory(keras.optimizers.SGD(0.01), saddle, 100)
    momentum = tour.keras_trajectory(
        keras.optimizers.SGD(0.01, momentum=0.9), saddle, 100
    )
    assert abs(sgd[-1, 1]) < 0.05  # Still next to the saddle (y ~ 0)...
    assert abs(momentum[-1, 1]) > 1.0  # ...where momentum has left it.


def test_keras_optimizer_step_matches_the_sgd_formula():
    bowl = tour.BOWL
    path = tour.keras_trajectory(keras.optimizers.SGD(0.1), bowl, 1)
    x, y = bowl.start
    expected = np.array([x - 0.1 * 0.1 * x, y - 0.1 * 10.0 * y])
    # The learning rate is a float32 variable in Keras: agreement to 1e-7.
    np.testing.assert_allclose(path[1], expected, atol=1e-7)


def test_lbfgs_reaches_the_bowl_minimum_and_adam_without_correction_jumps():
    path = tour.lbfgs_trajectory(tour.BOWL, 100)
    assert _distance(path, tour.BOWL) < 1e-4 and len(path) < 30
    raw = tour.adam_without_bias_correction(tour.BOWL, 3, learning_rate=0.1)
    corrected = tour.keras_trajectory(keras.optimizers.Adam(0.1), tour.BOWL, 3)
    first_raw = np.abs(raw[1] - raw[0])
    first_corrected = np.abs(corrected[1] - corrected[0])
    # Bias-corrected Adam's first step is lr per coordinate; without correction
    # it is (1 - beta_1) / sqrt(1 - beta_2) = 3.16 times that.
    np.testing.assert_allclose(first_corrected, 0.1, rtol=1e-4)
    np.testing.assert_allclose(first_raw, 0.1 * 0.1 / np.sqrt(0.001), rtol=1e-4)
