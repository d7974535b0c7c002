"""Argument checks shared by the regularization layers."""


def check_rate(rate, name="rate"):
    """A drop probability: a number in [0, 1)."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
        raise ValueError(
            f"Argument `{name}` must be a probability in [0, 1) (the chance of "
            f"dropping). Received: {name}={rate!r}"
        )
    return float(rate)


def check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(
            f"Argument `seed` must be None or an int. Received: seed={seed!r}"
        )
    return seed
