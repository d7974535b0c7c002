"""Optimizer wrappers (weight averaging, per-variable rate factors) and schedules."""

from recipekit.optimizers._ema import EMA
from recipekit.optimizers._lookahead import Lookahead
from recipekit.optimizers._rate_factors import RateFactors
from recipekit.optimizers._schedules import PiecewiseLinear, ScaledSchedule, StepDecay

__all__ = [
    "EMA",
    "Lookahead",
    "PiecewiseLinear",
    "RateFactors",
    "ScaledSchedule",
    "StepDecay",
]
