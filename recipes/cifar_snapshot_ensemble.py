"""Snapshot ensemble on CIFAR-10 (Huang et al., 2017): train 1, get M for free.

One ResNet run with cyclic cosine annealing (per step, M cycles, LR restarting at
`lr_max`) and a snapshot at the end of each cycle; the ensemble averages the
snapshots' softmax outputs. For comparison, the same network trained once with
the classic step decay for the same number of epochs. Reports each snapshot's
test accuracy, the ensemble's, and the single model's.

The paper's ResNet-110 on CIFAR-10 (its Table 1), which the defaults follow at
`--depth 110`: 200 epochs, M = 5 cycles of 40 epochs, lr_max 0.2, batch 64.
Single model (step decay) 5.52% error, snapshot ensemble 5.32%, and M
independent 40-epoch runs ensembled (`--independent`) 7.35%. Measured
results: benchmarks/EVIDENCE.md.

    python recipes/cifar_snapshot_ensemble.py --quick
    python recipes/cifar_snapshot_ensemble.py --data cifar10 --depth 110
"""

import dataclasses
import os
import time

import recipekit_cli

# Keras and recipekit load on first use, in `main`: `--help` and a bad flag
# answer at once, and quiet_start() runs before Keras starts.
keras, recipekit = recipekit_cli.deferred("keras", "recipekit")

SAMPLE = "cifar10_sample"  # the 5,000-image CIFAR-10 sample recipekit bundles


@dataclasses.dataclass
class Config:
    data: str = "cifar10"  # TFDS name, folder, archive or .npz with train/test splits
    depth: int = 20  # ResNet depth, 6n + 2
    epochs: int = 200  # epochs of each of the two runs (paper, ResNet: 200)
    snapshots: int = 5  # cycles and snapshots M (paper, ResNet: 5)
    lr_max: float = 0.2  # rate at the start of each cycle (paper: 0.2)
    learning_rate: float = 0.1  # the step-decay baseline's initial rate
    batch_size: int = 64  # images per step (paper: 64)
    weight_decay: float = 1e-4  # L2 coefficient (gradient gains wd * w)
    label_smoothing: float = 0.0  # target mass spread over all classes (0: off)
    seed: int = 0  # same seed for both runs
    independent: bool = False  # also M independent runs of epochs / M, ensembled
    out: str = "runs/cifar_snapshot_ensemble"  # metrics.json, snapshots/, models
    force_resume: bool = False  # resume backups made with other settings


# Settings a resumed run may change: where it writes, the resume itself.
FREE = ("out", "force_resume")

# Each flag's allowed values, checked before Keras starts.
CHECKS = {"epochs": "[1, inf)", "snapshots": "[1, inf)", "lr_max": "(0, inf)",
          "label_smoothing": "[0, 1)"}  # fmt: skip


def parse_args(argv=None) -> Config:
    parser = recipekit_cli.config_parser(
        __doc__,
        Config,
        quick="6 epochs, 3 snapshots, batch 128, bundled sample",
        checks=CHECKS,
    )
    args = recipekit_cli.parse_recipe_args(parser, argv, CHECKS)
    config = Config()
    if args.quick:
        quick = dict(data=SAMPLE, epochs=6, snapshots=3, batch_size=128)
        config = dataclasses.replace(config, **quick)
    if args.depth is not None and (args.depth < 8 or (args.depth - 2) % 6):
        parser.error(f"--depth must be 6n + 2 (20, 32, 44, 56, 110), got {args.depth}")
    epochs = args.epochs or config.epochs
    snapshots = args.snapshots or config.snapshots
    if epochs % snapshots:
        parser.error(
            f"--epochs ({epochs}) must be a multiple of --snapshots ({snapshots}): "
            "snapshot cycles are whole epochs"
        )
    return recipekit_cli.updated(config, args)


