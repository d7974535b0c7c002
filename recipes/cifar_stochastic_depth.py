"""Stochastic depth on a CIFAR ResNet (Huang et al., 2016), with and without.

Two runs with the same data, schedule and seed: a ResNet-110 whose residual
branches are dropped with linearly growing probability (block l of 54 drops with
0.5 * l / 54, per sample), and the same network without. The paper trains 500
epochs (LR 0.1, /10 at 250 and 375, batch 128, Nesterov 0.9, L2 1e-4) and reports
CIFAR-10 test error 6.41% without and 5.25% with stochastic depth.

That schedule is out of reach on 2 CPU cores (ResNet-110 trains at 62-73
images/s there: about 8 days); `--quick` runs a ResNet-20 for a few epochs on
the bundled sample to show the flow. Measured results: benchmarks/EVIDENCE.md.

    python recipes/cifar_stochastic_depth.py --quick
    python recipes/cifar_stochastic_depth.py --data cifar10        # the paper's run
"""

import dataclasses
import os
import time

import recipekit_cli

# Keras and recipekit load on first use, in `main`: `--help` and a bad flag
# answer at once, and quiet_start() runs before Keras starts.
keras, recipekit = recipekit_cli.deferred("keras", "recipekit")

SAMPLE = "cifar10_sample"  # the 5,000-image CIFAR-10 sample recipekit bundles
PAPER_ERROR = {"without": 0.0641, "with": 0.0525}  # ResNet-110, CIFAR-10


@dataclasses.dataclass
class Config:
    data: str = "cifar10"  # TFDS name, folder, archive or .npz with train/test splits
    depth: int = 110  # ResNet depth, 6n + 2
    final_rate: float = 0.5  # drop rate of the last block (paper: 0.5)
    mode: str = "row"  # "row": per sample; "batch": per batch, as in the paper
    epochs: int = 500  # paper: 500 epochs
    batch_size: int = 128  # images per step
    learning_rate: float = 0.1  # divided by 10 at 50% and 75% of training
    weight_decay: float = 1e-4  # L2 coefficient (gradient gains wd * w)
    label_smoothing: float = 0.0  # target mass spread over all classes (0: off)
    seed: int = 0  # same seed for both runs
    out: str = "runs/cifar_stochastic_depth"  # metrics.json and one folder per run
    force_resume: bool = False  # resume backups made with other settings


# Settings a resumed run may change: where it writes, the resume itself.
FREE = ("out", "force_resume")

# Each flag's allowed values, checked before Keras starts.
CHECKS = {"epochs": "[1, inf)", "batch_size": "[1, inf)", "final_rate": "[0, 1)",
          "label_smoothing": "[0, 1)"}  # fmt: skip


def parse_args(argv=None) -> Config:
    parser = recipekit_cli.config_parser(
        __doc__, Config, quick="ResNet-20, 4 epochs, bundled sample",
        choices={"mode": ("row", "batch")}, checks=CHECKS,
    )  # fmt: skip
    args = recipekit_cli.parse_recipe_args(parser, argv, CHECKS)
    config = Config()
    if args.quick:
        config = dataclasses.replace(config, data=SAMPLE, depth=20, epochs=4)
    if args.depth is not None and (args.depth < 8 or (args.depth - 2) % 6):
        parser.error(f"--depth must be 6n + 2 (20, 32, 44, 56, 110), got {args.depth}")
    return recipekit_cli.updated(config, args)


