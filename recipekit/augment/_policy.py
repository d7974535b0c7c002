"""Augmentation policies: one callable that transforms a whole batch."""

import keras

from recipekit import _random
from recipekit._checks import check_factor
from recipekit.augment._backend import ops_for
from recipekit.augment._color import jitter_unit
from recipekit.augment._color_jitter_layer import ColorJitter
from recipekit.augment._crop import check_padding, random_offsets, shift_windows
from recipekit.augment._flip import flip_where, random_coins
from recipekit.augment._images import (
    batch_size,
    check_images,
    check_value_range,
    dtype_name,
    to_unit,
)
from recipekit.augment._lighting import IMAGENET_PCA, check_pca, lighting_unit
from recipekit.augment._pca_lighting_layer import PCALighting
from recipekit.augment._pixel_steps import PixelSteps
from recipekit.augment._random_pad_crop_layer import RandomPadCrop
from recipekit.augment._random_resized_crop_layer import RandomResizedCrop
from recipekit.augment._resized_crop import (
    check_resized_crop_args,
    resized_crop,
)


class Policy:
    """Geometric steps, then the pixel-value steps, each with its own random
    stream split from one seed.

    Call it as `policy(images, seed=None)` on a batch, or hand it to
    `recipekit.data.pipeline(..., augment=policy)` or `Dataset.map` after
    `.batch()`. The same `keras.ops` code runs on TensorFlow tensors (in
    `tf.data`, compiled with XLA, under any backend) and on the backend's own
    tensors (on the device); the draws are the same in both places. `as_layers`
    gives the same policy as Keras layers, to put inside a model.
    """

    def __init__(
        self,
        name,
        config,
        geometric,
        color,
        layers,
        jit_compile=True,
        auto=None,
        erase=None,
    ):
        self.name = name
        self.config = config
        self._geometric = geometric  # [(op(ops, images, key), ...)]
        # Pixel-value steps, each op(ops, [0, 1] floats, key) or None: an
        # automatic policy, then color, then erasing (as timm orders them).
        self._auto = auto
        self._color = color
        self._erase = erase
        self._layers = layers
        self.value_range = config["value_range"]
        self.output_size = config.get("size")
        self.jit_compile = bool(jit_compile)
        self._compiled = None

    def apply(self, ops, images, key):
        """The policy on `images` with the namespace `ops` and an int32 `key`."""
        for stream, op in enumerate(self._geometric):
            images = op(ops, images, _random.subkey(ops, key, stream))
        # Streams after the geometric ones: color first, so that adding a
        # step keeps the draws of the policies that lack it.
        steps = [(1, self._auto), (0, self._color), (2, self._erase)]
        steps = [(stream, op) for stream, op in steps if op is not None]
        if not steps:
            return images
        x, restore = to_unit(ops, images, self.value_range)
        for stream, op in steps:
            x = op(ops, x, _random.subkey(ops, key, len(self._geometric) + stream))
        return restore(x)

    def as_layers(self, seed=None):
        """The same policy as a serializable `keras.Sequential` of layers.

        Use it inside a model (augmenting on the accelerator in `fit`, identity
        at inference). The layers see pixel values in `value_range`.
        """
        return keras.Sequential(self._layers(seed), name=self.name)

    def __call__(self, images, seed=None):
        ops = ops_for(images, seed)
        check_value_range(self.value_range, images)
        images = check_images(ops, images)
        if images.shape[0] == 0:
            if self.output_size is None:
                return images
            shape = (0, *self.output_size, images.shape[-1])
            return ops.zeros(shape, dtype_name(images))
        seed = _random.seed_pair(ops, seed)
        if ops is keras.ops and keras.backend.backend() != "tensorflow":
            return self.apply(ops, images, _random.make_key(ops, seed))
        # TensorFlow tensors: one XLA-compiled function (it fuses the dozens of
        # elementwise ops into a few loops: 5.3x faster on a CPU host,
        # benchmarks/HISTORY.md), traced once per input shape and dtype. The
        # seed is drawn outside it: XLA has no stateful random ops.
        if self._compiled is None:
            import tensorflow as tf

            def run(images, seed):
                return self.apply(ops, images, _random.make_key(ops, seed))

            self._compiled = tf.function(run, jit_compile=self.jit_compile)
        return self._compiled(images, seed)

    def get_config(self):
        return dict(self.config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.name}({args})"


