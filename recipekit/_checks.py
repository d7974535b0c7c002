"""Argument checks every package uses, with Keras-style messages.

check_number("decay", decay, "(0, 1)")  # raises ValueError:
# Argument `decay` must be a number in (0, 1). Received: decay=1.5
"""

import math

import numpy as np

from recipekit._intervals import describe_interval, in_interval


def is_number(value):
    """A real number (Python or NumPy), not a bool."""
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def is_integer(value):
    """A whole number (Python or NumPy int), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_number(name, value, interval, integer=False, none=False):
    """`value` (a number, or an integer when `integer`) in `interval`; with
    `none`, None passes too. Returns it as a float (or int)."""
    if none and value is None:
        return None
    kind = is_integer(value) if integer else is_number(value)
    if not kind or not in_interval(value, interval):
        what = "an integer" if integer else "a number"
        where = describe_interval(interval)
        raise ValueError(
            f"Argument `{name}` must be {'None or ' if none else ''}{what} {where}. "
            f"Received: {name}={value!r}"
        )
    return int(value) if integer else float(value)


def check_rate(rate, name="rate"):
    """A drop probability: a number in [0, 1)."""
    if not is_number(rate) or not 0 <= rate < 1:
        raise ValueError(
            f"Argument `{name}` must be a probability in [0, 1) (the chance of "
            f"dropping). Received: {name}={rate!r}"
        )
    return float(rate)


def check_seed(seed):
    """None or an int seed."""
    if seed is not None and not is_integer(seed):
        raise ValueError(
            f"Argument `seed` must be None or an int. Received: seed={seed!r}"
        )
    return None if seed is None else int(seed)


def check_factor(name, value, upper=None):
    """A jitter strength: a finite number >= 0 (and <= `upper` if given)."""
    if (
        not is_number(value)
        or not math.isfinite(value)
        or value < 0
        or (upper is not None and value > upper)
    ):
        bound = f"in [0, {upper}]" if upper is not None else ">= 0"
        raise ValueError(
            f"Argument `{name}` must be a finite number {bound}. Received: "
            f"{name}={value!r}"
        )
    return float(value)