def train(config, name, schedule, data, classes, mean, std, snapshot_dir=None):
    """One run: the training set on the device (flips and pad-4 crops in the
    step, on every backend), `schedule` in the optimizer, a backup per run,
    and with `snapshot_dir` a snapshot of the network after each cycle.
    Returns the network, the training time and the snapshot callback."""
    (x_train, y_train), test = data
    keras.utils.set_random_seed(config.seed)
    backup_dir = os.path.join(config.out, name, "backup")
    # Every epoch's batches depend on (seed, epoch) alone: a resumed run gets
    # what the killed run would have.
    start_epoch = min(recipekit.callbacks.backup_epoch(backup_dir), config.epochs - 1)
    positions, pairs = recipekit.data.epoch_indices(
        len(x_train), config.batch_size, config.epochs, config.seed, start_epoch
    )
    with recipekit.distribute.strategy().scope():
        net = recipekit.models.cifar_resnet(
            config.depth, classes, mean=mean, std=std,
            weight_decay=config.weight_decay,
        )  # fmt: skip
        images = recipekit.data.DeviceImages(
            len(x_train), x_train.shape[1:], images=x_train, flip="random",
            translate=4, seed=config.seed, name="training_set",
        )  # fmt: skip
        # Trained on logits: the same stable loss on every backend
        # (recipekit.models.logits_model says why).
        model = images.training_model(recipekit.models.logits_model(net))
        loss = "sparse_categorical_crossentropy"
        model.compile(
            keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True),
            recipekit.losses.SmoothedCrossentropy(
                config.label_smoothing, from_logits=True
            ),
            metrics=["accuracy"],
        )
        # Evaluated on its own; "sgd" holds no state, so saved files reload
        # without an optimizer-mismatch warning (Keras's default RMSprop would).
        net.compile("sgd", loss, metrics=["accuracy"])
    callbacks = [
        recipekit.callbacks.Validate(net, test, batch_size=512),
        # Whole backups; stops at the first non-finite loss, keeping the last.
        recipekit.callbacks.BackupAndRestore(backup_dir),
    ]
    snapshots = None
    if snapshot_dir:
        snapshots = recipekit.callbacks.SnapshotEnsemble(
            config.snapshots, snapshot_dir, model=net
        )
        callbacks.append(snapshots)
    start = time.perf_counter()
    model.fit(
        pairs,
        y_train[positions],
        batch_size=config.batch_size,
        epochs=config.epochs,
        steps_per_epoch=len(x_train) // config.batch_size,
        callbacks=callbacks,
        shuffle=False,  # epoch_indices shuffles, by epoch.
        verbose=recipekit.report.fit_verbosity(),  # one line per epoch in a log
    )
    stopped = callbacks[1].stopped or (snapshots.stopped if snapshots else None)
    return net, time.perf_counter() - start, snapshots, stopped


def main(config: Config) -> dict:
    """Both runs and the evaluation into `config.out` (each run resumes)."""
    recipekit.run.one_process_only(
        "cifar_snapshot_ensemble.py",
        "its two runs and their snapshots are written by one process",
    )
    return recipekit.run.resume_or_train(
        "cifar_snapshot_ensemble",
        config,
        lambda run: train_both(config, run),
        free=FREE,
    )


