"""The optimizer tour: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, L-BFGS.

Part 1 draws each optimizer's path on three 2-D surfaces (an ill-conditioned
bowl, a saddle point, a surface with a local minimum), using Keras's own
optimizer classes on a `keras.Variable`, plus SciPy's full-batch L-BFGS and, on
each surface, Adam without bias correction (written out, since Keras's Adam
always corrects). Part 2 trains the same small CNN on CIFAR-10 with each
optimizer at its usual learning rate for the same number of epochs, and SGD with
momentum under step, exponential and cosine decay. Writes one PNG per surface,
`cifar_loss.png` and `results.json` to `--out`.

    python recipes/optimizers_tour.py --quick     # a few minutes on 2 CPU cores
    python recipes/optimizers_tour.py --data path/to/cifar10.tar.gz
"""

import dataclasses
import os
import time

import numpy as np

import recipekit_cli

# Keras and recipekit load on first use, in `main`: `--help` and a bad flag
# answer at once, and quiet_start() runs before Keras starts.
keras, recipekit, tour, matplotlib_figure = recipekit_cli.deferred(
    "keras", "recipekit", "recipekit.tour", "matplotlib.figure"
)

SAMPLE = "cifar10_sample"  # the 5,000-image CIFAR-10 sample recipekit bundles
LABELS = {"sgd": "SGD", "momentum": "SGD+momentum", "nesterov": "Nesterov",
          "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adam": "Adam"}  # fmt: skip


@dataclasses.dataclass
class Config:
    data: str = "cifar10"  # CIFAR source for part 2: TFDS name, folder, archive
    epochs: int = 15  # epochs per optimizer in part 2
    batch_size: int = 128  # images per step in part 2
    train_images: int = 0  # use only this many training images (0: all)
    learning_rates: tuple = (  # (optimizer, its usual learning rate) for part 2
        ("sgd", 0.1),
        ("momentum", 0.05),
        ("nesterov", 0.05),
        ("adagrad", 0.05),
        ("rmsprop", 0.001),
        ("adam", 0.001),
    )
    seed: int = 0  # same initial weights for every run
    out: str = "runs/optimizers_tour"  # PNGs and results.json


# Each flag's allowed values, checked before Keras starts.
CHECKS = {"epochs": "[1, inf)", "batch_size": "[1, inf)", "train_images": "[0, inf)"}


def parse_args(argv=None) -> Config:
    parser = recipekit_cli.config_parser(
        __doc__, Config, quick="3 epochs on the bundled sample", checks=CHECKS
    )
    args = recipekit_cli.parse_recipe_args(parser, argv, CHECKS)
    config = Config()
    if args.quick:
        config = dataclasses.replace(config, data=SAMPLE, epochs=3)
    return recipekit_cli.updated(config, args)


def draw_surface(surface, paths, path):
    figure = matplotlib_figure.Figure(figsize=(7.5, 5))
    axis = figure.subplots()
    X, Y, Z = tour.grid(surface)
    levels = np.quantile(Z, np.linspace(0.0, 1.0, 30) ** 2)
    axis.contour(X, Y, Z, levels=np.unique(levels), cmap="Greys", linewidths=0.6)
    for name, points in paths.items():
        style = "--" if name.startswith("Adam, no") else "-"
        axis.plot(
            points[:, 0], points[:, 1], style, marker=".", markersize=3, label=name
        )
    axis.plot(*surface.start, "k*", markersize=10, label="start")
    x0, x1, y0, y1 = surface.window
    axis.set_xlim(x0, x1)
    axis.set_ylim(y0, y1)
    axis.set_xlabel("x")
    axis.set_ylabel("y")
    axis.set_title(f"{surface.title}, {surface.steps} steps")
    axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def surfaces_part(config):
    results = {}
    for surface in tour.SURFACES:
        paths = {}
        for name, make in tour.OPTIMIZERS.items():
            rate = surface.learning_rates[name]
            paths[f"{LABELS[name]} (lr {rate})"] = tour.keras_trajectory(
                make(rate), surface, surface.steps
            )
        paths["L-BFGS (full batch)"] = tour.lbfgs_trajectory(surface, surface.steps)
        paths["Adam, no bias correction"] = tour.adam_without_bias_correction(
            surface, surface.steps, surface.learning_rates["adam"]
        )
        draw_surface(surface, paths, os.path.join(config.out, f"{surface.name}.png"))
        results[surface.name] = {
            name: {"final_loss": float(surface(p[-1])), "final_point": p[-1].tolist()}
            for name, p in paths.items()
        }
    return results


def small_cnn(num_classes, mean, std):
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Normalization(mean=list(mean), variance=list(np.square(std)))(
        inputs
    )
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(num_classes)(x)
    outputs = keras.layers.Activation("softmax", dtype="float32")(logits)
    return keras.Model(inputs, outputs)


