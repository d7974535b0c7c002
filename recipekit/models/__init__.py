"""Model builders: CIFAR ResNets and transfer-learning backbones."""

from recipekit.models._cifar_resnet import cifar_resnet
from recipekit.models._preprocess import ImagePreprocessing
from recipekit.models._shortcut import ZeroPadShortcut
from recipekit.models._transfer import BACKBONES, transfer_model

__all__ = [
    "BACKBONES",
    "ImagePreprocessing",
    "ZeroPadShortcut",
    "cifar_resnet",
    "transfer_model",
]
