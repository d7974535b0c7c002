"""Evaluation: test-time augmentation on any backend; the `recipekit-tta` command."""

from recipekit.evaluate._tta import (
    MODES,
    TTAViews,
    ViewAverage,
    evaluate_tta,
    flip_translate_views,
    predict_tta,
    ten_crop,
    tta_model,
)

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
