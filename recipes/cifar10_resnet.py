"""The classic CIFAR-10 ResNet recipe (He et al., 2016, section 4.2).

ResNet-20/56/110, SGD with Nesterov momentum 0.9, L2 weight decay 1e-4, batch 128,
learning rate 0.1 divided by 10 at 50% and 75% of training, pad-4 reflect crop and
horizontal flip, per-channel normalisation. The paper trains 64k iterations
(about 182 epochs) and reports 8.75% test error for ResNet-20 (91.25% accuracy).

Measured results: benchmarks/RESULTS.md and benchmarks/EVIDENCE.md.

    python recipes/cifar10_resnet.py --quick              # minutes, offline
    python recipes/cifar10_resnet.py --data cifar10       # TFDS, full schedule
    python recipes/cifar10_resnet.py --data path/to/cifar10.tar.gz  # class folders
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
    depth: int = 20  # ResNet depth, 6n + 2 (20, 32, 44, 56, 110)
    epochs: int = 182  # paper: 64k iterations of batch 128 = 182 epochs
    stop_epoch: int = 0  # stop after this many epochs (0: all); schedule unchanged
    batch_size: int = 128  # images per step (global, over all replicas)
    learning_rate: float = 0.1  # peak learning rate for batch 128
    momentum: float = 0.9  # Nesterov momentum
    weight_decay: float = 1e-4  # L2 coefficient (gradient gains wd * w)
    boundaries: tuple = (0.5, 0.75)  # fractions of training where the LR drops x0.1
    warmup_epochs: int = 0  # per-step linear warm-up epochs (paper: 0 for ResNet-20)
    label_smoothing: float = 0.0  # target mass spread over all classes (0: off)
    jitter: float = 0.0  # color-jitter strength for brightness/contrast/saturation
    lighting: float = 0.0  # PCA lighting alpha_std (AlexNet: 0.1), PCA fit on train
    auto_augment: str = ""  # rand (RandAugment, e.g. rand-n2-m9), trivial or augmix
    cutout: int = 0  # side of a mid-gray Cutout square (DeVries & Taylor: 16); 0: off
    erasing: float = 0.0  # random-erasing probability (Zhong et al.: 0.5); 0: off
    mixup: float = 0.0  # MixUp's Beta alpha (timm: 0.8); 0: off
    cutmix: float = 0.0  # CutMix's Beta alpha (timm: 1.0); 0: off
    mix_switch: float = 0.5  # with both on: the chance an image takes CutMix
    ema_decay: float = 0.999  # EMA of the weights per step (0: off); val_* use it
    polyak_from: float = 0.0  # instead: running mean from this fraction (SWA)
    tta_modes: tuple = ("none", "flip", "ten_crop")  # test-time augmentation modes
    keep_best: int = 0  # keep the N best networks by val_accuracy in out/best/ (0: off)
    lr_find: bool = False  # first the LR range test: out/lr_find.png, a suggested rate
    seed: int = 0  # seeds weights, shuffling and augmentation
    precision: str = "float32"  # or mixed_float16 (GPU) / mixed_bfloat16 (TPU, CPU)
    jit: bool = False  # XLA always (else Keras's "auto": on JAX, TF on a GPU)
    out: str = "runs/cifar10_resnet"  # metrics.json, model.keras, log.csv, backup/
    force_resume: bool = False  # resume a backup made with other settings


# Settings a resumed run may change: where it writes, where it stops, the resume.
FREE = ("out", "stop_epoch", "force_resume", "keep_best", "lr_find")


def parse_args(argv=None) -> Config:
    checks = dict(epochs="[1, inf)", batch_size="[1, inf)", jitter="[0, inf)")
    checks.update(lighting="[0, inf)", ema_decay="[0, 1)", polyak_from="[0, 1)")
    checks.update(stop_epoch="[0, inf)", warmup_epochs="[0, inf)")
    checks.update(label_smoothing="[0, 1)", keep_best="[0, inf)")
    checks.update(mixup="[0, inf)", cutmix="[0, inf)", mix_switch="[0, 1]")
    checks.update(cutout="[0, inf)", erasing="[0, 1]")
    parser = recipekit_cli.config_parser(
        __doc__, Config, quick="10 epochs on the embedded sample", checks=checks,
        choices={"precision": ("float32", "mixed_float16", "mixed_bfloat16"),
                 "tta_modes": recipekit_cli.TTA_MODES},
    )  # fmt: skip
    args = recipekit_cli.parse_recipe_args(parser, argv, checks)
    if args.depth is not None and (args.depth < 8 or (args.depth - 2) % 6):
        parser.error(f"--depth must be 6n + 2 (20, 32, 44, 56, 110), got {args.depth}")
    if args.polyak_from and args.ema_decay:
        parser.error("pass --polyak-from or --ema-decay, not both")
    if args.polyak_from:
        args.ema_decay = 0.0
    config = Config()
    if args.quick:
        config = dataclasses.replace(config, data=SAMPLE, epochs=10)
    return recipekit_cli.updated(config, args)


def main(config: Config) -> dict:
    """Trains and evaluates one run into `config.out` (resumes its backup)."""
    # The chief writes into config.out; other workers (TF_CONFIG) into their
    # own folder there, resuming from the chief's backup.
    chief = recipekit.distribute.worker()[0] == 0
    recipekit_cli.check_pixel_flags(config)
    return recipekit.run.resume_or_train(
        "cifar10_resnet", config, lambda run: train(config, run, chief), free=FREE,
        path=recipekit.distribute.run_folder(config.out),
        check=chief,  # other workers mirror the chief's run
    )  # fmt: skip


def train(config: Config, run, chief) -> dict:
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)
    strategy = recipekit.distribute.strategy()
    out = run.path
    recipekit.report.header(
        "cifar10_resnet",
        data=config.data,
        device=recipekit.distribute.describe(strategy),
        epochs=config.stop_epoch or config.epochs,
        out=config.out,
        model=f"ResNet-{config.depth}, batch {config.batch_size}, seed {config.seed}",
        resuming=run.resuming,
    )

    # Data: decoded once into uint8 arrays and held on the device. Flips and
    # pad-4 crops run inside the train step (DeviceImages: fed only
    # (index, epoch) pairs, every epoch seeded by its number, so a resumed
    # run gets the batches the killed run would have), then what is asked for
    # of an automatic policy, color jitter, PCA lighting, Cutout and random
    # erasing: the same keras.ops on every backend.
    # Both splits decoded once to uint8; test labels checked against the training
    # classes, the data recorded (a resume on other data is refused).
    (x_train, y_train), (x_test, y_test), class_names = run.load_arrays(
        config.data, translate=4
    )
    mean, std = recipekit.data.channel_stats(x_train)
    steps = recipekit.run.steps_per_epoch(config.data, len(x_train), config.batch_size)
    # Keras needs a batch to build even when a backup says training is over.
    start_epoch = min(run.resume_epoch, config.epochs - 1)
    positions, pairs = recipekit.data.epoch_indices(
        len(x_train), config.batch_size, config.epochs, config.seed, start_epoch
    )
    targets = y_train[positions]
    mixing = bool(config.mixup or config.cutmix)  # soft targets, mixed on the device
    if mixing:  # the draws of epoch e depend on (seed, e) only
        mix = recipekit.augment.MixUpCutMix(
            len(class_names), config.mixup, config.cutmix, config.mix_switch
        )
        pairs, targets = mix.device_inputs(
            pairs, y_train, x_train.shape[1:3], config.seed
        )
    print(f"{len(x_train)} training and {len(x_test)} test images, "
          f"{len(class_names)} classes; augmented on the device")  # fmt: skip

    # Model: built and compiled inside the strategy's scope. The step decay
    # (x0.1 at 50% / 75%) and the EMA of the weights live in the optimizer,
    # so Keras's BackupAndRestore carries them.
    with strategy.scope():
        net = recipekit.models.cifar_resnet(
            config.depth,
            num_classes=len(class_names),
            mean=mean,
            std=std,
            weight_decay=config.weight_decay,
            # Statistics of the global batch when it is split over replicas.
            synchronized_batch_norm=keras.backend.backend() == "tensorflow"
            and strategy.num_replicas_in_sync > 1,
        )
        images = recipekit.data.DeviceImages(
            len(x_train), x_train.shape[1:], images=x_train, flip="random",
            translate=4, seed=config.seed, name="training_set",
        )  # fmt: skip
        # Pixel-value augmentations after the crop and flip.
        color = recipekit_cli.pixel_layers(config, x_train)
        # Trained on logits: the same stable loss on every backend
        # (recipekit.models.logits_model says why).
        model = images.training_model(
            recipekit.models.logits_model(net), *color, mixed=mixing
        )
        schedule = recipekit.optimizers.StepDecay.at_fractions(
            config.learning_rate,
            config.epochs,
            steps,
            config.boundaries,
            warmup_epochs=config.warmup_epochs,
        )
        optimizer = keras.optimizers.SGD(
            schedule, momentum=config.momentum, nesterov=True
        )
        if config.ema_decay:
            optimizer = recipekit.optimizers.EMA(optimizer, config.ema_decay)
        elif config.polyak_from:  # the running mean from a step on (SWA)
            start_step = round(config.polyak_from * config.epochs * steps)
            optimizer = recipekit.optimizers.EMA(optimizer, None, start_step=start_step)
        logits = recipekit.losses.SmoothedCrossentropy(
            config.label_smoothing, from_logits=True
        )
        model.compile(
            optimizer, logits, metrics=["accuracy"], jit_compile=config.jit or "auto"
        )
        loss = "sparse_categorical_crossentropy"
        # Evaluated on its own; "sgd" holds no state, so model.keras reloads
        # without an optimizer-mismatch warning (Keras's default RMSprop would).
        net.compile("sgd", loss, metrics=["accuracy"])

    # Train: validation of the network (on the EMA weights), curves and
    # log.csv redrawn every epoch; a killed run resumes from out/backup (kept
    # until metrics.json is written).
    weights = "EMA" if config.ema_decay else "Polyak" if config.polyak_from else "raw"
    # Backs up each epoch whole (a kill mid-write keeps the last one) and
    # stops at the first non-finite loss, keeping the last good backup.
    backup = recipekit.callbacks.BackupAndRestore(
        run.backup_dir, delete_checkpoint=False
    )
    curves = recipekit.callbacks.TrainingCurves(
        os.path.join(out, "curves.png"),
        csv_path=os.path.join(out, "log.csv"),
        validation_label=f"validation ({weights} weights)",
    )
    callbacks = [
        recipekit.callbacks.EpochTimes(),  # first: validation is not timed
        recipekit.callbacks.Validate(net, (x_test, y_test), batch_size=512),
        curves,  # keeps every epoch's logs (and time) across a resume
        backup,
    ]
    if config.keep_best:  # ranked by the validation above (its weights: EMA's)
        best = os.path.join(out, "best")
        callbacks.insert(2, recipekit.callbacks.BestCheckpoints(
            best, "val_accuracy", k=config.keep_best, model=net))  # fmt: skip
    if config.lr_find and not run.resuming:  # the model is left as it was
        recipekit.report.phase("learning-rate range test")
        sweep = keras.optimizers.SGD(config.learning_rate, momentum=config.momentum,
                                     nesterov=True)  # fmt: skip
        found = recipekit.optimizers.lr_find(
            model, pairs[: len(x_train)], targets[: len(x_train)],
            optimizer=sweep, batch_size=config.batch_size, min_lr=1e-5, max_lr=10.0,
            seed=config.seed,
        )  # fmt: skip
        found.plot(os.path.join(out, "lr_find.png"))
        print(f"suggested learning rate {found.suggestion:.3g} (steepest descent; "
              f"minimum / 10: {found.minimum_over_10:.3g}); this run trains at "
              f"{config.learning_rate:g} (--learning-rate)")  # fmt: skip
    recipekit.report.phase("training")
    start = time.perf_counter()
    model.fit(
        **recipekit.distribute.fit_data(pairs, targets, config.batch_size, strategy),
        epochs=config.stop_epoch or config.epochs,
        steps_per_epoch=steps,
        callbacks=callbacks,
        shuffle=False,
        verbose=recipekit.report.fit_verbosity(),  # one line per epoch in a log
    )
    if backup.stopped:
        run.stop(backup.stopped, dataclasses.asdict(config))
    # Every epoch's time, a killed process's too (the first includes tracing);
    # the wall time adds the epochs of killed processes to this one's.
    epoch_times = curves.history.get("epoch_time_s", [])
    wall = time.perf_counter() - start + sum(epoch_times[: run.resume_epoch])

    # Evaluate: raw weights, EMA weights, then test-time augmentation (on the
    # EMA weights if any; ten crops of the image padded by 4, as in training).
    test = {"x": x_test, "y": y_test, "batch_size": 512, "verbose": 0}
    recipekit.report.phase("evaluating raw weights")
    loss, accuracy = net.evaluate(**test)
    recipekit.run.save_model(net, os.path.join(out, "model.keras"))
    averaged = None
    if weights != "raw":
        recipekit.report.phase(f"evaluating {weights} weights")
        optimizer.use_averages()
        if config.polyak_from:  # statistics for the averaged weights
            batches = (x_train[i : i + 256].astype("float32")
                       for i in range(0, len(x_train), 256))  # fmt: skip
            recipekit.models.recompute_batch_norm(net, batches)
        averaged = round(float(net.evaluate(**test)[1]), 4)
        recipekit.run.save_model(
            net, os.path.join(out, f"model_{weights.lower()}.keras")
        )
    recipekit.report.phase(f"TTA: {', '.join(config.tta_modes)} ({weights} weights)")
    with recipekit.distribute.locally(net) as local:  # JAX processes: each alone
        tta = recipekit.evaluate.evaluate_tta(
            local, (x_test, y_test), config.tta_modes, pad=4
        )
    metrics = {
        "test_accuracy": round(float(accuracy), 4),
        "test_loss": round(float(loss), 4),
        "ema_test_accuracy": averaged if config.ema_decay else None,
        "polyak_test_accuracy": averaged if config.polyak_from else None,
        "tta_accuracy": {mode: round(acc, 4) for mode, acc in tta.items()},
        "epochs": config.stop_epoch or config.epochs,
        "wall_time_s": round(wall, 1),
        "epoch_times_s": [round(float(t), 2) for t in epoch_times],
        "train_images_per_s": round(
            steps * config.batch_size * len(epoch_times) / sum(epoch_times), 1
        ),
        "backend": keras.backend.backend(),
        "device": recipekit.distribute.describe(strategy),
        "config": dataclasses.asdict(config),
    }
    metrics = run.finish(metrics)  # then the backup goes: a kill before resumes
    rows = {"raw": {"none": float(accuracy)}, weights: tta}
    names = ("metrics.json", "model.keras", f"model_{weights.lower()}.keras",
             "curves.png", "curves.json", "log.csv")  # fmt: skip
    recipekit.report.summary(
        rows, wall_s=wall, paths=[os.path.join(out, n) for n in names if chief]
    )
    recipekit.distribute.finish_worker(config.out)
    return metrics


if __name__ == "__main__":
    config = parse_args()  # --help and bad flags answer before Keras starts
    recipekit_cli.quiet_start()  # then Keras, without TensorFlow's start-up lines
    recipekit_cli.command(main, config)
