"""Batched, in-graph augmentation ops, Keras layers, policies and TTA."""

from recipekit.augment._albumentations import albumentations_map
from recipekit.augment._color import color_jitter
from recipekit.augment._color_jitter_layer import ColorJitter
from recipekit.augment._crop import pad_random_crop
from recipekit.augment._flip import alternating_flip, random_flip
from recipekit.augment._lighting import IMAGENET_PCA, fit_pca_lighting, pca_lighting
from recipekit.augment._pca_lighting_layer import PCALighting
from recipekit.augment._policy import cifar_policy, imagenet_policy
from recipekit.augment._preview import preview
from recipekit.augment._random_pad_crop_layer import RandomPadCrop
from recipekit.augment._random_resized_crop_layer import RandomResizedCrop
from recipekit.augment._resized_crop import random_resized_crop
from recipekit.augment._tta import (
    evaluate_tta,
    flip_translate_views,
    predict_tta,
    ten_crop,
)

__all__ = [
    "IMAGENET_PCA",
    "ColorJitter",
    "PCALighting",
    "RandomPadCrop",
    "RandomResizedCrop",
    "albumentations_map",
    "alternating_flip",
    "cifar_policy",
    "color_jitter",
    "evaluate_tta",
    "fit_pca_lighting",
    "flip_translate_views",
    "imagenet_policy",
    "pad_random_crop",
    "pca_lighting",
    "predict_tta",
    "preview",
    "random_flip",
    "random_resized_crop",
    "ten_crop",
]
