"""Model builders: CIFAR ResNets."""

from recipekit.models._cifar_resnet import cifar_resnet
from recipekit.models._shortcut import ZeroPadShortcut

__all__ = ["ZeroPadShortcut", "cifar_resnet"]
