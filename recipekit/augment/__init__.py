"""Batched augmentation: ops, layers and policies, on the device or in tf.data.

Every op is `keras.ops` code: it runs on the backend's tensors (inside a
model, on the accelerator, any backend) and on TensorFlow tensors inside
`tf.data` (under any backend, as Keras's own preprocessing layers do), with
the same random draws in both places. `albumentations_map` is the per-image
tf.data path for albumentations pipelines and imports TensorFlow when used.
"""

import importlib

from recipekit._tensorflow import tensorflow
from recipekit.augment._auto import aug_mix, rand_augment, trivial_augment
from recipekit.augment._auto_layers import (
    AugMix,
    RandAugment,
    TrivialAugmentWide,
    auto_augment_layer,
)
from recipekit.augment._color import color_jitter
from recipekit.augment._color_jitter_layer import ColorJitter
from recipekit.augment._crop import pad_random_crop
from recipekit.augment._erasing import cutout, random_erasing
from recipekit.augment._erasing_layers import Cutout, RandomErasing
from recipekit.augment._flip import alternating_flip, random_flip
from recipekit.augment._lighting import IMAGENET_PCA, fit_pca_lighting, pca_lighting
from recipekit.augment._mixing import MixUpCutMix
from recipekit.augment._pca_lighting_layer import PCALighting
from recipekit.augment._policy import Policy, cifar_policy, imagenet_policy
from recipekit.augment._preview import preview
from recipekit.augment._random_pad_crop_layer import RandomPadCrop
from recipekit.augment._random_resized_crop_layer import RandomResizedCrop
from recipekit.augment._resized_crop import random_resized_crop
from recipekit.augment._translate import translate

# The tf.data-only path: names -> the module that defines them.
_TF_DATA = {"albumentations_map": "_albumentations"}

__all__ = [
    "IMAGENET_PCA",
    "AugMix",
    "ColorJitter",
    "Cutout",
    "MixUpCutMix",
    "PCALighting",
    "Policy",
    "RandAugment",
    "RandomPadCrop",
    "RandomErasing",
    "RandomResizedCrop",
    "TrivialAugmentWide",
    "albumentations_map",
    "alternating_flip",
    "aug_mix",
    "auto_augment_layer",
    "cifar_policy",
    "color_jitter",
    "cutout",
    "fit_pca_lighting",
    "imagenet_policy",
    "pad_random_crop",
    "pca_lighting",
    "preview",
    "rand_augment",
    "random_erasing",
    "random_flip",
    "random_resized_crop",
    "translate",
    "trivial_augment",
]


def __getattr__(name):
    if name in _TF_DATA:
        tensorflow(f"recipekit.augment.{name}")
        module = importlib.import_module(f"recipekit.augment.{_TF_DATA[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'recipekit.augment' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
