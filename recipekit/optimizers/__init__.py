"""Optimizer wrappers (weight averaging, rate factors), Muon and schedules."""

from recipekit.optimizers._ema import EMA
from recipekit.optimizers._lookahead import Lookahead
from recipekit.optimizers._muon import Muon, orthogonalize
from recipekit.optimizers._rate_factors import RateFactors
from recipekit.optimizers._schedules import PiecewiseLinear, ScaledSchedule, StepDecay

__all__ = [
    "EMA",
    "Lookahead",
    "Muon",
    "PiecewiseLinear",
    "RateFactors",
    "ScaledSchedule",
    "StepDecay",
    "orthogonalize",
]