def train_one(config, rate, train, test, mean, std, num_classes):
    """One run: the training set on the device (flips and pad-4 crops in the
    step, on every backend), step decay in the optimizer, a backup per run."""
    (x_train, y_train), (x_test, y_test) = train, test
    keras.utils.set_random_seed(config.seed)
    out = os.path.join(config.out, f"rate_{rate}")
    backup_dir = os.path.join(out, "backup")
    steps = len(x_train) // config.batch_size
    # Every epoch's batches depend on (seed, epoch) alone: a resumed run gets
    # what the killed run would have.
    start_epoch = min(recipekit.callbacks.backup_epoch(backup_dir), config.epochs - 1)
    positions, pairs = recipekit.data.epoch_indices(
        len(x_train), config.batch_size, config.epochs, config.seed, start_epoch
    )
    with recipekit.distribute.strategy().scope():
        net = recipekit.models.cifar_resnet(
            config.depth,
            num_classes,
            mean=mean,
            std=std,
            weight_decay=config.weight_decay,
            stochastic_depth_rate=rate,
            stochastic_depth_mode=config.mode,
        )
        images = recipekit.data.DeviceImages(
            len(x_train), x_train.shape[1:], images=x_train, flip="random",
            translate=4, seed=config.seed, name="training_set",
        )  # fmt: skip
        # Trained on logits: the same stable loss on every backend
        # (recipekit.models.logits_model says why).
        model = images.training_model(recipekit.models.logits_model(net))
        schedule = recipekit.optimizers.StepDecay.at_fractions(
            config.learning_rate, config.epochs, steps, (0.5, 0.75)
        )
        loss = "sparse_categorical_crossentropy"
        model.compile(
            keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True),
            recipekit.losses.SmoothedCrossentropy(
                config.label_smoothing, from_logits=True
            ),
            metrics=["accuracy"],
        )
        # Evaluated on its own; "sgd" holds no state, so model.keras reloads
        # without an optimizer-mismatch warning (Keras's default RMSprop would).
        net.compile("sgd", loss, metrics=["accuracy"])
    callbacks = [
        recipekit.callbacks.Validate(net, (x_test, y_test), batch_size=512),
        recipekit.callbacks.TrainingCurves(
            os.path.join(out, "curves.png"), csv_path=os.path.join(out, "log.csv")
        ),
        # Whole backups; stops at the first non-finite loss, keeping the last.
        recipekit.callbacks.BackupAndRestore(backup_dir),
    ]
    start = time.perf_counter()
    history = model.fit(
        pairs,
        y_train[positions],
        batch_size=config.batch_size,
        epochs=config.epochs,
        steps_per_epoch=steps,
        callbacks=callbacks,
        shuffle=False,  # epoch_indices shuffles, by epoch.
        verbose=recipekit.report.fit_verbosity(),  # one line per epoch in a log
    )
    wall = time.perf_counter() - start
    if callbacks[-1].stopped:
        return {"final_rate": rate, "stopped": callbacks[-1].stopped}
    _, accuracy = net.evaluate(x_test, y_test, batch_size=512, verbose=0)
    recipekit.run.save_model(net, os.path.join(out, "model.keras"))
    return {
        "final_rate": rate,
        "test_error": round(1 - float(accuracy), 4),
        "train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "wall_time_s": round(wall, 1),
    }


def main(config: Config) -> dict:
    """Both runs and the evaluation into `config.out` (each run resumes)."""
    recipekit.run.one_process_only(
        "cifar_stochastic_depth.py", "its two runs are written by one process"
    )
    return recipekit.run.resume_or_train(
        "cifar_stochastic_depth", config, lambda run: train_both(config, run), free=FREE
    )


def train_both(config: Config, run) -> dict:
    recipekit.report.header(
        "cifar_stochastic_depth",
        data=config.data,
        device=recipekit.distribute.describe(),
        epochs=f"{config.epochs}, twice (without, then with stochastic depth)",
        out=config.out,
        model=f"ResNet-{config.depth}, final survival {1 - config.final_rate:g}",
    )

    # Data: decoded once into uint8 arrays (no TensorFlow needed).
    # Both splits decoded once to uint8; test labels checked against the training
    # classes, the data recorded (a resume on other data is refused).
    (x_train, y_train), (x_test, y_test), class_names = run.load_arrays(
        config.data, translate=4
    )
    mean, std = recipekit.data.channel_stats(x_train)

    # Model + Train, twice: without, then with stochastic depth.
    runs = {}
    for i, (name, rate) in enumerate((("without", 0.0), ("with", config.final_rate))):
        recipekit.report.phase(f"training {i + 1}/2: {name} stochastic depth")
        runs[name] = train_one(
            config, rate, (x_train, y_train), (x_test, y_test), mean, std,
            len(class_names),
        )  # fmt: skip
        if "stopped" in runs[name]:
            run.stop(f"{name} stochastic depth: {runs[name]['stopped']}",
                     dataclasses.asdict(config))  # fmt: skip

    # Evaluate
    metrics = {
        "depth": config.depth,
        "epochs": config.epochs,
        "data": config.data,
        "runs": runs,
        "paper_resnet110_cifar10_error": PAPER_ERROR,
        "backend": keras.backend.backend(),
        "device": recipekit.distribute.describe(),
    }
    metrics = run.finish(metrics)
    rows = {
        f"{name} stochastic depth": {
            "test error %": one["test_error"],
            "paper (ResNet-110, 500 epochs)": PAPER_ERROR[name],
        }
        for name, one in runs.items()
    }
    paths = [os.path.join(config.out, "metrics.json")]
    for one in runs.values():
        paths.append(os.path.join(config.out, f"rate_{one['final_rate']}"))
    recipekit.report.summary(
        rows,
        corner=f"ResNet-{config.depth}",
        wall_s=sum(r["wall_time_s"] for r in runs.values()),
        paths=paths,
    )
    return metrics


if __name__ == "__main__":
    config = parse_args()  # --help and bad flags answer before Keras starts
    recipekit_cli.quiet_start()  # then Keras, without TensorFlow's start-up lines
    recipekit_cli.command(main, config)
