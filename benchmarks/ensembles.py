"""Raw weights vs EMA vs snapshot ensemble at the same epoch budget on CIFAR-10.

Two ResNet-20 runs on the shared CIFAR-10 (50,000 training images, standard
augmentation, batch 128, Nesterov SGD, L2 1e-4), `--epochs` each:
1. step decay (x0.1 at 50% and 75%) with an EMA of the weights (decay 0.999):
   test accuracy of the raw and of the averaged weights;
2. `SnapshotEnsemble(--snapshots, lr_max=0.2)`: each snapshot's accuracy and the
   ensemble's.
Prints one JSON object per measurement. About an hour on 2 CPU cores at the
default budget.

    python benchmarks/ensembles.py [--epochs 8] [--snapshots 4]
"""

import argparse
import json
import os
import time

import keras

import recipekit


def build(mean, std, learning_rate, averaging=False):
    keras.utils.set_random_seed(0)
    model = recipekit.models.cifar_resnet(20, mean=mean, std=std, weight_decay=1e-4)
    optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    if averaging:
        optimizer = recipekit.optimizers.EMA(optimizer, 0.999)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def report(**fields):
    print(json.dumps({"benchmark": "ensembles", **fields}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg.tar.gz")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--snapshots", type=int, default=4)
    parser.add_argument("--out", default="runs/ensembles")
    args = parser.parse_args()
    train_raw, _ = recipekit.data.load(args.data, "train")
    test_raw, _ = recipekit.data.load(args.data, "test")
    mean, std = recipekit.data.channel_stats(train_raw)
    train = recipekit.data.pipeline(
        train_raw, 128, training=True, augment=recipekit.augment.cifar_policy(), seed=0
    )
    test = recipekit.data.pipeline(test_raw, 512)
    common = {"epochs": args.epochs, "verbose": 2, "shuffle": False}

    steps = int(train.cardinality())
    model = build(mean, std, 0.1, averaging=True)
    ema = model.optimizer
    start = time.perf_counter()
    model.fit(
        train,
        callbacks=[recipekit.callbacks.StepDecay.at_fractions(args.epochs)],
        **common,
    )
    wall = round(time.perf_counter() - start, 1)
    raw = model.evaluate(test, verbose=0)[1]
    with ema.swapped():
        averaged = model.evaluate(test, verbose=0)[1]
    report(
        run="step decay",
        weights="raw",
        epochs=args.epochs,
        test_accuracy=round(raw, 4),
        wall_s=wall,
    )
    report(
        run="step decay",
        weights="EMA 0.999",
        epochs=args.epochs,
        test_accuracy=round(averaged, 4),
    )

    cosine = recipekit.callbacks.SnapshotEnsemble.schedule(
        0.2, args.epochs, steps, args.snapshots
    )
    model = build(mean, std, cosine)
    snapshots = recipekit.callbacks.SnapshotEnsemble(
        args.snapshots, os.path.join(args.out, "snapshots")
    )
    start = time.perf_counter()
    model.fit(train, callbacks=[snapshots], **common)
    wall = round(time.perf_counter() - start, 1)
    for i, path in enumerate(snapshots.snapshots):
        model.load_weights(path)
        accuracy = model.evaluate(test, verbose=0)[1]
        report(
            run="snapshot",
            weights=f"snapshot {i + 1}",
            epochs=args.epochs,
            test_accuracy=round(accuracy, 4),
        )
    ensemble = recipekit.models.ensemble_model(model, snapshots.snapshots)
    ensemble.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    accuracy = ensemble.evaluate(test, verbose=0)[1]
    report(
        run="snapshot", weights=f"ensemble of {args.snapshots}", epochs=args.epochs,
        test_accuracy=round(accuracy, 4), wall_s=wall, cpu_cores=os.cpu_count(),
    )  # fmt: skip


if __name__ == "__main__":
    main()
