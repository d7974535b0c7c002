"""Optimizer wrappers (weight averaging, rate factors), Muon and schedules."""

from recipekit.optimizers._ema import EMA, find_ema
from recipekit.optimizers._lookahead import Lookahead
from recipekit.optimizers._lr_find import LRFindResult, lr_find
from recipekit.optimizers._muon import Muon, orthogonalize
from recipekit.optimizers._rate_factors import RateFactors, layer_decay_factors
from recipekit.optimizers._schedules import PiecewiseLinear, ScaledSchedule, StepDecay

__all__ = [
    "EMA",
    "LRFindResult",
    "Lookahead",
    "Muon",
    "PiecewiseLinear",
    "RateFactors",
    "ScaledSchedule",
    "StepDecay",
    "find_ema",
    "layer_decay_factors",
    "lr_find",
    "orthogonalize",
]