def cifar_part(config):
    # Data: uint8 arrays held on the device; flips and pad-4 crops in the step.
    x_train, y_train, names = recipekit.data.load_arrays(config.data, "train")
    if config.train_images:
        keep = np.random.default_rng(0).permutation(len(x_train))
        keep = np.sort(keep[: config.train_images])
        x_train, y_train = x_train[keep], y_train[keep]
    x_test, y_test, _ = recipekit.data.load_arrays(
        config.data, "test", class_names=names
    )
    recipekit.run.check_translation(config.data, x_train.shape[1:], 4)
    mean, std = recipekit.data.channel_stats(x_train)
    steps_per_epoch = len(x_train) // config.batch_size
    positions, pairs = recipekit.data.epoch_indices(
        len(x_train), config.batch_size, config.epochs, config.seed
    )
    steps = config.epochs * steps_per_epoch
    momentum = dict(config.learning_rates)["momentum"]
    runs = {LABELS[n]: (n, lr) for n, lr in config.learning_rates}
    schedules = keras.optimizers.schedules
    runs["SGD+momentum, step decay"] = (
        "momentum",
        recipekit.optimizers.StepDecay.at_fractions(
            momentum, config.epochs, steps_per_epoch
        ),
    )
    exponential = schedules.ExponentialDecay(momentum, steps, decay_rate=0.01)
    runs["SGD+momentum, exponential decay"] = ("momentum", exponential)
    runs["SGD+momentum, cosine decay"] = (
        "momentum",
        schedules.CosineDecay(momentum, steps),
    )
    results, curves = {}, {}
    for i, (label, (name, lr)) in enumerate(runs.items()):
        recipekit.report.phase(f"CIFAR {i + 1}/{len(runs)}: {label}")
        keras.utils.set_random_seed(config.seed)
        net = small_cnn(len(names), mean, std)
        images = recipekit.data.DeviceImages(
            len(x_train), x_train.shape[1:], images=x_train, flip="random",
            translate=4, seed=config.seed,
        )  # fmt: skip
        # Trained on logits: the same stable loss on every backend
        # (recipekit.models.logits_model says why).
        model = images.training_model(recipekit.models.logits_model(net))
        loss = "sparse_categorical_crossentropy"
        logits_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer=tour.OPTIMIZERS[name](lr), loss=logits_loss)
        net.compile("sgd", loss, metrics=["accuracy"])  # evaluated only
        history = model.fit(
            pairs,
            y_train[positions],
            batch_size=config.batch_size,
            epochs=config.epochs,
            steps_per_epoch=steps_per_epoch,
            verbose=2,
            shuffle=False,  # epoch_indices shuffles, by epoch.
        )
        curves[label] = history.history["loss"]
        _, accuracy = net.evaluate(x_test, y_test, batch_size=512, verbose=0)
        results[label] = round(float(accuracy), 4)
    figure = matplotlib_figure.Figure(figsize=(7.5, 5))
    axis = figure.subplots()
    for label, losses in curves.items():
        axis.plot(
            range(1, len(losses) + 1), losses, marker="o", markersize=3, label=label
        )
    axis.set_xlabel("epoch")
    axis.set_ylabel("training loss")
    axis.set_title(f"Small CNN on {config.data}: training loss per optimizer")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(os.path.join(config.out, "cifar_loss.png"), dpi=110)
    return results


def main(config: Config) -> dict:
    """One run into `config.out`: claimed and locked (nothing to resume, so a
    rerun trains again, overwriting only its own files)."""
    recipekit.run.one_process_only(
        "optimizers_tour.py",
        "each optimizer's short run is a single-process comparison",
    )
    with recipekit.run.RunFolder(config.out, "optimizers_tour", {}) as run:
        return run_all(config, run)


def run_all(config: Config, run) -> dict:
    recipekit.report.header(
        "optimizers_tour",
        data=config.data,
        device=recipekit.distribute.describe(),
        epochs=f"{config.epochs} per optimizer",
        out=config.out,
    )
    recipekit.report.phase(f"{len(tour.SURFACES)} test surfaces, every optimizer")
    start = time.perf_counter()
    results = {"surfaces": surfaces_part(config)}
    results["cifar_test_accuracy"] = cifar_part(config)
    wall = time.perf_counter() - start
    results.update(
        data=config.data, epochs=config.epochs, device=recipekit.distribute.describe()
    )
    recipekit.run.write_json(os.path.join(config.out, "results.json"), results)
    accuracy = results["cifar_test_accuracy"]
    rows = {label: {"test accuracy %": a} for label, a in accuracy.items()}
    names = ["results.json", "cifar_loss.png"]
    names += [f"{surface.name}.png" for surface in tour.SURFACES]
    recipekit.report.summary(
        rows,
        corner="optimizer (CIFAR)",
        wall_s=wall,
        paths=[os.path.join(config.out, n) for n in names],
    )
    return results


if __name__ == "__main__":
    config = parse_args()  # --help and bad flags answer before Keras starts
    recipekit_cli.quiet_start()  # then Keras, without TensorFlow's start-up lines
    recipekit_cli.command(main, config)
