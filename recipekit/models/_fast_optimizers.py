"""The optimizers of airbench94 and airbench94_muon, for `fast_cifar_net`."""

import keras
import numpy as np

from recipekit._checks import check_number
from recipekit.optimizers import Muon, PiecewiseLinear, RateFactors


def fast_cifar_sgd(
    total_steps,
    batch_size=1024,
    learning_rate=1.5,
    momentum=0.85,
    weight_decay=0.0089,
    bn_shift_lr=64.0,
    warmup=0.2,
    final_lr=0.0,
    cycles=1,
):
    """airbench94's optimizer: Nesterov SGD, a triangular rate, shifts at 64x.

    The rate rises linearly from `0.2 * peak` to the peak over the first
    `warmup` of the steps, then falls linearly to `final_lr * peak`; the peak
    is `learning_rate * batch_size / 1024` (a mean loss). Weight decay is
    decoupled (`w -= lr * weight_decay * w` per step) and the BatchNorm shifts
    of `fast_cifar_net` (variables named `*_bn/beta`) train at `bn_shift_lr`
    times the rate (`recipekit.optimizers.RateFactors`). With `cycles=M` the
    triangle runs M times, each over `total_steps / M` steps, restarting at
    `0.2 * peak` (a snapshot ensemble's cycles, `callbacks.SnapshotEnsemble`).

    Args:
        total_steps: training steps in all (epochs x steps per epoch).
        batch_size: images per step.
        learning_rate: the peak for batch 1024.
        momentum: Nesterov momentum.
        weight_decay: decoupled weight decay per step.
        bn_shift_lr: rate multiplier of the BatchNorm shifts.
        warmup: fraction of the steps to the peak, in (0, 1).
        final_lr: the rate at the end, times the peak, in [0, 1].
        cycles: how many times the schedule runs; must divide `total_steps`.

    Examples:

    >>> optimizer = recipekit.models.fast_cifar_sgd(total_steps=490)
    >>> type(optimizer).__name__
    'RateFactors'
    """
    check_number("total_steps", total_steps, "[1, inf)", integer=True)
    check_number("warmup", warmup, "(0, 1)")
    check_number("final_lr", final_lr, "[0, 1]")
    length = cycle_length(total_steps, cycles)
    peak = learning_rate * batch_size / 1024
    schedule = cyclic([0, warmup * length, length], [0.2 * peak, peak, final_lr * peak],
                      cycles)  # fmt: skip
    optimizer = keras.optimizers.SGD(
        schedule, momentum=momentum, nesterov=True, weight_decay=weight_decay
    )
    return RateFactors(optimizer, {"_bn/beta": bn_shift_lr})


def fast_cifar_muon(
    total_steps,
    whitening_bias_steps,
    batch_size=2000,
    muon_lr=0.24,
    muon_momentum=0.6,
    bias_lr=0.053,
    head_lr=0.67,
    weight_decay=2e-6,
    momentum=0.85,
    cycles=1,
):
    """airbench94_muon's optimizer: Muon for the conv filters, SGD for the rest.

    Muon (Nesterov, 3 Newton-Schulz steps, filters normalised to norm
    `sqrt(out)`) trains the `*_conv/kernel`s of `fast_cifar_net`; Nesterov SGD
    trains the classifier (`head_lr`), the whitening bias (`bias_lr`, for
    `whitening_bias_steps` only) and the BatchNorm shifts (`bias_lr`). Every
    rate falls linearly to 0 from the first step. Rates and decay are
    airbench's, per image of a summed loss, so they are multiplied by
    `batch_size` for Keras's mean loss; airbench's coupled decay, which goes
    through the momentum (1 / (1 - momentum) times as much once steady) and
    falls with the rate, is decoupled here. With `cycles=M` every rate but the
    whitening bias's falls M times, each over `total_steps / M` steps,
    restarting at its peak (a snapshot ensemble's cycles).

    Args:
        total_steps: training steps in all.
        whitening_bias_steps: steps during which the whitening bias trains.
        batch_size: images per step.
        muon_lr: Muon's rate.
        muon_momentum: Muon's Nesterov momentum.
        bias_lr: per-image rate of the shifts and the whitening bias.
        head_lr: per-image rate of the classifier.
        weight_decay: per-image weight decay of the SGD groups.
        momentum: the SGD groups' Nesterov momentum.
        cycles: how many times the rates fall; must divide `total_steps`.

    Returns:
        A `keras.optimizers.MultiOptimizer` with groups `muon`, `sgd_head`,
        `sgd_whitening` and `sgd_shifts` (the default).

    Examples:

    >>> optimizer = recipekit.models.fast_cifar_muon(200, whitening_bias_steps=75)
    >>> type(optimizer).__name__
    'MultiOptimizer'
    """
    check_number("total_steps", total_steps, "[1, inf)", integer=True)
    check_number("whitening_bias_steps", whitening_bias_steps, "[1, inf)", integer=True)
    check_number("momentum", momentum, "[0, 1)")
    length = cycle_length(total_steps, cycles)

    def falling(rate, until=None):  # from `rate` linearly to 0 each cycle, or
        if until is None:  # once, to 0 at `until`, then 0
            return cyclic([0, length], [rate, 0.0], cycles)
        if until >= total_steps:
            return PiecewiseLinear([0, total_steps], [rate, 0.0])
        return PiecewiseLinear([0, until, total_steps], [rate, 0, 0])

    def sgd(per_image, name, until=None):
        rate = per_image * batch_size  # a summed loss's rate, for a mean
        decay = weight_decay * batch_size / (1 - momentum)
        return keras.optimizers.SGD(
            falling(rate, until),
            momentum=momentum,
            nesterov=True,
            weight_decay=decay / rate,
            name=name,
        )

    muon = Muon(
        falling(muon_lr),
        momentum=muon_momentum,
        nesterov=True,
        ns_steps=3,
        normalize_weights=True,
    )
    groups = {
        ".*_conv/kernel": muon,
        ".*logits/kernel": sgd(head_lr, "sgd_head"),
        ".*whitening/bias": sgd(bias_lr, "sgd_whitening", whitening_bias_steps),
    }
    default = sgd(bias_lr, "sgd_shifts")  # the BatchNorm shifts
    return keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(default, groups)
    )


def cycle_length(total_steps, cycles):
    """Steps per cycle: `total_steps / cycles`, a whole number, or a ValueError."""
    check_number("cycles", cycles, "[1, inf)", integer=True)
    if total_steps % cycles:
        raise ValueError(
            f"Argument `cycles` must divide `total_steps`. Received: cycles={cycles}, "
            f"total_steps={total_steps}"
        )
    return total_steps // cycles


def cyclic(steps, values, cycles):
    """`PiecewiseLinear(steps, values)` (from step 0 to `steps[-1]`, a cycle's
    length) run `cycles` times back to back: every whole step of every cycle
    gets the one-cycle rate, and the next cycle starts at the first value."""
    if cycles == 1:
        return PiecewiseLinear(steps, values)
    length = steps[-1]
    last = float(np.interp(length - 1, steps, values))  # a cycle's last step
    cycle = [(s, v) for s, v in zip(steps, values, strict=True) if s < length - 1]
    cycle.append((length - 1, last))
    points = [(c * length + s, v) for c in range(cycles) for s, v in cycle]
    return PiecewiseLinear(*zip(*points, strict=True))
