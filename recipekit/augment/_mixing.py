"""MixUp and CutMix: batch transforms that mix images and their labels."""

import sys

import keras
import numpy as np

from recipekit import _random
from recipekit._checks import check_number, is_integer
from recipekit.augment._backend import ops_for

# The columns `DeviceImages` reads when it mixes on the device.
DEVICE_COLUMNS = ("index", "epoch", "partner", "weight",
                  "top", "left", "bottom", "right")  # fmt: skip
_UNIT = 2**24  # mixing weights travel as int32 multiples of 2**-24 (exact in float32)
_STREAM = 0x6D6978  # "mix": the draws' own stream, apart from the augmentation's


class MixUpCutMix:
    """MixUp (Zhang et al., 2018) and CutMix (Yun et al., 2019) on whole batches,
    with integer labels turned into soft targets.

    Each image is mixed with a partner: MixUp blends the two,
    `w * image + (1 - w) * partner` with `w ~ Beta(mixup_alpha, mixup_alpha)`;
    CutMix pastes a box of the partner whose area is `1 - w` of the image (the
    box is clipped at the border, and the label weight is the area actually
    pasted, as timm computes it). With both on, each image takes CutMix with
    probability `switch_prob`, else MixUp (timm's `switch_prob`); `prob` is the
    chance that an image is mixed at all. The target is `w * onehot(label) +
    (1 - w) * onehot(partner's label)`: train with a loss that takes soft
    targets, such as `recipekit.losses.SmoothedCrossentropy` or Keras's
    `CategoricalCrossentropy`. Draws are per image (timm's `mode="elem"`).

    Two places to use it:

    - In `tf.data` (or eagerly): `mix(images, labels, seed=None)` on a batch
      pairs image `i` with image `B - 1 - i` (timm's flipped batch) and
      returns float32 images in the input's value range and float32 targets;
      `recipekit.data.pipeline(..., mix=mix)` applies it after the
      augmentation, seeded per batch.
    - On the device: `mix.device_inputs(pairs, labels, size, seed)` extends
      `DeviceImages`' `(index, epoch)` inputs with each image's partner (a
      seeded permutation of the epoch), weight and box, and returns the
      targets; `DeviceImages` then mixes in the compiled step.

    Keras 3 has `keras.layers.MixUp` and `keras.layers.CutMix`: they take
    one-hot labels in a dict, draw from a stateful generator (a resumed run
    draws differently), cannot switch between the two per image, and have no
    device path for a dataset held on the accelerator. This class is for
    integer labels, exact resumes and `DeviceImages`.

    Args:
        num_classes: the number of classes (integer labels become one-hot).
        mixup_alpha: Beta parameter of MixUp's weight; 0 turns MixUp off.
        cutmix_alpha: Beta parameter of CutMix's weight; 0 turns CutMix off.
        switch_prob: with both on, the chance an image takes CutMix.
        prob: the chance an image is mixed at all.

    Examples:

    >>> mix = MixUpCutMix(num_classes=3, mixup_alpha=0.2)
    >>> images = np.zeros((4, 8, 8, 3), "uint8")
    >>> mixed, targets = mix(images, np.array([0, 1, 2, 0]), seed=0)
    >>> tuple(mixed.shape), tuple(targets.shape)
    ((4, 8, 8, 3), (4, 3))
    >>> bool(np.allclose(np.sum(targets, axis=1), 1.0))
    True
    """

    def __init__(self, num_classes, mixup_alpha=0.0, cutmix_alpha=0.0,
                 switch_prob=0.5, prob=1.0):  # fmt: skip
        if not is_integer(num_classes) or num_classes < 2:
            raise ValueError(
                "Argument `num_classes` must be an integer >= 2. Received: "
                f"num_classes={num_classes!r}"
            )
        self.num_classes = int(num_classes)
        self.mixup_alpha = check_number("mixup_alpha", mixup_alpha, "[0, inf)")
        self.cutmix_alpha = check_number("cutmix_alpha", cutmix_alpha, "[0, inf)")
        if not (self.mixup_alpha or self.cutmix_alpha):
            raise ValueError(
                "MixUpCutMix needs `mixup_alpha` > 0, `cutmix_alpha` > 0 or both. "
                f"Received: mixup_alpha={mixup_alpha!r}, cutmix_alpha={cutmix_alpha!r}"
            )
        self.switch_prob = check_number("switch_prob", switch_prob, "[0, 1]")
        self.prob = check_number("prob", prob, "[0, 1]")

    def draws(self, rng, count, height, width):
        """Each image's mixing weight and box, drawn with the NumPy `rng`.

        Returns `(weight, box)`: int32 `(count,)` weights in units of 2**-24
        (MixUp's `w`; 2**24, no blend, for CutMix and unmixed images) and
        int32 `(count, 4)` boxes `(top, left, bottom, right)`, end-exclusive
        (empty for MixUp and unmixed images).
        """
        mixed = rng.random(count) < self.prob
        if self.mixup_alpha and self.cutmix_alpha:
            cut = rng.random(count) < self.switch_prob
        else:
            cut = np.full(count, bool(self.cutmix_alpha))
        blend = rng.beta(self.mixup_alpha, self.mixup_alpha, count) if (
            self.mixup_alpha) else np.ones(count)  # fmt: skip
        area = rng.beta(self.cutmix_alpha, self.cutmix_alpha, count) if (
            self.cutmix_alpha) else np.ones(count)  # fmt: skip
        # CutMix's box (timm's rand_bbox): sides sqrt(1 - w) of the image's,
        # centred uniformly, clipped at the border.
        side = np.sqrt(1.0 - area)
        cut_h, cut_w = (height * side).astype(np.int64), (width * side).astype(np.int64)
        cy, cx = rng.integers(0, height, count), rng.integers(0, width, count)
        box = np.stack([np.clip(cy - cut_h // 2, 0, height),
                        np.clip(cx - cut_w // 2, 0, width),
                        np.clip(cy + cut_h // 2, 0, height),
                        np.clip(cx + cut_w // 2, 0, width)], axis=1)  # fmt: skip
        box[~(mixed & cut)] = 0
        weight = np.rint(np.where(mixed & ~cut, blend, 1.0) * _UNIT)
        return weight.astype(np.int32), box.astype(np.int32)

    def device_inputs(self, pairs, labels, image_size, seed):
        """`DeviceImages`' inputs with mixing, and their targets.

        Args:
            pairs: int32 `(N, 2)` `(index, epoch)` rows, as
                `recipekit.data.epoch_indices` gives them.
            labels: integer labels of the whole training set (indexed by
                `pairs[:, 0]`).
            image_size: `(height, width)` of the images.
            seed: an int; the draws of epoch `e` depend on `(seed, e)` only,
                so a resumed run gets the uninterrupted run's draws.

        Returns:
            `(inputs, targets)`: int32 `(N, 8)` rows (`DEVICE_COLUMNS`: index,
            epoch, partner, weight, box) for `DeviceImages`, and float32
            `(N, num_classes)` targets.
        """
        pairs, labels = np.asarray(pairs), np.asarray(labels)
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise ValueError(
                "Argument `pairs` must be (N, 2) `(index, epoch)` rows. Received: "
                f"pairs with shape {pairs.shape}"
            )
        height, width = (int(side) for side in image_size)
        inputs = np.zeros((len(pairs), len(DEVICE_COLUMNS)), np.int32)
        inputs[:, :2] = pairs
        targets = np.zeros((len(pairs), self.num_classes), np.float32)
        eye = np.eye(self.num_classes, dtype=np.float32)
        for epoch in np.unique(pairs[:, 1]):
            rows = np.flatnonzero(pairs[:, 1] == epoch)
            rng = np.random.default_rng([int(seed), int(epoch), _STREAM])
            index = pairs[rows, 0]
            partner = index[rng.permutation(len(rows))]
            weight, box = self.draws(rng, len(rows), height, width)
            inputs[rows, 2], inputs[rows, 3], inputs[rows, 4:] = partner, weight, box
            own = weight_of_own(np, weight, box, height, width)[:, None]
            targets[rows] = own * eye[labels[index]] + (1 - own) * eye[labels[partner]]
        return inputs, targets

    def __call__(self, images, labels, seed=None):
        ops = ops_for(images, labels)
        images = ops.convert_to_tensor(images)
        height, width = int(images.shape[1]), int(images.shape[2])
        seed = _random.seed_pair(ops, seed)

        def draw(seed, count):
            seed = [int(s) & 0xFFFFFFFF for s in np.asarray(seed).ravel()]
            rng = np.random.default_rng([*seed, _STREAM])
            return self.draws(rng, int(count), height, width)

        if _in_tf_graph(images):  # a tf.data map or a tf.function: draw on the host
            import tensorflow as tf

            count = tf.shape(images)[0]
            weight, box = tf.numpy_function(draw, [seed, count], [tf.int32, tf.int32])
            weight.set_shape([None])
            box.set_shape([None, 4])
        else:
            seed = seed.numpy() if hasattr(seed, "numpy") else np.asarray(seed)
            weight, box = draw(seed, images.shape[0])
        weight, box = ops.convert_to_tensor(weight), ops.convert_to_tensor(box)
        targets = one_hot_or_soft(ops, labels, self.num_classes)
        own = weight_of_own(ops, weight, box, height, width)[:, None]
        targets = own * targets + (1.0 - own) * ops.flip(targets, axis=0)
        partner = ops.flip(images, axis=0)  # timm's pairing: the batch reversed
        return mix_images(ops, images, partner, weight, box), targets

    DEVICE_COLUMNS = DEVICE_COLUMNS

    @staticmethod
    def mix_images(images, partner, weight, box):
        """`keras.ops` mixing of `images` with `partner` (see `mix_images`)."""
        return mix_images(keras.ops, images, partner, weight, box)

    def get_config(self):
        return {"num_classes": self.num_classes, "mixup_alpha": self.mixup_alpha,
                "cutmix_alpha": self.cutmix_alpha, "switch_prob": self.switch_prob,
                "prob": self.prob}  # fmt: skip

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"MixUpCutMix({args})"


def _in_tf_graph(tensor):
    if "tensorflow" not in sys.modules:
        return False
    import tensorflow as tf

    return tf.is_tensor(tensor) and not tf.executing_eagerly()


def one_hot_or_soft(ops, labels, num_classes):
    """Integer labels `(B,)` (or `(B, 1)`) as float32 one-hot; `(B, C)` as they are."""
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 2 and labels.shape[1] == num_classes:
        return ops.cast(labels, "float32")
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    return ops.one_hot(labels, num_classes, dtype="float32")


def weight_of_own(ops, weight, box, height, width):
    """The share of each mixed image that is its own, the weight of its label:
    blend weight x the share not pasted over (`ops`: a Keras namespace or NumPy)."""

    def floats(x):
        return x.astype(np.float32) if ops is np else ops.cast(x, "float32")

    box = floats(box)
    pasted = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]) / (height * width)
    return floats(weight) / _UNIT * (1.0 - pasted)


def mix_images(ops, images, partner, weight, box):
    """float32 `weight * images + (1 - weight) * partner`, with each box pasted
    from `partner` (weight in units of 2**-24, boxes end-exclusive)."""
    images = ops.cast(images, "float32")
    partner = ops.cast(partner, "float32")
    height, width = images.shape[1], images.shape[2]
    w = (ops.cast(weight, "float32") / _UNIT)[:, None, None, None]
    blended = w * images + (1.0 - w) * partner
    rows = ops.arange(height, dtype="int32")[None, :, None]
    cols = ops.arange(width, dtype="int32")[None, None, :]
    box = ops.cast(box, "int32")
    inside = ops.logical_and(
        ops.logical_and(rows >= box[:, 0, None, None], rows < box[:, 2, None, None]),
        ops.logical_and(cols >= box[:, 1, None, None], cols < box[:, 3, None, None]),
    )
    return ops.where(inside[..., None], partner, blended)
