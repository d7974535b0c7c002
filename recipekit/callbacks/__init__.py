"""Keras callbacks: learning-rate control."""

from recipekit.callbacks._step_decay import StepDecay

__all__ = ["StepDecay"]
