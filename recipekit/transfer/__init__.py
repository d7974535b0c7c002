"""Transfer learning: freeze / unfreeze, feature extraction, the L-BFGS probe."""

from recipekit.transfer._features import extract_features, feature_extractor
from recipekit.transfer._freeze import freeze, unfreeze
from recipekit.transfer._probe import linear_probe

__all__ = [
    "extract_features",
    "feature_extractor",
    "freeze",
    "linear_probe",
    "unfreeze",
]
