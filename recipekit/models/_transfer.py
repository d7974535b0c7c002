"""`transfer_model()`: a pretrained backbone with a new classification head."""

import os

import keras

from recipekit.models._cifar_resnet import cifar_resnet
from recipekit.models._preprocess import ImagePreprocessing


def _cifar_resnet20_trunk(input_shape, weights, pooling):
    del weights, pooling  # Weights come from a file (see transfer_model).
    full = cifar_resnet(20, input_shape=input_shape)
    trunk_output = full.get_layer(index=-3).output  # After global pooling.
    return keras.Model(full.input, trunk_output, name="cifar_resnet20")


def _application(name, **extra):
    def build(input_shape, weights, pooling):
        constructor = getattr(keras.applications, name)
        return constructor(
            include_top=False,
            weights=weights,
            input_shape=input_shape,
            pooling=pooling,
            **extra,
        )

    return build


# name -> (builder, preprocessing mode of ImagePreprocessing)
BACKBONES = {
    "MobileNetV2": (_application("MobileNetV2"), "tf"),
    "MobileNetV3Small": (_application("MobileNetV3Small"), "none"),
    "MobileNetV3Large": (_application("MobileNetV3Large"), "none"),
    "EfficientNetB0": (_application("EfficientNetB0"), "none"),
    "EfficientNetB1": (_application("EfficientNetB1"), "none"),
    "EfficientNetB2": (_application("EfficientNetB2"), "none"),
    "EfficientNetB3": (_application("EfficientNetB3"), "none"),
    "ResNet50": (_application("ResNet50"), "caffe"),
    "ResNet50V2": (_application("ResNet50V2"), "tf"),
    "DenseNet121": (_application("DenseNet121"), "torch"),
    "ConvNeXtTiny": (_application("ConvNeXtTiny"), "none"),
    "cifar_resnet20": (_cifar_resnet20_trunk, "tf"),
}


def transfer_model(
    backbone, num_classes, input_shape=(224, 224, 3), weights="imagenet", dropout=0.2
):
    """Builds `backbone -> global average pooling -> dropout -> softmax classifier`.

    The backbone is a `keras.applications` model without its top (or
    `"cifar_resnet20"`, recipekit's CIFAR ResNet trunk), preceded by its own
    input preprocessing, so the model takes RGB pixel values 0-255. The
    backbone runs in inference mode (`training=False`) inside the model: its
    BatchNorm layers keep their moving statistics even after `unfreeze`, the
    fine-tuning pitfall of Keras issues #9214, #9965 and #20285.

    Args:
        backbone: a name from `BACKBONES` (MobileNetV2/V3, EfficientNetB0-B3,
            ResNet50, ResNet50V2, DenseNet121, ConvNeXtTiny, cifar_resnet20).
        num_classes: classes of the new head (>= 2).
        input_shape: `(height, width, 3)`.
        weights: `"imagenet"` (downloaded by Keras on first use into
            `~/.keras/models`; needs internet), a path to a backbone weights
            file (`.weights.h5`, e.g. saved with `backbone.save_weights`), or
            None for random initialisation.
        dropout: dropout rate before the classifier.

    Returns:
        `(model, backbone)`; the backbone starts frozen (`transfer.freeze`).

    Examples:

    >>> model, backbone = transfer_model("MobileNetV2", 5, (160, 160, 3))
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> model.fit(train, epochs=5)                      # phase 1: the head
    >>> recipekit.transfer.unfreeze(backbone, fraction=0.3)
    """
    if backbone not in BACKBONES:
        raise ValueError(
            f"Unknown backbone {backbone!r}. Valid names: {', '.join(BACKBONES)}."
        )
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"Argument `num_classes` must be an integer >= 2. Received: {num_classes!r}"
        )
    if not 0 <= dropout < 1:
        raise ValueError(f"Argument `dropout` must be in [0, 1). Received: {dropout!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise ValueError(
            "Argument `input_shape` must be (height, width, 3). Received: "
            f"input_shape={input_shape}"
        )
    path = None
    if weights not in ("imagenet", None):
        path = os.fspath(weights)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"The backbone weights file {path!r} does not exist."
            )
        weights = None
    builder, mode = BACKBONES[backbone]
    try:
        base = builder(input_shape, weights, "avg")
    except ValueError as error:
        raise ValueError(
            f"Backbone {backbone!r} cannot take input_shape={input_shape}: {error}"
        ) from error
    if path is not None:
        try:
            base.load_weights(path)
        except (ValueError, KeyError) as error:
            raise ValueError(
                f"The weights file {path!r} does not match backbone {backbone!r}: "
                f"{error}"
            ) from error
    base.trainable = False
    inputs = keras.Input(input_shape)
    x = ImagePreprocessing(mode)(inputs)
    x = base(x, training=False)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=f"{backbone}_transfer"), base
