"""The CIFAR-10 sample shipped inside the package (see tools/make_cifar10_sample.py)."""

import os

NAME = "cifar10_sample"


def path() -> str:
    """Returns the path of the bundled `cifar10_sample.tar.gz`."""
    return os.path.join(os.path.dirname(__file__), "cifar10_sample.tar.gz")
