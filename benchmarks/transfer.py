"""An offline demonstration that transfer helps: CIFAR-10 classes 0-4 -> 5-9.

ImageNet weights cannot be downloaded here, so the "pretrained" backbone is
recipekit's CIFAR ResNet-20 trunk trained on the source task, CIFAR-10 classes
0-4 (airplane, automobile, bird, cat, deer; 25,000 images). The target task is
classes 5-9 (dog, frog, horse, ship, truck) with only 50, 200 or 1,000 labelled
images per class, scored on their 5,000 test images, by:
(a) training the same network from scratch;
(b) the full-batch L-BFGS linear probe on the frozen source features;
(b') the same linear layer trained by mini-batch SGD with momentum (an SGD probe);
(c) a new head on the frozen backbone, then fine-tuning its top 30% at 1/10 of
    the learning rate (BatchNorm frozen).
Saves the backbone to `--out/backbone.weights.h5` (loadable with
`transfer_model("cifar_resnet20", ..., weights=PATH)`), or reuses the one at
`--backbone PATH` (pretrained there on the first run, with seed 0, so runs
with other seeds share it). Prints one JSON object per measurement and writes
them all to `--out/metrics.json`.

    python benchmarks/transfer.py [--source-epochs 8] [--labels-per-class 50 500]
    python benchmarks/transfer.py --dry-run --out /tmp/transfer  # 1 epoch a stage
"""

import argparse
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

import recipekit
from recipekit.models import BACKBONES, ImagePreprocessing


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


def sgd_probe(features, labels, epochs, seed):
    """A linear softmax layer on frozen features, by SGD with momentum."""
    keras.utils.set_random_seed(seed)
    probe = keras.Sequential([keras.Input(features.shape[1:]), keras.layers.Dense(5)])
    probe.compile(
        keras.optimizers.SGD(0.01, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    probe.fit(features, labels, batch_size=64, epochs=epochs, verbose=0)
    return probe


def accuracy(model, x, y):
    return round(
        float(np.mean(model.predict(x, batch_size=512, verbose=0).argmax(1) == y)), 4
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg.tar.gz")
    parser.add_argument("--source-epochs", type=int, default=8)
    parser.add_argument("--out", default="runs/transfer")
    parser.add_argument("--seed", type=int, default=0, help="target-task seed")
    parser.add_argument("--backbone", help="pretrained backbone: reused, or made here")
    parser.add_argument(
        "--labels-per-class", type=int, nargs="+", default=[50, 200, 1000]
    )
    parser.add_argument("--dry-run", action="store_true",
                        help="the bundled sample, 20 labels per class, 1 epoch "
                        "per stage: checks the path in a minute")  # fmt: skip
    args = parser.parse_args(argv)
    if args.dry_run:
        args.data, args.source_epochs, args.labels_per_class = "cifar10_sample", 1, [20]
    budget = (lambda epochs: 1) if args.dry_run else (lambda epochs: epochs)
    measured = []

    def report(**fields):
        measured.append(fields)
        print(json.dumps({"benchmark": "transfer", **fields}), flush=True)

    x, y, _ = recipekit.data.load_arrays(args.data, "train")
    xt, yt, _ = recipekit.data.load_arrays(args.data, "test")
    source = y < 5
    target_test = (xt[yt >= 5].astype("float32"), yt[yt >= 5] - 5)

    # The source task: pretrain the backbone on classes 0-4 (seed 0).
    os.makedirs(args.out, exist_ok=True)
    path = args.backbone or os.path.join(args.out, "backbone.weights.h5")
    if not (args.backbone and os.path.exists(path)):
        start = time.perf_counter()
        source_model, trunk = train_from_scratch(
            x[source], y[source], args.source_epochs, 0
        )
        source_acc = accuracy(source_model, xt[yt < 5].astype("float32"), yt[yt < 5])
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        trunk.save_weights(path + ".tmp.weights.h5")
        os.replace(path + ".tmp.weights.h5", path)  # whole, or not there
        wall = round(time.perf_counter() - start, 1)
        report(stage="source pretraining", source_test_accuracy=source_acc,
               epochs=args.source_epochs, wall_s=wall)  # fmt: skip

    rng = np.random.default_rng(args.seed)
    target_x, target_y = x[~source], y[~source] - 5
    for per_class in args.labels_per_class:
        pick = np.concatenate(
            [
                rng.permutation(np.flatnonzero(target_y == c))[:per_class]
                for c in range(5)
            ]
        )
        tx, ty = target_x[pick], target_y[pick]
        results = {}
        # (a) From scratch: the same network, a budget of about 2,000 images x 15.
        epochs = budget(max(15, round(30_000 / len(tx))))
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
        # (b') The same linear layer by SGD: about 10,000 images x epochs.
        probe_epochs = budget(max(10, round(10_000 / len(tx))))
        probe = sgd_probe(features, labels, probe_epochs, args.seed)
        model.layers[-1].set_weights(probe.layers[-1].get_weights())
        results["sgd_probe"] = accuracy(model, *target_test)
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
                train,
                epochs=budget(max(5, round(10_000 / len(tx)))),
                verbose=0,
                shuffle=False,
            )
            results["head" if unfreeze is None else "head_then_finetune"] = accuracy(
                model, *target_test
            )
        report(stage="target", labels_per_class=per_class,
               target_test_accuracy=results, scratch_epochs=epochs)  # fmt: skip
    target = {str(m["labels_per_class"]): m["target_test_accuracy"]
              for m in measured if m["stage"] == "target"}  # fmt: skip
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"target": target, "measured": measured, "seed": args.seed}, f)


if __name__ == "__main__":
    main()
