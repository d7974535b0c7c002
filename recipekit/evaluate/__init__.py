"""Evaluation: test-time augmentation on any backend; the `recipekit-tta` command."""

from recipekit.evaluate._layers import TTAViews, ViewAverage
from recipekit.evaluate._modes import MODES
from recipekit.evaluate._tta import evaluate_tta, predict_tta, tta_model
from recipekit.evaluate._views import flip_translate_views, ten_crop

__all__ = [
    "MODES",
    "TTAViews",
    "ViewAverage",
    "evaluate_tta",
    "flip_translate_views",
    "predict_tta",
    "ten_crop",
    "tta_model",
]
