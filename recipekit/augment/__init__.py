"""Batched augmentation: ops and layers, on the device or in tf.data.

`DeviceImages` and `translate` are `keras.ops` code for every backend (the
training set held and augmented on the accelerator). The other ops and the
policies are the tf.data path and import TensorFlow when first used.
"""

import importlib

from recipekit._tensorflow import tensorflow
from recipekit.augment._device_images import DeviceImages, epoch_indices, translate

# The tf.data path: names -> the module that defines them (TensorFlow inside).
_TF_DATA = {
    "albumentations_map": "_albumentations",
    "color_jitter": "_color",
    "ColorJitter": "_color_jitter_layer",
    "pad_random_crop": "_crop",
    "alternating_flip": "_flip",
    "random_flip": "_flip",
    "IMAGENET_PCA": "_lighting",
    "fit_pca_lighting": "_lighting",
    "pca_lighting": "_lighting",
    "PCALighting": "_pca_lighting_layer",
    "cifar_policy": "_policy",
    "imagenet_policy": "_policy",
    "preview": "_preview",
    "RandomPadCrop": "_random_pad_crop_layer",
    "RandomResizedCrop": "_random_resized_crop_layer",
    "random_resized_crop": "_resized_crop",
}

__all__ = [
    "IMAGENET_PCA",
    "ColorJitter",
    "DeviceImages",
    "PCALighting",
    "RandomPadCrop",
    "RandomResizedCrop",
    "albumentations_map",
    "alternating_flip",
    "cifar_policy",
    "color_jitter",
    "epoch_indices",
    "fit_pca_lighting",
    "imagenet_policy",
    "pad_random_crop",
    "pca_lighting",
    "preview",
    "random_flip",
    "random_resized_crop",
    "translate",
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
