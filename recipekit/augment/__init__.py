"""Batched, in-graph augmentation ops and policies."""

from recipekit.augment._crop import pad_random_crop
from recipekit.augment._flip import random_flip
from recipekit.augment._policy import cifar_policy

__all__ = ["cifar_policy", "pad_random_crop", "random_flip"]
