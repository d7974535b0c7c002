"""Losses Keras lacks: crossentropy with label smoothing for integer labels."""

from recipekit.losses._smoothed import SmoothedCrossentropy

__all__ = ["SmoothedCrossentropy"]