def _pad_crop(padding, mode):
    def op(ops, images, key):
        check_padding(padding, mode, images.shape[1:3])
        offsets = random_offsets(ops, key, batch_size(ops, images), padding)
        return shift_windows(ops, images, padding, offsets, mode)

    return op


def _flip(ops, images, key):
    return flip_where(ops, images, random_coins(ops, key, batch_size(ops, images)))


def _resized_crop(size, scale, ratio):
    def op(ops, images, key):
        return resized_crop(ops, images, size, scale, ratio, key)

    return op


def _color_op(config, pca):
    """Color jitter then PCA lighting in [0, 1] floats, or None when both are off."""
    jitter = (config["brightness"], config["contrast"], config["saturation"])
    lighting = config["lighting"]
    if not (any(jitter) or lighting):
        return None

    def op(ops, x, key):
        if any(jitter):
            x = jitter_unit(ops, x, *jitter, _random.subkey(ops, key, 0))
        if lighting:
            x = lighting_unit(ops, x, *pca, lighting, _random.subkey(ops, key, 1))
        return x

    return op


def _color_layers(config, pca, seed):
    layers = []
    value_range = config["value_range"]
    if config["brightness"] or config["contrast"] or config["saturation"]:
        layers.append(
            ColorJitter(
                config["brightness"],
                config["contrast"],
                config["saturation"],
                value_range=value_range,
                seed=seed,
            )
        )
    if config["lighting"]:
        values, vectors = pca
        layers.append(
            PCALighting(config["lighting"], values, vectors, value_range, seed=seed)
        )
    return layers


def _check_strengths(**strengths):
    return [check_factor(name, value) for name, value in strengths.items()]


def _policy(name, config, geometric, crop, pca, steps, jit_compile):
    """A `Policy` whose layers are the crop's, the flip, then the pixel steps
    in the order `apply` runs them."""

    def layers(seed):
        out = [crop(seed)]
        if config["flip"]:
            out.append(keras.layers.RandomFlip("horizontal", seed=seed))
        out += steps.auto_layers(seed) + _color_layers(config, pca, seed)
        return out + steps.erase_layers(seed)

    color = _color_op(config, pca)
    auto, erase = steps.auto_op(), steps.erase_op()
    return Policy(
        name, config, geometric, color, layers, jit_compile, auto=auto, erase=erase
    )


def cifar_policy(
    padding=4,
    mode="reflect",
    flip=True,
    brightness=0.0,
    contrast=0.0,
    saturation=0.0,
    lighting=0.0,
    pca=None,
    value_range=(0, 255),
    jit_compile=True,
    auto=None,
    erasing=0.0,
    cutout=0,
):
    """The CIFAR augmentation: pad-and-crop, flip, optional jitter and lighting.

    The default is the standard CIFAR recipe of He et al. (2016): pad 4 pixels
    (reflect), take a random crop of the original size, mirror half of the
    images. Color jitter and PCA lighting are off by default (they rarely help
    on CIFAR); turn them on with their strengths. Every image gets its own
    random parameters; the whole batch is transformed by a few vectorised ops,
    so the policy runs in `tf.data` on the CPU host or on an accelerator.

    Args:
        padding: pixels of padding before the random crop.
        mode: padding mode, `"reflect"`, `"symmetric"` or `"constant"`.
        flip: mirror half of the images left-right.
        brightness: color-jitter strength (0 = off); see `color_jitter`.
        contrast: color-jitter strength (0 = off).
        saturation: color-jitter strength (0 = off).
        lighting: `alpha_std` of PCA lighting (0 = off; AlexNet used 0.1).
        pca: `(eigenvalues, eigenvectors)` for lighting, e.g. from
            `fit_pca_lighting(train)`; default `IMAGENET_PCA`.
        value_range: `(low, high)` of the pixel values, `(0, 255)` (the
            default, as in Keras's own layers) or `(0, 1)`.
        jit_compile: compile the policy with XLA on the tf.data path (5.3x
            faster on CPU).
        auto: an automatic policy after the crop and flip, or None:
            `"rand"` (RandAugment, or e.g. `"rand-n2-m9"`), `"trivial"`
            (TrivialAugmentWide) or `"augmix"` (e.g. `"augmix-s3-w3-d0-a1"`).
        erasing: the probability of random erasing (Zhong et al.'s ranges
            and noise fill), after everything else; 0 = off.
        cutout: side of a Cutout square filled with mid-gray (airbench96
            cuts 12 of 32), after everything else; 0 = off.

    Returns:
        A callable `policy(images, seed=None) -> images`, same dtype.

    Examples:

    >>> policy = recipekit.augment.cifar_policy(brightness=0.2, lighting=0.1)
    >>> train = recipekit.data.pipeline(ds, 128, training=True, augment=policy)
    """
    check_padding(padding, mode)
    brightness, contrast, saturation, lighting = _check_strengths(
        brightness=brightness,
        contrast=contrast,
        saturation=saturation,
        lighting=lighting,
    )
    geometric = [_pad_crop(padding, mode)] + ([_flip] if flip else [])
    pca = check_pca(*pca) if pca is not None else IMAGENET_PCA
    config = {
        "padding": padding,
        "mode": mode,
        "flip": bool(flip),
        "brightness": brightness,
        "contrast": contrast,
        "saturation": saturation,
        "lighting": lighting,
        "value_range": check_value_range(value_range),
    }
    steps = PixelSteps(config, auto, erasing, cutout)
    crop = lambda seed: RandomPadCrop(padding, mode, seed=seed)  # noqa: E731
    return _policy("cifar_policy", config, geometric, crop, pca, steps, jit_compile)


