"""One small CNN run, for the evidence rows a ResNet run cannot give cheaply.

The network is the lecture's plain CNN: two 3x3 conv blocks (32, 32 filters;
64, 64 filters), a 256-unit dense layer and a softmax classifier, trained on
90% of the training images of `--data` without augmentation (so it overfits
and a regularizer has work to do); the evidence runs pass the full CIFAR-10,
so 45,000 images. The other 10% (a fixed random split) are a validation split
for choosing a learning rate; the test split gives the test accuracy. The arms:

- `--head none|dropout|dropconnect`: the dense layer plain, followed by
  Dropout(0.5), or a DropConnectDense(rate 0.5);
- `--pool max|fractional`: 2x2 max-pooling after each conv block, or
  fractional max-pooling by sqrt(2) after each conv (32 -> 23 -> 16 -> 11 -> 8,
  the same 8x8 output as the max-pooled net);
- `--optimizer sgd|momentum|nesterov|adagrad|rmsprop|adam --lr R`.

Writes `metrics.json` (validation and test accuracy, wall time) to `--out`.

    python benchmarks/small_net.py --head dropout --seed 0 --out runs/small/dropout
"""

import argparse
import json
import os
import time

HEADS = ("none", "dropout", "dropconnect")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--head", choices=HEADS, default="none")
    p.add_argument("--pool", choices=("max", "fractional"), default="max")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="momentum")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--data", default="cifar10_sample", help="train/test source")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if not 0 < args.lr < float("inf"):
        p.error(f"--lr must be a finite number > 0, got {args.lr}")
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")
    return args


def build(args, num_classes):
    import keras

    from recipekit.layers import DropConnectDense, FractionalMaxPooling2D

    layers = [keras.Input((32, 32, 3)), keras.layers.Rescaling(1 / 255)]
    for i, filters in enumerate((32, 32, 64, 64)):
        layers.append(
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu")
        )
        if args.pool == "fractional":
            layers.append(FractionalMaxPooling2D(2**0.5, seed=args.seed + i))
        elif i % 2:
            layers.append(keras.layers.MaxPooling2D(2))
    layers.append(keras.layers.Flatten())
    if args.head == "dropconnect":
        layers.append(DropConnectDense(256, 0.5, activation="relu", seed=args.seed))
    else:
        layers.append(keras.layers.Dense(256, activation="relu"))
    if args.head == "dropout":
        layers.append(keras.layers.Dropout(0.5, seed=args.seed))
    layers.append(keras.layers.Dense(num_classes))
    return keras.Sequential(layers)


def optimizer(name, lr):
    import keras

    if name in ("sgd", "momentum", "nesterov"):
        momentum = 0.0 if name == "sgd" else 0.9
        return keras.optimizers.SGD(lr, momentum=momentum, nesterov=name == "nesterov")
    return {"adagrad": keras.optimizers.Adagrad, "rmsprop": keras.optimizers.RMSprop,
            "adam": keras.optimizers.Adam}[name](lr)  # fmt: skip


def main(argv=None):
    args = parse_args(argv)
    import recipekit  # first: it starts Keras quietly

    # isort: split
    import keras
    import numpy as np

    keras.utils.set_random_seed(args.seed)
    x, y, names = recipekit.data.load_arrays(args.data, "train")
    x_test, y_test, _ = recipekit.data.load_arrays(args.data, "test")
    # A fixed 10% validation split, the same for every seed and arm.
    order = np.random.default_rng(12345).permutation(len(x))
    val, train = order[: max(1, len(x) // 10)], order[max(1, len(x) // 10) :]
    (x, y), (x_val, y_val) = (x[train], y[train]), (x[val], y[val])
    model = build(args, len(names))
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer(args.optimizer, args.lr), loss, metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs,
                        validation_data=(x_val, y_val), verbose=0)  # fmt: skip
    wall = time.perf_counter() - start
    train_loss = history.history["loss"][-1]
    finite = bool(np.isfinite(train_loss))
    evaluate = {"batch_size": 500, "verbose": 0}
    metrics = {
        "val_accuracy": round(float(model.evaluate(x_val, y_val, **evaluate)[1]), 4),
        "test_accuracy": round(float(model.evaluate(x_test, y_test, **evaluate)[1]), 4),
        "train_accuracy": round(float(model.evaluate(x, y, **evaluate)[1]), 4),
        "final_train_loss": round(float(train_loss), 4) if finite else None,
        "wall_time_s": round(wall, 1),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "backend": keras.backend.backend(),
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
