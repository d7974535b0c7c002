"""Augmentation policies: one callable that transforms a whole batch."""

from recipekit.augment._crop import PAD_MODES, pad_random_crop
from recipekit.augment._flip import random_flip
from recipekit.augment._seed import split_seed


class CifarPolicy:
    """Pad-and-crop then horizontal flip, per image, on whole batches.

    Call it as `policy(images, seed=None)` or hand it to
    `recipekit.data.pipeline(..., augment=policy)`.
    """

    def __init__(self, padding=4, mode="reflect", flip=True):
        if not isinstance(padding, int) or isinstance(padding, bool) or padding < 0:
            raise ValueError(
                "Argument `padding` must be an integer >= 0. Received: "
                f"padding={padding!r}"
            )
        if mode not in PAD_MODES:
            raise ValueError(
                f"Argument `mode` must be one of {PAD_MODES}. Received: mode={mode!r}"
            )
        self.padding = padding
        self.mode = mode
        self.flip = bool(flip)

    def __call__(self, images, seed=None):
        crop_seed, flip_seed = split_seed(seed, 2)
        images = pad_random_crop(images, self.padding, self.mode, seed=crop_seed)
        if self.flip:
            images = random_flip(images, seed=flip_seed)
        return images

    def get_config(self):
        return {"padding": self.padding, "mode": self.mode, "flip": self.flip}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"cifar_policy({args})"


def cifar_policy(padding=4, mode="reflect", flip=True):
    """The standard CIFAR augmentation: pad 4 (reflect), random 32x32 crop, flip.

    Each image gets its own crop offset and flip; the whole batch is transformed
    by a handful of vectorised ops, so the same policy runs in `tf.data` on the
    CPU host or on an accelerator.

    Args:
        padding: pixels of padding before the random crop.
        mode: padding mode, `"reflect"`, `"symmetric"` or `"constant"`.
        flip: also mirror half of the images left-right.

    Returns:
        A callable `policy(images, seed=None) -> images`.

    Example:

    >>> policy = recipekit.augment.cifar_policy()
    >>> train = recipekit.data.pipeline(ds, 128, training=True, augment=policy)
    """
    return CifarPolicy(padding=padding, mode=mode, flip=flip)
