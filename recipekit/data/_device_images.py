"""The training set held on the accelerator, gathered and augmented in the step."""

import keras
import numpy as np
from keras import ops

from recipekit._checks import is_integer
from recipekit._limits import memory_budget
from recipekit.augment import MixUpCutMix, translate

FLIPS = ("alternating", "random", "none")


def hash_bits(values):
    """A 31-bit integer hash of int32 tensors (a murmur-style finalizer, keras.ops).

    Stateless randomness: the same values give the same bits on every backend
    (int32 products wrap the same way on TensorFlow, JAX and PyTorch), so draws
    keyed by (seed, epoch, image) need no generator state to resume exactly.
    """
    x = ops.cast(values, "int32")
    for _ in range(2):
        x = ops.bitwise_xor(x, ops.right_shift(x, 16)) * 0x45D9F3B
    x = ops.bitwise_xor(x, ops.right_shift(x, 16))
    return ops.bitwise_and(x, 0x7FFFFFFF)


@keras.saving.register_keras_serializable(package="recipekit")
class DeviceImages(keras.layers.Layer):
    """A whole (small) training set on the device: indices in, augmented images out.

    The CIFAR speed records keep the training set on the accelerator and
    augment it there; no input pipeline stands between the data and the
    model. This layer does that inside `model.fit` on every Keras backend: the
    uint8 images are a non-trainable weight, each step feeds only
    `(index, epoch)` pairs, and the layer gathers the batch, flips and
    translates it in the compiled step. Put it in front of the network for
    training (`keras.Model(inputs, net(DeviceImages(...)(inputs)))`) and
    evaluate the network itself.

    Flips: `"alternating"` mirrors image `i` in epoch 0 by a fixed coin (drawn
    from `seed`), then in every other epoch (airbench's derandomized flips);
    `"random"` draws a coin per image and epoch; `"none"`. Translation: up to
    `translate` pixels, reflect-padded, per image and epoch. The draws are a
    stateless hash of `(seed, epoch, image)` (`hash_bits`), so they are the
    same on every backend and a run resumed by `BackupAndRestore` draws what
    the uninterrupted run drew. At inference (`training=False`) the layer
    only gathers.

    The images are not written into weight files, backups or `.keras` files
    (they are the data; a CIFAR backup would carry 150 MB each epoch): pass
    `images=` again, or call `set_images`, after loading.

    Args:
        num_images: how many images the layer holds.
        image_shape: `(height, width, channels)`.
        images: optional uint8 array `(num_images, *image_shape)` to hold
            (else `set_images` later, or the weights of a saved model).
        flip: one of `"alternating"`, `"random"`, `"none"`.
        translate: largest shift in pixels, an int >= 0.
        seed: an int for repeatable coins and draws; None draws one from
            NumPy's global state (`keras.utils.set_random_seed` fixes it) and
            keeps it in the config.
        pack: hold the pixels 4 to an int32 (unpacked in the step) instead of
            as uint8. None: packed only under TensorFlow's
            `MultiWorkerMirroredStrategy`, whose collective broadcast of
            initial values has no uint8; the same memory, the same outputs.

    Call arguments:
        inputs: int32 `(batch, 2)`: the image index and the 0-based epoch;
            or `(batch, 8)` from `recipekit.augment.MixUpCutMix.device_inputs`,
            whose partners, weights and boxes the layer mixes in (training).
        training: augment when True.

    Examples:

    >>> images = np.zeros((10, 8, 8, 3), "uint8")
    >>> layer = DeviceImages(10, (8, 8, 3), images=images, translate=2, seed=0)
    >>> tuple(layer(np.array([[0, 0], [3, 1]], "int32"), training=True).shape)
    (2, 8, 8, 3)
    """

    def __init__(
        self,
        num_images,
        image_shape,
        images=None,
        flip="alternating",
        translate=2,
        seed=None,
        pack=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not is_integer(num_images):
            raise ValueError(
                "Argument `num_images` must be a positive integer. Received: "
                f"num_images={num_images!r}"
            )
        if num_images < 1:
            raise ValueError(
                "Argument `num_images` must be a positive integer. Received: "
                f"num_images={num_images!r}"
            )
        image_shape = tuple(int(d) for d in image_shape)
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(
                "Argument `image_shape` must be (height, width, channels). "
                f"Received: image_shape={image_shape!r}"
            )
        if flip not in FLIPS:
            raise ValueError(
                f"Argument `flip` must be one of {FLIPS}. Received: flip={flip!r}"
            )
        if not is_integer(translate):
            raise ValueError(
                "Argument `translate` must be an integer >= 0. Received: "
                f"translate={translate!r}"
            )
        if not 0 <= translate < min(image_shape[:2]):
            raise ValueError(
                "Argument `translate` must be >= 0 and smaller than the image "
                f"sides {image_shape[:2]}. Received: translate={translate!r}"
            )
        self.num_images = num_images
        self.image_shape = image_shape
        self.flip = flip
        self.translate = translate
        if seed is None:  # Drawn from NumPy's global state (set_random_seed).
            seed = int(np.random.randint(0, 2**31 - 1))
        self.seed = seed
        self._key = int(np.random.default_rng(seed).integers(1, 2**30))
        if pack is None:
            pack = _under_multi_worker_strategy()
        self.pack = bool(pack)
        self._pixels = int(np.prod(image_shape))
        self.images = self.add_weight(
            shape=(num_images, -(-self._pixels // 4))
            if self.pack
            else (num_images, *image_shape),
            dtype="int32" if self.pack else "uint8",
            initializer="zeros",
            trainable=False,
            name="images",
        )
        coins = np.random.default_rng(seed).integers(0, 2, num_images, dtype=np.int32)
        self.coins = self.add_weight(
            shape=(num_images,),
            dtype="int32",
            initializer=keras.initializers.Constant(coins),
            trainable=False,
            name="coins",
        )
        if images is not None:
            self.set_images(images)

    def set_images(self, images):
        """Copies a uint8 array `(num_images, *image_shape)` into the layer."""
        images = np.asarray(images)
        if images.shape != (self.num_images, *self.image_shape):
            raise ValueError(
                f"DeviceImages holds {self.num_images} images of shape "
                f"{self.image_shape}; received an array of shape {images.shape}."
            )
        if images.dtype != np.uint8:
            raise TypeError(
                f"DeviceImages holds uint8 images; received dtype {images.dtype}."
            )
        self.images.assign(pack_pixels(images) if self.pack else images)

    def call(self, inputs, training=False):
        inputs = ops.cast(inputs, "int32")
        index, epoch = inputs[:, 0], inputs[:, 1]
        if not training:
            return ops.cast(self._gather(index), self.compute_dtype)
        images = self._augmented(index, epoch)
        if inputs.shape[-1] == len(MixUpCutMix.DEVICE_COLUMNS):  # mixing's columns
            partner = self._augmented(inputs[:, 2], epoch)
            weight, box = inputs[:, 3], inputs[:, 4:]
            images = MixUpCutMix.mix_images(images, partner, weight, box)
        return ops.cast(images, self.compute_dtype)

    def _gather(self, index):
        images = ops.take(self.images, index, axis=0)  # uint8 until the end
        if self.pack:
            images = unpack_pixels(images, self._pixels, self.image_shape)
        return images

    def _augmented(self, index, epoch):
        """The images at `index`, flipped and translated for `epoch`."""
        images = self._gather(index)
        if self.flip == "alternating":
            coin = ops.take(self.coins, index, axis=0)
            mirror = ops.not_equal(coin, ops.mod(epoch, 2))
        elif self.flip == "random":
            mirror = ops.equal(ops.bitwise_and(self._draw(index, epoch, 3), 1), 1)
        else:
            mirror = None
        if mirror is not None:
            flipped = ops.flip(images, axis=2)
            images = ops.where(mirror[:, None, None, None], flipped, images)
        if self.translate:
            span = 2 * self.translate + 1
            offsets = ops.stack(
                [ops.mod(self._draw(index, epoch, k), span) for k in (1, 2)], axis=1
            )
            images = translate(images, self.translate, offsets=offsets)
        return images

    def _draw(self, index, epoch, stream):
        """31 random bits per image, keyed by (seed, epoch, image, stream)."""
        key = hash_bits(epoch * 4 + stream + self._key)
        return hash_bits(index + key)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.image_shape)

    def training_model(self, net, *augmentations, name="training", mixed=False):
        """The model `fit` trains: `(index, epoch)` pairs -> this layer ->
        `augmentations` (e.g. `ColorJitter`, `PCALighting`) -> `net`.

        It shares `net`'s weights; evaluate, save and snapshot `net` itself.
        With `mixed=True` it takes the 8 columns of
        `recipekit.augment.MixUpCutMix.device_inputs` instead, and trains on
        the soft targets that gives.

        Examples:

        >>> net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
        ...                         keras.layers.Dense(2)])
        >>> layer = DeviceImages(10, (8, 8, 3), seed=0)
        >>> layer.training_model(net).input_shape
        (None, 2)
        """
        columns = len(MixUpCutMix.DEVICE_COLUMNS) if mixed else 2
        inputs = keras.Input((columns,), dtype="int32", name="index_epoch")
        x = self(inputs)
        for layer in augmentations:
            x = layer(x)
        return keras.Model(inputs, net(x), name=name)

    # The images are the data, not model state: weight files, backups and
    # `.keras` files keep only the flip coins (a backup of CIFAR would
    # otherwise carry 150 MB every epoch). Give `images=` (or `set_images`)
    # again after loading.

    def save_own_variables(self, store):
        store["coins"] = keras.ops.convert_to_numpy(self.coins)

    def load_own_variables(self, store):
        self.coins.assign(store["coins"])

    def get_config(self):
        return {
            **super().get_config(),
            "num_images": self.num_images,
            "image_shape": self.image_shape,
            "flip": self.flip,
            "translate": self.translate,
            "seed": self.seed,
            "pack": self.pack,
        }


def pack_pixels(images):
    """uint8 images `(N, ...)` -> int32 `(N, ceil(pixels / 4))`, 4 bytes each
    (little-endian: the first pixel in the lowest byte; zero-padded)."""
    flat = images.reshape(len(images), -1)
    padded = np.zeros((len(images), -(-flat.shape[1] // 4) * 4), np.uint8)
    padded[:, : flat.shape[1]] = flat
    return padded.view("<u4").view(np.int32)


def unpack_pixels(packed, pixels, image_shape):
    """The inverse of `pack_pixels` in keras.ops: uint8 `(B, *image_shape)`."""
    parts = [ops.bitwise_and(ops.right_shift(packed, 8 * k), 255) for k in range(4)]
    flat = ops.reshape(ops.stack(parts, axis=-1), (ops.shape(packed)[0], -1))
    return ops.reshape(ops.cast(flat[:, :pixels], "uint8"), (-1, *image_shape))


def _under_multi_worker_strategy():
    """True inside TensorFlow's MultiWorkerMirroredStrategy's scope."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def epoch_indices(num_images, batch_size, epochs, seed, start_epoch=0):
    """The `(index, epoch)` pairs `DeviceImages` takes, for every step of a run.

    Each epoch is a fresh seeded permutation (the last partial batch dropped),
    so the pairs of epoch `e` depend on `(seed, e)` alone and a resumed run
    (`start_epoch`) gets what the uninterrupted run got from that epoch on.

    Returns:
        `(positions, pairs)`: int64 positions into the data (for the labels)
        and the int32 `(steps * batch_size, 2)` inputs, epochs after epoch.

    Examples:

    >>> positions, pairs = epoch_indices(10, 4, epochs=2, seed=0)
    >>> pairs.shape
    (16, 2)
    """
    steps = num_images // batch_size
    if steps < 1:
        raise ValueError(
            f"{num_images} images are fewer than one batch of {batch_size}; pass "
            "a smaller batch size."
        )
    entries = max(0, epochs - start_epoch) * steps * batch_size
    need = entries * 24  # int64 positions, int64 pairs before the int32 cast
    if need > memory_budget():
        raise ValueError(
            f"{epochs - start_epoch:,} epochs of {steps * batch_size:,} images "
            f"need {need / 2**30:,.1f} GiB of indices, more than the memory budget "
            f"({memory_budget() / 2**30:.1f} GiB, RECIPEKIT_MEMORY_BUDGET). Train "
            "fewer epochs, or raise the budget if the memory is really there."
        )
    positions, pairs = [], []
    for epoch in range(start_epoch, epochs):
        order = np.random.default_rng([seed, epoch]).permutation(num_images)
        order = order[: steps * batch_size]
        positions.append(order)
        pairs.append(np.stack([order, np.full_like(order, epoch)], axis=1))
    if not positions:
        return np.zeros(0, np.int64), np.zeros((0, 2), np.int32)
    return np.concatenate(positions), np.concatenate(pairs).astype(np.int32)
