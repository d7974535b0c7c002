"""Per-image horizontal flips: random, or derandomized (alternating)."""

from recipekit import _random
from recipekit._checks import is_integer
from recipekit.augment._backend import ops_for
from recipekit.augment._images import batch_size, check_images


def flip_where(ops, images, mirror):
    """Mirrors left-right the images whose `mirror` (B,) entry is true."""
    return ops.where(mirror[:, None, None, None], ops.flip(images, axis=2), images)


def random_coins(ops, key, batch):
    """(B,) booleans, each true with probability 0.5."""
    return ops.equal(_random.randint(ops, key, (batch,), 2), 1)


def random_flip(images, seed=None):
    """Mirrors each image left-right with probability 0.5, decided per image.

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        seed: None, an int, or a shape-(2,) integer tensor.

    Returns:
        The batch, same shape and dtype.

    Examples:

    >>> x = np.zeros([8, 32, 32, 3], np.uint8)
    >>> tuple(recipekit.augment.random_flip(x, seed=0).shape)
    (8, 32, 32, 3)
    """
    ops = ops_for(images, seed)
    images = check_images(ops, images)
    if images.shape[0] == 0:
        return images
    key = _random.make_key(ops, seed)
    return flip_where(ops, images, random_coins(ops, key, batch_size(ops, images)))


def alternating_flip(images, indices, epoch, seed=0):
    """Derandomized flips: each image is mirrored in every other epoch.

    Image `i` is mirrored in epoch 0 with probability 0.5 (a fixed hash of
    `i` and `seed`), and from then on exactly when it was not in the epoch
    before. Over any two consecutive epochs the network sees both views of
    every image, where independent random flips show about a quarter of the
    images the same way twice (Jordan, 2024, section 3.6: worth about the
    same as 20% more epochs at a 10-epoch budget).

    Args:
        images: a batch `(B, H, W, C)`, uint8 or float.
        indices: `(B,)` integer ids of the images in the dataset (stable
            across epochs, e.g. from `Dataset.enumerate()` before shuffling).
        epoch: the 0-based epoch, a Python or scalar tensor integer.
        seed: an integer picking the epoch-0 pattern.

    Returns:
        The batch, same shape and dtype.

    Examples:

    >>> x = np.zeros([8, 32, 32, 3], np.uint8)
    >>> y = recipekit.augment.alternating_flip(x, np.arange(8), epoch=1)
    >>> tuple(y.shape)
    (8, 32, 32, 3)
    """
    ops = ops_for(images, indices, epoch)
    images = check_images(ops, images)
    indices = ops.convert_to_tensor(indices)
    if "int" not in str(indices.dtype) or len(indices.shape) != 1:
        raise ValueError(
            "Argument `indices` must be a 1-D integer tensor, one id per image. "
            f"Received dtype {indices.dtype}, shape {tuple(indices.shape)}"
        )
    if not is_integer(seed):
        raise ValueError(f"Argument `seed` must be an int. Received: seed={seed!r}")
    key = _random.make_key(ops, seed)
    coin = ops.bitwise_and(_random.mix(ops, ops.cast(indices, "int32") + key), 1)
    odd = ops.mod(ops.cast(epoch, "int32"), 2)
    return flip_where(ops, images, ops.not_equal(coin, odd))