def train_both(config: Config, run) -> dict:
    recipekit.report.header(
        "cifar_snapshot_ensemble",
        data=config.data,
        device=recipekit.distribute.describe(),
        epochs=f"{config.epochs}, twice (snapshot run, then single model)",
        out=config.out,
        model=f"ResNet-{config.depth}, {config.snapshots} snapshots",
    )

    # Data: decoded once into uint8 arrays (no TensorFlow needed).
    # Both splits decoded once to uint8; test labels checked against the training
    # classes, the data recorded (a resume on other data is refused).
    (x_train, y_train), (x_test, y_test), class_names = run.load_arrays(
        config.data, translate=4
    )
    mean, std = recipekit.data.channel_stats(x_train)
    steps = recipekit.run.steps_per_epoch(config.data, len(x_train), config.batch_size)
    data = ((x_train, y_train), (x_test, y_test))
    inputs = (data, len(class_names), mean, std)
    test = {"x": x_test, "y": y_test, "batch_size": 512, "verbose": 0}

    # Model + Train 1: cyclic cosine annealing (per step, in the optimizer)
    # with a snapshot of the network at the end of each of the M cycles.
    cosine = recipekit.callbacks.SnapshotEnsemble.schedule(
        config.lr_max, config.epochs, steps, config.snapshots
    )
    snapshot_dir = os.path.join(config.out, "snapshots")
    recipekit.report.phase(f"training 1/2: {config.snapshots} cosine cycles")
    net, snapshot_time, snapshots, stopped = train(
        config, "snapshot_run", cosine, *inputs, snapshot_dir
    )
    if stopped:
        run.stop(f"snapshot run: {stopped}", dataclasses.asdict(config))

    # Model + Train 2: the single-model baseline, step decay at 50% / 75%.
    step_decay = recipekit.optimizers.StepDecay.at_fractions(
        config.learning_rate, config.epochs, steps
    )
    recipekit.report.phase("training 2/2: single model, step decay")
    single, single_time, _, stopped = train(config, "single", step_decay, *inputs)
    if stopped:
        run.stop(f"single model: {stopped}", dataclasses.asdict(config))

    # Model + Train 3 (--independent): a true ensemble at equal cost, M models
    # of epochs / M each with step decay, from their own seeds.
    members, member_time = [], 0.0
    for k in range(config.snapshots if config.independent else 0):
        path = os.path.join(config.out, "independent", f"member_{k}.weights.h5")
        if not os.path.exists(path):  # a finished member survives a kill
            recipekit.report.phase(f"independent model {k + 1}/{config.snapshots}")
            short = dataclasses.replace(
                config, epochs=config.epochs // config.snapshots,
                seed=(config.seed * 1009 + 1 + k) % 2**32,
            )  # fmt: skip
            decay = recipekit.optimizers.StepDecay.at_fractions(
                config.learning_rate, short.epochs, steps
            )
            member, seconds, _, stopped = train(
                short, f"independent_{k}", decay, *inputs
            )
            if stopped:
                run.stop(
                    f"independent model {k + 1}: {stopped}", dataclasses.asdict(config)
                )
            member_time += seconds
            os.makedirs(os.path.dirname(path), exist_ok=True)
            member.save_weights(path + ".tmp.weights.h5")
            os.replace(path + ".tmp.weights.h5", path)
        members.append(path)

    # Evaluate: each snapshot, the ensemble (one model, one pass), the baseline.
    recipekit.report.phase("evaluating each snapshot, the ensemble, the baseline")
    each = []
    for path in snapshots.snapshots:
        net.load_weights(path)
        each.append(round(float(net.evaluate(**test)[1]), 4))
    ensemble = recipekit.models.ensemble_model(net, snapshots.snapshots)
    ensemble.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ensemble_accuracy = round(float(ensemble.evaluate(**test)[1]), 4)
    recipekit.run.save_model(ensemble, os.path.join(config.out, "ensemble.keras"))
    independent = None
    if members:
        independent = recipekit.models.ensemble_model(net, members, "independent")
        independent.compile(
            "sgd", "sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        independent = round(float(independent.evaluate(**test)[1]), 4)
    metrics = {
        "snapshot_accuracies": each,
        "ensemble_accuracy": ensemble_accuracy,
        "single_model_step_decay_accuracy": round(float(single.evaluate(**test)[1]), 4),
        "independent_ensemble_accuracy": independent,
        "epochs": config.epochs,
        "snapshots": config.snapshots,
        "depth": config.depth,
        "data": config.data,
        "wall_time_s": {
            "snapshot_run": round(snapshot_time, 1),
            "single": round(single_time, 1),
            "independent": round(member_time, 1),
        },
        "backend": keras.backend.backend(),
        "device": recipekit.distribute.describe(),
    }
    metrics = run.finish(metrics)
    rows = {f"snapshot {i + 1}": {"accuracy": a} for i, a in enumerate(each)}
    rows[f"ensemble of {len(each)}"] = {"accuracy": ensemble_accuracy}
    rows["single, step decay"] = {
        "accuracy": metrics["single_model_step_decay_accuracy"]
    }
    if members:
        rows[f"{len(members)} independent"] = {"accuracy": independent}
    names = (
        "metrics.json",
        "ensemble.keras",
        "snapshots",
        *["independent"][: len(members)],
    )
    recipekit.report.summary(
        rows,
        corner="model",
        wall_s=snapshot_time + single_time + member_time,
        paths=[os.path.join(config.out, n) for n in names],
    )
    return metrics


if __name__ == "__main__":
    config = parse_args()  # --help and bad flags answer before Keras starts
    recipekit_cli.quiet_start()  # then Keras, without TensorFlow's start-up lines
    recipekit_cli.command(main, config)