def imagenet_policy(
    size=(224, 224),
    scale=(0.08, 1.0),
    ratio=(3 / 4, 4 / 3),
    flip=True,
    brightness=0.4,
    contrast=0.4,
    saturation=0.4,
    lighting=0.1,
    pca=None,
    value_range=(0, 255),
    jit_compile=True,
    auto=None,
    erasing=0.0,
    cutout=0,
):
    """The ImageNet training augmentation, for transfer learning at e.g. 224 px.

    Random resized crop (Szegedy et al., 2015) to `size`, horizontal flip, color
    jitter of 0.4 and AlexNet PCA lighting of 0.1 with the published ImageNet
    eigenvectors: the classic torchvision/fb.resnet.torch training transform,
    per image, on whole batches.

    Args:
        size: output `(height, width)`.
        scale: (min, max) fraction of the image area kept by the crop.
        ratio: (min, max) aspect ratio of the crop.
        flip: mirror half of the images left-right.
        brightness: color-jitter strength (0 = off).
        contrast: color-jitter strength (0 = off).
        saturation: color-jitter strength (0 = off).
        lighting: `alpha_std` of PCA lighting (0 = off).
        pca: `(eigenvalues, eigenvectors)`; default `IMAGENET_PCA`.
        value_range: `(low, high)` of the pixel values, `(0, 255)` (the
            default) or `(0, 1)`.
        jit_compile: compile the policy with XLA on the tf.data path.
        auto: an automatic policy after the crop and flip, or None:
            `"rand"` (RandAugment, or e.g. `"rand-n2-m9"`), `"trivial"` or
            `"augmix"`. With one, timm and torchvision usually turn color
            jitter and lighting off (pass 0).
        erasing: the probability of random erasing, last; 0 = off.
        cutout: side of a Cutout square, last; 0 = off.

    Returns:
        A callable `policy(images, seed=None) -> images` of shape
        `(B, height, width, C)`, same dtype.

    Examples:

    >>> policy = recipekit.augment.imagenet_policy(size=(224, 224))
    >>> train = recipekit.data.pipeline(ds, 64, training=True, augment=policy)
    """
    brightness, contrast, saturation, lighting = _check_strengths(
        brightness=brightness,
        contrast=contrast,
        saturation=saturation,
        lighting=lighting,
    )
    size, scale, ratio = check_resized_crop_args(size, scale, ratio)
    crop = {"size": size, "scale": scale, "ratio": ratio}
    geometric = [_resized_crop(size, scale, ratio)] + ([_flip] if flip else [])
    pca = check_pca(*pca) if pca is not None else IMAGENET_PCA
    config = {**crop, "flip": bool(flip), "brightness": brightness}
    config.update(contrast=contrast, saturation=saturation, lighting=lighting)
    config["value_range"] = check_value_range(value_range)
    steps = PixelSteps(config, auto, erasing, cutout)
    crop = lambda seed: RandomResizedCrop(size, scale, ratio, seed=seed)  # noqa: E731
    return _policy("imagenet_policy", config, geometric, crop, pca, steps, jit_compile)
