"""Two-dimensional loss surfaces that show how optimizers differ."""

import dataclasses

import keras
import numpy as np


@dataclasses.dataclass(frozen=True)
class Surface:
    """A 2-D function to optimise, with a start point and a plotting window.

    `loss(x, y)` is written with arithmetic operators only, so it takes NumPy
    arrays and any backend's tensors, and the backend differentiates it.
    """

    name: str
    title: str
    loss: object
    start: tuple
    minimum: tuple
    window: tuple  # (x_min, x_max, y_min, y_max)
    learning_rates: dict  # optimizer name -> learning rate used on this surface
    steps: int = 100

    def __call__(self, point):
        return self.loss(point[0], point[1])


def _bowl(x, y):
    # Condition number 100: steep along y, flat along x.
    return 0.5 * (0.1 * x**2 + 10.0 * y**2)


def _saddle(x, y):
    # A saddle at the origin: attracting along x, repelling along y; minima at
    # y = +-sqrt(2) keep the surface bounded.
    return 0.5 * x**2 - y**2 + 0.25 * y**4


def _two_wells(x, y):
    # A shallow local minimum near x = 1.1 and the global one near x = -1.3.
    return 0.25 * x**4 - x**2 + 0.5 * x + 0.5 * y**2 + 0.5


BOWL = Surface(
    "bowl",
    "Ill-conditioned bowl 0.05 x² + 5 y²",
    _bowl,
    start=(-9.0, 1.5),
    minimum=(0.0, 0.0),
    window=(-10.0, 2.0, -2.0, 2.0),
    # SGD's rate is near the steep axis' limit (2 / 10), so it zig-zags there.
    learning_rates={"sgd": 0.18, "momentum": 0.12, "nesterov": 0.12,
                    "adagrad": 1.0, "rmsprop": 0.1, "adam": 0.2},
)  # fmt: skip
SADDLE = Surface(
    "saddle",
    "Saddle x²/2 - y² + y⁴/4 (start a hair off y = 0)",
    _saddle,
    start=(1.5, 1e-3),
    minimum=(0.0, 2**0.5),
    window=(-2.0, 2.0, -2.0, 2.0),
    learning_rates={"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01,
                    "adagrad": 0.1, "rmsprop": 0.01, "adam": 0.01},
)  # fmt: skip
TWO_WELLS = Surface(
    "local_minimum",
    "Local and global minimum x⁴/4 - x² + x/2 + y²/2",
    _two_wells,
    start=(2.2, 1.0),
    minimum=(-1.5, 0.0),
    window=(-2.5, 2.5, -1.5, 1.5),
    learning_rates={"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05,
                    "adagrad": 0.5, "rmsprop": 0.05, "adam": 0.1},
)  # fmt: skip
SURFACES = (BOWL, SADDLE, TWO_WELLS)

# The lecture's defaults: momentum 0.9, RMSProp decay 0.9, Adam 0.9 / 0.999 with
# bias correction (Keras's Adam always corrects).
OPTIMIZERS = {
    "sgd": lambda lr: keras.optimizers.SGD(lr),
    "momentum": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "nesterov": lambda lr: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "adagrad": lambda lr: keras.optimizers.Adagrad(lr),
    "rmsprop": lambda lr: keras.optimizers.RMSprop(lr, rho=0.9),
    "adam": lambda lr: keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.999),
}


def grid(surface, points=200):
    """`(X, Y, Z)` arrays of the loss over the surface's window, for contours."""
    x0, x1, y0, y1 = surface.window
    X, Y = np.meshgrid(np.linspace(x0, x1, points), np.linspace(y0, y1, points))
    return X, Y, surface.loss(X, Y)
