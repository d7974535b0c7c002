"""Regularizers on CIFAR-10: the train/test gap they leave, and what they cost.

Part "gap": ResNet-20 trained on a fixed subset of the shared CIFAR-10 (default
10,000 images, 15 epochs, standard augmentation, step decay) with: no extra
regularizer, Dropout(0.5) before the classifier, a DropConnectDense(rate 0.5)
classifier, and stochastic depth (final rate 0.2, per sample). Reports train
accuracy (on the training subset without augmentation), test accuracy on the
10,000 test images, and the gap.

Part "cost": the time of one training step (forward + backward + update) of a
small model with each layer vs its plain counterpart: DropConnectDense vs Dense,
DropConnectConv2D vs Conv2D, StochasticDepth on a residual branch vs the plain
branch, FractionalMaxPooling2D(1.414) vs MaxPooling2D(2). Best of several runs.

Prints one JSON object per measurement.

    python benchmarks/regularizers.py --part cost
    python benchmarks/regularizers.py --part gap [--train-images 10000 --epochs 15]
"""

import argparse
import json
import os
import time

import keras
import numpy as np

import recipekit
from recipekit.layers import (
    DropConnectConv2D,
    DropConnectDense,
    FractionalMaxPooling2D,
    StochasticDepth,
)


def step_time(model, x, y, steps=30, repeats=3):
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch(x, y)
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def cost_models():
    def dense_head(layer):
        return keras.Sequential(
            [keras.Input((512,)), keras.layers.Dense(512, activation="relu"), layer]
        )

    def conv(layer):
        return keras.Sequential(
            [
                keras.Input((32, 32, 32)),
                layer,
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(10),
            ]
        )

    def residual(drop):
        inputs = keras.Input((32, 32, 32))
        branch = keras.layers.Conv2D(32, 3, padding="same")(inputs)
        if drop:
            branch = StochasticDepth(0.2)(branch)
        x = keras.layers.Add()([inputs, branch])
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(10)(x))

    def pool(layer):
        return keras.Sequential(
            [
                keras.Input((32, 32, 32)),
                keras.layers.Conv2D(32, 3, padding="same"),
                layer,
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(10),
            ]
        )

    return [
        ("DropConnectDense(512->10, 0.5)", "Dense(512->10)",
         lambda: dense_head(DropConnectDense(10, 0.5)),
         lambda: dense_head(keras.layers.Dense(10)), (512,)),
        ("DropConnectConv2D(32, 3x3, 0.5)", "Conv2D(32, 3x3)",
         lambda: conv(DropConnectConv2D(32, 3, 0.5, padding="same")),
         lambda: conv(keras.layers.Conv2D(32, 3, padding="same")), (32, 32, 32)),
        ("StochasticDepth(0.2) on a residual branch", "plain residual branch",
         lambda: residual(True), lambda: residual(False), (32, 32, 32)),
        ("FractionalMaxPooling2D(1.414)", "MaxPooling2D(2)",
         lambda: pool(FractionalMaxPooling2D(1.414)),
         lambda: pool(keras.layers.MaxPooling2D(2)), (32, 32, 32)),
    ]  # fmt: skip


def part_cost(batch):
    rng = np.random.default_rng(0)
    for name, plain_name, make, make_plain, shape in cost_models():
        x = rng.normal(size=(batch, *shape)).astype("float32")
        y = rng.integers(0, 10, batch)
        ours = step_time(make(), x, y)
        plain = step_time(make_plain(), x, y)
        print(
            json.dumps(
                {
                    "benchmark": "regularizer_step_cost",
                    "layer": name,
                    "plain": plain_name,
                    "batch": batch,
                    "step_ms": round(1000 * ours, 2),
                    "plain_step_ms": round(1000 * plain, 2),
                    "ratio": round(ours / plain, 3),
                }
            ),
            flush=True,
        )


def build(variant, mean, std):
    if variant == "stochastic depth 0.2":
        return recipekit.models.cifar_resnet(
            20, mean=mean, std=std, weight_decay=1e-4, stochastic_depth_rate=0.2
        )
    base = recipekit.models.cifar_resnet(20, mean=mean, std=std, weight_decay=1e-4)
    if variant == "none":
        return base
    features = base.get_layer(index=-3).output  # GlobalAveragePooling2D
    if variant == "dropout 0.5":
        x = keras.layers.Dropout(0.5)(features)
        x = keras.layers.Dense(10)(x)
    else:
        x = DropConnectDense(10, 0.5)(features)
    outputs = keras.layers.Activation("softmax", dtype="float32")(x)
    return keras.Model(base.input, outputs)


def part_gap(data, train_images, epochs, seed):
    x, y, _ = recipekit.data.load_arrays(data, "train")
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(x))[:train_images]
    x, y = x[pick], y[pick]
    test_raw, _ = recipekit.data.load(data, "test")
    raw, _ = recipekit.data.load((x, y), class_names=[str(i) for i in range(10)])
    mean, std = recipekit.data.channel_stats(raw)
    train = recipekit.data.pipeline(
        raw, 128, training=True, augment=recipekit.augment.cifar_policy(), seed=seed
    )
    train_eval = recipekit.data.pipeline(raw, 512)
    test = recipekit.data.pipeline(test_raw, 512)
    for variant in (
        "none",
        "dropout 0.5",
        "dropconnect head 0.5",
        "stochastic depth 0.2",
    ):
        keras.utils.set_random_seed(seed)
        model = build(variant, mean, std)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        start = time.perf_counter()
        model.fit(
            train,
            epochs=epochs,
            verbose=0,
            shuffle=False,
            callbacks=[recipekit.callbacks.StepDecay.at_fractions(epochs)],
        )
        wall = time.perf_counter() - start
        train_acc = model.evaluate(train_eval, verbose=0)[1]
        test_acc = model.evaluate(test, verbose=0)[1]
        print(
            json.dumps(
                {
                    "benchmark": "regularizer_gap",
                    "variant": variant,
                    "model": "resnet20",
                    "train_images": int(len(x)),
                    "epochs": epochs,
                    "train_accuracy": round(train_acc, 4),
                    "test_accuracy": round(test_acc, 4),
                    "gap": round(train_acc - test_acc, 4),
                    "wall_s": round(wall, 1),
                    "cpu_cores": os.cpu_count(),
                }
            ),
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("cost", "gap"), default="cost")
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg.tar.gz")
    parser.add_argument("--train-images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.part == "cost":
        part_cost(args.batch)
    else:
        part_gap(args.data, args.train_images, args.epochs, args.seed)


if __name__ == "__main__":
    main()
