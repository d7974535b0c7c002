"""Model builders: CIFAR ResNets, the fast CIFAR net, transfer-learning backbones."""

from recipekit._sublayers import sublayers
from recipekit.models._batch_norm import recompute_batch_norm
from recipekit.models._cifar_resnet import cifar_resnet
from recipekit.models._ensemble import ensemble_model
from recipekit.models._fast_net import PartialIdentity, fast_cifar_net
from recipekit.models._fast_optimizers import fast_cifar_muon, fast_cifar_sgd
from recipekit.models._outputs import logits_model
from recipekit.models._preprocess import ImagePreprocessing
from recipekit.models._shortcut import ZeroPadShortcut
from recipekit.models._transfer import BACKBONES, transfer_model
from recipekit.models._whitening import PatchWhitening, patch_whitening_kernel

__all__ = [
    "BACKBONES",
    "ImagePreprocessing",
    "PartialIdentity",
    "PatchWhitening",
    "ZeroPadShortcut",
    "cifar_resnet",
    "ensemble_model",
    "fast_cifar_muon",
    "fast_cifar_net",
    "fast_cifar_sgd",
    "logits_model",
    "patch_whitening_kernel",
    "recompute_batch_norm",
    "sublayers",
    "transfer_model",
]
