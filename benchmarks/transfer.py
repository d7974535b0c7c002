"""An offline demonstration that transfer helps: CIFAR-10 classes 0-4 -> 5-9.

ImageNet weights cannot be downloaded here, so the "pretrained" backbone is
recipekit's CIFAR ResNet-20 trunk trained on the source task, CIFAR-10 classes
0-4 (airplane, automobile, bird, cat, deer; 25,000 images). The target task is
classes 5-9 (dog, frog, horse, ship, truck) with only 50, 200 or 1,000 labelled
images per class, scored on their 5,000 test images, by:
(a) training the same network from scratch;
(b) the full-batch L-BFGS linear probe on the frozen source features;
(c) a new head on the frozen backbone, then fine-tuning its top 30% at 1/10 of
    the learning rate (BatchNorm frozen).
Saves the backbone to `--out/backbone.weights.h5` (loadable with
`transfer_model("cifar_resnet20", ..., weights=PATH)`). Prints one JSON object per
measurement.

    python benchmarks/transfer.py [--source-epochs 8]
"""

import argparse
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

import recipekit
from recipekit.models import ImagePreprocessing
from recipekit.models._transfer import BACKBONES


def report(**fields):
    print(json.dumps({"benchmark": "transfer", **fields}), flush=True)


def dataset(x, y):
    return tf.data.Dataset.from_tensor_slices((x, y))


def train_from_scratch(x, y, epochs, seed):
    """ResNet-20 trunk + softmax head, all trainable, BatchNorm in training mode."""
    keras.utils.set_random_seed(seed)
    trunk = BACKBONES["cifar_resnet20"][0]((32, 32, 3), None, "avg")
    inputs = keras.Input((32, 32, 3))
    features = trunk(ImagePreprocessing("tf")(inputs))
    outputs = keras.layers.Dense(5, activation="softmax")(features)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    train = recipekit.data.pipeline(
        dataset(x, y),
        64,
        training=True,
        augment=recipekit.augment.cifar_policy(),
        seed=seed,
    )
    model.fit(
        train, epochs=epochs, verbose=0, shuffle=False,
        callbacks=[recipekit.callbacks.StepDecay.at_fractions(epochs)],
    )  # fmt: skip
    return model, trunk


def accuracy(model, x, y):
    return round(
        float(np.mean(model.predict(x, batch_size=512, verbose=0).argmax(1) == y)), 4
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg.tar.gz")
    parser.add_argument("--source-epochs", type=int, default=8)
    parser.add_argument("--out", default="runs/transfer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    x, y, _ = recipekit.data.load_arrays(args.data, "train")
    xt, yt, _ = recipekit.data.load_arrays(args.data, "test")
    source = y < 5
    target_test = (xt[yt >= 5].astype("float32"), yt[yt >= 5] - 5)

    # The source task: pretrain the backbone on classes 0-4.
    start = time.perf_counter()
    source_model, trunk = train_from_scratch(
        x[source], y[source], args.source_epochs, args.seed
    )
    source_acc = accuracy(source_model, xt[yt < 5].astype("float32"), yt[yt < 5])
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "backbone.weights.h5")
    trunk.save_weights(path)
    wall = round(time.perf_counter() - start, 1)
    report(stage="source pretraining", source_test_accuracy=source_acc,
           epochs=args.source_epochs, wall_s=wall)  # fmt: skip

    rng = np.random.default_rng(args.seed)
    target_x, target_y = x[~source], y[~source] - 5
    for per_class in (50, 200, 1000):
        pick = np.concatenate(
            [
                rng.permutation(np.flatnonzero(target_y == c))[:per_class]
                for c in range(5)
            ]
        )
        tx, ty = target_x[pick], target_y[pick]
        results = {}
        # (a) From scratch: the same network, a budget of about 2,000 images x 15.
        epochs = max(15, round(30_000 / len(tx)))
        scratch, _ = train_from_scratch(tx, ty, epochs, args.seed)
        results["scratch"] = accuracy(scratch, *target_test)
        # (b) Full-batch L-BFGS linear probe on frozen source features.
        model, backbone = recipekit.models.transfer_model(
            "cifar_resnet20", 5, (32, 32, 3), weights=path, dropout=0.0
        )
        extractor = recipekit.transfer.feature_extractor(model)
        features, labels = recipekit.transfer.extract_features(
            extractor, dataset(tx, ty), verbose=0
        )
        probe = recipekit.transfer.linear_probe(features, labels, l2=1e-3)
        model.layers[-1].set_weights(probe.get_layer("probe").get_weights())
        results["lbfgs_probe"] = accuracy(model, *target_test)
        # (c) Head on the frozen backbone, then fine-tune the top 30%.
        model, backbone = recipekit.models.transfer_model(
            "cifar_resnet20", 5, (32, 32, 3), weights=path, dropout=0.2
        )
        policy = recipekit.augment.cifar_policy()
        train = recipekit.data.pipeline(
            dataset(tx, ty), 64, training=True, augment=policy, seed=args.seed
        )
        for rate, unfreeze in ((1e-3, None), (1e-4, 0.3)):
            if unfreeze:
                recipekit.transfer.unfreeze(backbone, fraction=unfreeze)
            model.compile(optimizer=keras.optimizers.Adam(rate),
                          loss="sparse_categorical_crossentropy")  # fmt: skip
            model.fit(
                train, epochs=max(5, round(10_000 / len(tx))), verbose=0, shuffle=False
            )
            results["head" if unfreeze is None else "head_then_finetune"] = accuracy(
                model, *target_test
            )
        report(stage="target", labels_per_class=per_class,
               target_test_accuracy=results, scratch_epochs=epochs)  # fmt: skip


if __name__ == "__main__":
    main()
