"""Fast CIFAR-10 after airbench94_muon: 8 epochs; 94% is the goal on clean CIFAR-10.

A 1.97M-parameter VGG-like net (widths 64/256/256, GELU, BatchNorm without
scale) behind a frozen 2x2 patch-whitening layer; label smoothing 0.2;
alternating (derandomized) flips and 2-pixel reflect translations;
test-time augmentation over the mirror and 1-pixel shifts.

The default is airbench94_muon's run: batch 2000, Muon for the conv filters
(each filter normalised, Nesterov momentum 0.6), SGD for the BatchNorm
shifts, the whitening bias (trained 3 epochs) and the head, no weight
averaging. airbench94_muon reports 94.01% in 8 epochs on the clean CIFAR-10.

`--optimizer sgd` runs airbench94's instead: 10 epochs of batch 1024,
Nesterov SGD (momentum 0.85) with decoupled weight decay and a triangular
learning rate (0.2 -> 1 over the first 20% of steps, then linearly to 0),
BatchNorm shifts at 64x the rate, and an EMA of the weights
(`--averaging lookahead`: airbench94's Lookahead instead). airbench94
reports 94.01% mean in 9.9 epochs. On the shared JPEG copy the Muon default
is level with its peer and ahead of the SGD variant (benchmarks/RESULTS.md,
benchmarks/EVIDENCE.md).

`--snapshots M` runs the rate schedule M times, each over `epochs / M`
epochs, and keeps the weights at each cycle's end (Huang et al. 2017); the run
is scored by their ensemble. `--snapshots M --independent` instead trains M
independent runs of `epochs / M` epochs (OUT/member<k>/) and scores their
ensemble: the same cost, without the shared start.

Like airbench, it scores the model once, at the end: the EMA weights (the
final ones without averaging) under each TTA mode, probability and logit
averages from one pass over the views. `--validate` adds a validation pass
after every epoch, `--evaluate-raw` the raw weights' scores; `metrics.json`
says where the time went (`phase_s`).

Each variant has its own peer, run beside it on the same cores in the same
precision by benchmarks/peer_side_by_side.py: the default (Muon) airbench94_muon,
`--optimizer sgd` airbench94. The numbers, with their seeds, are in
benchmarks/RESULTS.md ("The fast recipe beside its own peer").

    python recipes/cifar10_fast.py --quick          # minutes, offline
    python recipes/cifar10_fast.py --data cifar10   # TFDS; or a folder, archive
    python recipes/cifar10_fast.py --data cifar10 --precision mixed_bfloat16
        # CPUs with AVX512_BF16/AMX; GPU: mixed_float16 --jit
    python recipes/cifar10_fast.py --data cifar10 --optimizer sgd  # airbench94's
"""

import dataclasses
import os
import time

import numpy as np

import recipekit_cli

# Keras and recipekit load on first use, in `main`: `--help` and a bad flag
# answer at once, and quiet_start() runs before Keras starts.
keras, recipekit = recipekit_cli.deferred("keras", "recipekit")

SAMPLE = "cifar10_sample"  # the 5,000-image CIFAR-10 sample recipekit bundles


@dataclasses.dataclass
class Config:
    data: str = "cifar10"  # TFDS name, folder, archive or .npz with train/test splits
    epochs: int = 8  # airbench94_muon: 8 (--optimizer sgd: 10; airbench94: 9.9)
    batch_size: int = 2000  # images per step, over all replicas (sgd: 1024)
    learning_rate: float = 1.5  # sgd: peak, for batch 1024 and a mean loss; scaled
    momentum: float = 0.85  # Nesterov momentum (Muon: of the non-filter weights)
    weight_decay: float = 0.0089  # sgd, decoupled: w -= lr * weight_decay * w per step
    bn_shift_lr: float = 64.0  # sgd: rate multiplier of the BatchNorm shifts
    warmup: float = 0.2  # sgd: fraction of steps to the peak (from 0.2 x peak)
    final_lr: float = 0.0  # sgd: rate at the end, x peak (airbench94: 0.07)
    label_smoothing: float = 0.2  # 0: off
    whitening: bool = True  # frozen 2x2 patch whitening (False: trainable conv)
    bn_momentum: float = 0.6  # Keras sense: running stats keep 60% per step
    flip: str = "alternating"  # mirror every other epoch; "random": coin per image
    translate: int = 2  # pixels of reflect-padded random translation
    jitter: float = 0.0  # color-jitter strength (brightness/contrast/saturation)
    lighting: float = 0.0  # PCA lighting alpha std (AlexNet: 0.1), PCA fit on train
    auto_augment: str = ""  # rand (RandAugment, e.g. rand-n2-m9), trivial or augmix
    cutout: int = 0  # side of a mid-gray Cutout square (airbench96: 12); 0: off
    erasing: float = 0.0  # random-erasing probability (Zhong et al.: 0.5); 0: off
    mixup: float = 0.0  # MixUp's Beta alpha (timm: 0.8); 0: off
    cutmix: float = 0.0  # CutMix's Beta alpha (timm: 1.0); 0: off
    mix_switch: float = 0.5  # with both on: the chance an image takes CutMix
    optimizer: str = "muon"  # airbench94_muon's; "sgd": airbench94's (see SGD below)
    averaging: str = "none"  # "none" | "ema" (sgd's) | "lookahead" (airbench94's)
    ema_decay: float = 0.98  # EMA of the weights per step (0: no averaging)
    lookahead_period: int = 5  # steps between Lookahead syncs (airbench94: 5)
    ema_start_epoch: int = 2  # averaging starts here (weights move fast before)
    whitening_images: int = 5000  # random training images that fit the whitening
    # Muon (the default): recipekit.models.fast_cifar_muon (airbench94_muon's)
    muon_lr: float = 0.24  # Muon's step on filters normalised to norm sqrt(out)
    muon_momentum: float = 0.6  # Nesterov, as airbench94_muon
    muon_bias_lr: float = 0.053  # BatchNorm shifts and the whitening bias
    muon_head_lr: float = 0.67  # the classifier (kernel std 1, logits / width)
    muon_weight_decay: float = 2e-6  # per image, as airbench's wd = 2e-6 * batch
    whitening_bias_epochs: int = 3  # Muon: the whitening bias trains this long
    snapshots: int = 1  # M > 1: M rate cycles, a snapshot at each end, ensembled
    independent: bool = False  # with --snapshots M: M runs of epochs/M, ensembled
    tta_modes: tuple = ("none", "flip", "flip_translate")  # the last: tta_accuracy
    validate: bool = False  # validate every epoch (the curves gain validation lines)
    evaluate_raw: bool = False  # with averaging: score the raw weights too
    seed: int = 0  # seeds weights, shuffling, flips and translations
    seeds: int = 1  # runs seed, seed + 1, ...; mean and std in OUT/seeds.json
    precision: str = "float32"  # or mixed_float16 (GPU) / mixed_bfloat16 (TPU)
    jit: bool = False  # XLA always (else Keras's "auto": on JAX, TF on a GPU)
    tap_gradients: str = "auto"  # TapConv2D on 7x7/3x3 maps; auto: TF, bfloat16, CPU
    steps_per_execution: int = 1  # steps per compiled call; 0: a whole epoch
    out: str = "runs/cifar10_fast"  # metrics.json, models, log.csv, curves.png, backup/
    force_resume: bool = False  # resume a backup made with other settings


FREE = ("out", "force_resume", "tap_gradients")  # a resumed run may change these
# What --optimizer sgd changes besides the optimizer: airbench94's run.
SGD = {"optimizer": "sgd", "epochs": 10, "batch_size": 1024, "averaging": "ema"}
PEERS = {"muon": "airbench94_muon", "sgd": "airbench94"}  # each variant's own
# Each flag's allowed values, checked before Keras starts.
CHECKS = dict(epochs="[1, inf)", batch_size="[1, inf)", seeds="[1, inf)",
              label_smoothing="[0, 1)", warmup="(0, 1)", final_lr="[0, 1]",
              ema_decay="[0, 1)", jitter="[0, inf)", lighting="[0, inf)",
              cutout="[0, inf)", erasing="[0, 1]",
              mixup="[0, inf)", cutmix="[0, inf)", mix_switch="[0, 1]",
              lookahead_period="[1, inf)", ema_start_epoch="[0, inf)",
              snapshots="[1, inf)",
              steps_per_execution="[0, inf)",
              whitening_images="[1, inf)",
              whitening_bias_epochs="[0, inf)")  # fmt: skip
CHOICES = {"precision": ("float32", "mixed_float16", "mixed_bfloat16"),
           "flip": ("alternating", "random"), "optimizer": ("sgd", "muon"),
           "averaging": ("ema", "lookahead", "none"),
           "tap_gradients": ("auto", "on", "off"),
           "tta_modes": recipekit_cli.TTA_MODES}  # fmt: skip


def parse_args(argv=None) -> Config:
    parser = recipekit_cli.config_parser(
        __doc__, Config, quick="8 epochs of batch 256 on the sample", checks=CHECKS,
        choices=CHOICES,
    )  # fmt: skip
    args = recipekit_cli.parse_recipe_args(parser, argv, CHECKS)
    config = Config()
    if args.optimizer == "sgd":
        config = dataclasses.replace(config, **SGD)
    if args.quick:
        sample = {"data": SAMPLE, "whitening_images": 1000}
        config = dataclasses.replace(config, epochs=8, batch_size=256, **sample)
    return recipekit_cli.updated(config, args)


def whitening_sample(images, count, seed):
    """A seeded random subset: files are often stored class by class."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(images), min(count, len(images)), replace=False)
    return images[np.sort(pick)].astype(np.float32)


def main(config: Config) -> dict:
    """Trains and evaluates one run into `config.out` (resumes its backup)."""
    recipekit.run.one_process_only("cifar10_fast.py", "its training set is fed "
        "whole to one device; its seeds and evaluation are per process")  # fmt: skip
    recipekit_cli.check_pixel_flags(config)
    check_ensemble(config)
    if config.snapshots > 1 and config.independent:
        return recipekit.run.resume_or_train("cifar10_fast --independent", config,
            lambda run: independent_runs(config, run), free=FREE)  # fmt: skip
    return recipekit.run.resume_or_train(
        "cifar10_fast", config, lambda run: train(config, run), free=FREE
    )


def check_ensemble(config):
    """--snapshots M: cycles of whole epochs, of the raw weights."""
    m = config.snapshots
    if m > 1 and config.epochs % m:
        raise ValueError(f"--snapshots {m} must divide --epochs {config.epochs}: "
                         "each cycle (or independent run) is whole epochs")  # fmt: skip
    averaged = config.averaging != "none" and config.ema_decay
    if m > 1 and not config.independent and averaged:
        raise ValueError(f"--snapshots {m} keeps the weights at each cycle's end; "
                         f"--averaging {config.averaging} would average across the "
                         "cycles: pass --averaging none")  # fmt: skip
    if config.independent and m == 1:
        raise ValueError("--independent needs --snapshots M > 1: the number of runs")


def train(config: Config, run) -> dict:
    laps = recipekit.report.Laps()  # where the time goes: metrics["phase_s"]
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)
    strategy = recipekit.distribute.strategy()
    recipekit.report.header(
        "cifar10_fast", data=config.data, epochs=config.epochs, out=config.out,
        device=recipekit.distribute.describe(strategy), resuming=run.resuming,
        model=f"{PEERS[config.optimizer]}-style net, batch {config.batch_size}, "
        f"seed {config.seed}",
    )  # fmt: skip

    # Both splits decoded once to uint8; test labels checked against the training
    # classes, the data recorded (a resume on other data is refused).
    (x_train, y_train), (x_test, y_test), class_names = run.load_arrays(
        config.data, translate=config.translate
    )
    laps.lap("load")
    classes = len(class_names)
    mean, std = recipekit.data.channel_stats(x_train)
    steps = recipekit.run.steps_per_epoch(config.data, len(x_train), config.batch_size)
    one_hot = np.eye(classes, dtype=np.float32)[y_train]  # for label smoothing
    per_call = config.steps_per_execution or steps  # fewer host round trips
    if steps % per_call:  # Keras would run on into the next epoch's batches
        raise ValueError(
            f"--steps-per-execution {per_call} does not divide the {steps} steps "
            "of an epoch; use a divisor, or 0 (a whole epoch per call)"
        )
    print(f"{len(x_train)} training and {len(x_test)} test images, {classes} classes")

    # Model: whitening fitted to (normalised) training images, before training.
    # The training model holds the training set on the device (DeviceImages)
    # and flips and translates it inside the compiled step: each step is fed
    # only (index, epoch) pairs. The network itself is what gets evaluated.
    total = steps * config.epochs
    averaging = "none" if not config.ema_decay else config.averaging  # 0: off
    muon = config.optimizer == "muon"
    with strategy.scope():
        net = recipekit.models.fast_cifar_net(
            classes, mean=mean, std=std, whitening=config.whitening,
            batch_norm_momentum=config.bn_momentum, seed=config.seed,
            logit_scale=1 / 256 if muon else 1 / 9,  # 1 / width
            tap_gradients={"on": True, "off": False}.get(config.tap_gradients),
        )  # fmt: skip
        if muon:  # airbench94_muon: a head of std 1
            head = net.get_layer("logits").kernel
            head.assign(head / np.std(keras.ops.convert_to_numpy(head)))
        if config.whitening:
            sample = whitening_sample(x_train, config.whitening_images, config.seed)
            net.get_layer("whitening").adapt((sample - mean) / std)
        data = recipekit.data.DeviceImages(
            len(x_train), x_train.shape[1:], images=x_train, flip=config.flip,
            translate=config.translate, seed=config.seed, name="training_set",
        )  # fmt: skip
        mixing = config.mixup or config.cutmix  # partners mixed in on the device
        pixels = recipekit_cli.pixel_layers(config, x_train)  # after crops and flips
        model = data.training_model(
            net, *pixels, name="fast_cifar_training", mixed=bool(mixing)
        )
        c = config
        if muon:  # airbench94_muon's (the default)
            optimizer = recipekit.models.fast_cifar_muon(
                total, max(1, c.whitening_bias_epochs * steps), c.batch_size,
                c.muon_lr, c.muon_momentum, c.muon_bias_lr, c.muon_head_lr,
                c.muon_weight_decay, c.momentum, cycles=c.snapshots)  # fmt: skip
        else:  # airbench94's; see SGD above
            optimizer = recipekit.models.fast_cifar_sgd(
                total, c.batch_size, c.learning_rate, c.momentum, c.weight_decay,
                c.bn_shift_lr, c.warmup, c.final_lr, cycles=c.snapshots)  # fmt: skip
        if averaging == "ema":
            optimizer = recipekit.optimizers.EMA(
                optimizer, config.ema_decay, start_step=config.ema_start_epoch * steps
            )
        elif averaging == "lookahead":  # alpha = 1 - 0.95^5 (t/T)^3, airbench94
            points = np.linspace(0, total, 21)
            alpha = 1 - 0.95**5 * (points / total) ** 3
            alpha = recipekit.optimizers.PiecewiseLinear(
                points.tolist(), alpha.tolist()
            )
            optimizer = recipekit.optimizers.Lookahead(
                optimizer, config.lookahead_period, alpha
            )
        smoothed = keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing
        )
        model.compile(optimizer, smoothed, metrics=["accuracy"],
                      jit_compile=config.jit or "auto",
                      steps_per_execution=per_call)  # fmt: skip
        # Validated on its own; "sgd" holds no state (a reload warns of none).
        logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        net.compile("sgd", logits, metrics=["accuracy"])

    # Train: the EMA lives in the optimizer, so BackupAndRestore carries it.
    # Seeded permutations per epoch (shuffle=False): a resumed run gets the
    # same batches. Epochs are timed start to last step, as airbench does.
    start_epoch = min(run.resume_epoch, config.epochs - 1)
    positions, inputs = recipekit.data.epoch_indices(
        len(x_train), config.batch_size, config.epochs, config.seed, start_epoch
    )
    targets = one_hot[positions]
    if mixing:  # soft targets; the draws of epoch e depend on (seed, e) only
        mix = recipekit.augment.MixUpCutMix(
            classes, config.mixup, config.cutmix, config.mix_switch
        )
        inputs, targets = mix.device_inputs(
            inputs, y_train, x_train.shape[1:3], config.seed)  # fmt: skip
    # Backs up each epoch whole (a kill mid-write keeps the last one) and
    # stops at the first non-finite loss, keeping the last good backup.
    backup = recipekit.callbacks.BackupAndRestore(
        run.backup_dir, delete_checkpoint=False
    )
    label = f"validation ({'EMA' if averaging == 'ema' else 'raw'} weights)"
    curves = recipekit.callbacks.TrainingCurves(os.path.join(run.path, "curves.png"),
        csv_path=os.path.join(run.path, "log.csv"), validation_label=label)  # fmt: skip
    callbacks = [recipekit.callbacks.EpochTimes(), curves, backup]  # first: timer
    snapshots = None
    if config.snapshots > 1:  # written before the epoch's backup: none is lost
        snapshots = recipekit.callbacks.SnapshotEnsemble(
            config.snapshots, os.path.join(run.path, "snapshots"), model=net
        )
        callbacks.insert(2, snapshots)
    if config.validate:  # after the timer, before the curves: validation untimed
        test = (x_test, y_test)
        callbacks.insert(1, recipekit.callbacks.Validate(net, test, batch_size=1024))
    if muon and config.whitening:  # bias trained 3 epochs, then out of backprop
        callbacks.append(recipekit.callbacks.StopWhiteningBias(c.whitening_bias_epochs))
    recipekit.report.phase("training")
    laps.lap("build")
    start = time.perf_counter()
    model.fit(inputs, targets, config.batch_size, config.epochs,
              callbacks=callbacks, steps_per_epoch=steps, shuffle=False,
              verbose=recipekit.report.fit_verbosity())  # fmt: skip
    stopped = backup.stopped or (snapshots is not None and snapshots.stopped)
    if stopped:
        run.stop(stopped, dataclasses.asdict(config))
    # Every epoch's time, a killed process's too (the first includes tracing);
    # the wall time adds the epochs of killed processes to this one's.
    epoch_times = curves.history.get("epoch_time_s", [])
    wall = time.perf_counter() - start + sum(epoch_times[: run.resume_epoch])
    images_per_s = steps * config.batch_size * len(epoch_times) / sum(epoch_times)

    # Evaluate the weights the run is for: the averaged ones (EMA's,
    # Lookahead's slow weights), else the final ones (--evaluate-raw: the raw
    # ones too), under every TTA mode, averaging the views' probabilities and,
    # airbench94's way, their logits: both from one pass over the views.
    laps.lap("train")
    tta, test, modes = {}, (x_test, y_test), tuple(config.tta_modes)
    pad = config.translate  # ten_crop: crops of the image padded as in training
    both = ("probabilities", "logits")
    averaged = averaging != "none"
    order = ["raw", averaging][: 1 + averaged]
    for weights in order:
        if weights != "raw":
            optimizer.use_averages()
        name = "model.keras" if weights == "raw" else f"model_{weights}.keras"
        recipekit.run.save_model(net, os.path.join(run.path, name))
        if weights == "raw" and averaged and not config.evaluate_raw:
            continue  # saved, not scored
        shown = {"ema": "EMA", "lookahead": "Lookahead's slow"}.get(weights, weights)
        recipekit.report.phase(f"evaluating {shown} weights; TTA: {', '.join(modes)}")
        last = weights == order[-1]  # the final weights: logits averaged too
        scores = recipekit.evaluate.evaluate_tta(net, test, modes, pad=pad,
            batch_size=1024, average=both if last else "probabilities")  # fmt: skip
        tta[weights] = scores["probabilities"] if last else scores
    final = tta[weights]
    logit_tta = {m: a for m, a in scores["logits"].items() if m != "none"}
    if logit_tta:  # the logit average of one view is its probability's
        tta[f"{weights}, logit TTA"] = logit_tta
    saved = []
    if snapshots is not None:  # the run is for the snapshots' ensemble
        final = tta["snapshot ensemble"] = ensemble_scores(
            net, snapshots.snapshots, test, config, "snapshot ensemble"
        )
        saved = [os.path.join("snapshots", f"snapshot_{i}.weights.h5")
                 for i in range(config.snapshots)]  # fmt: skip
    laps.lap("evaluate")
    metrics = {
        "test_accuracy": round(final["none"], 4),
        "tta_accuracy": round(final[modes[-1]], 4),
        "accuracy": {w: {m: round(a, 4) for m, a in r.items()} for w, r in tta.items()},
        "epochs": config.epochs,
        "wall_time_s": round(wall, 1),
        "epoch_times_s": [round(float(t), 2) for t in epoch_times],
        "train_images_per_s": round(float(images_per_s), 1),
        "phase_s": laps.seconds,
        "backend": keras.backend.backend(),
        "device": recipekit.distribute.describe(strategy),
        "config": dataclasses.asdict(config),
    }
    metrics = run.finish(metrics)  # then the backup goes: a kill before resumes
    averaged = [f"model_{averaging}.keras"] if averaging != "none" else []
    names = ["metrics.json", "model.keras", *averaged, *saved, "curves.png",
             "curves.json", "log.csv"]  # fmt: skip
    names = [os.path.join(run.path, n) for n in names]
    recipekit.report.summary(tta, wall_s=wall, paths=names)
    return metrics


def ensemble_scores(net, members, test, config, name):
    """The members' (weight files or lists) averaged probabilities under each
    TTA mode, in one pass over the views."""
    recipekit.report.phase(f"evaluating the {name} of {len(members)}; TTA: "
                           f"{', '.join(config.tta_modes)}")  # fmt: skip
    ensemble = recipekit.models.ensemble_model(net, members)
    return recipekit.evaluate.evaluate_tta(ensemble, test, tuple(config.tta_modes),
        pad=config.translate, batch_size=1024)  # fmt: skip


def independent_runs(config: Config, run) -> dict:
    """`--snapshots M --independent`: M runs of `epochs / M` epochs each (seeds
    seed, seed + 1000, ...) in OUT/member<k>/ (each resumes on its own), then
    their ensemble: a snapshot ensemble's rival at equal cost."""
    m = config.snapshots
    members = [dataclasses.replace(config, epochs=config.epochs // m, snapshots=1,
                                   independent=False, seed=config.seed + 1000 * k,
                                   out=os.path.join(config.out, f"member{k}"))
               for k in range(m)]  # fmt: skip
    results = [main(member) for member in members]
    weights = "raw" if config.averaging == "none" else config.averaging  # scored
    name = "model.keras" if weights == "raw" else f"model_{weights}.keras"
    nets = [keras.saving.load_model(os.path.join(c.out, name)) for c in members]
    x_test, y_test, _ = recipekit.data.load_arrays(config.data, "test")
    tta = {
        "ensemble": ensemble_scores(
            nets[0],
            [n.get_weights() for n in nets],
            (x_test, y_test),
            config,
            "independent runs",
        )
    }
    tta.update({f"member {k}": r["accuracy"][weights] for k, r in enumerate(results)})
    wall = sum(r["wall_time_s"] for r in results)
    metrics = {
        "test_accuracy": round(tta["ensemble"]["none"], 4),
        "tta_accuracy": round(tta["ensemble"][config.tta_modes[-1]], 4),
        "accuracy": {w: {mode: round(a, 4) for mode, a in r.items()}
                     for w, r in tta.items()},
        "epochs": config.epochs,
        "wall_time_s": round(wall, 1),
        "backend": keras.backend.backend(),
        "config": dataclasses.asdict(config),
    }  # fmt: skip
    metrics = run.finish(metrics)
    paths = [os.path.join(config.out, "metrics.json")]
    paths += [os.path.join(c.out, "") for c in members]
    recipekit.report.summary(tta, wall_s=wall, paths=paths)
    return metrics


def main_seeds(config: Config) -> dict:
    """`config.seeds` runs, each a full `main` into OUT/seed<k>/, then the
    mean and std of every accuracy in OUT/seeds.json."""
    return recipekit.run.over_seeds("cifar10_fast", main, config, "accuracy", free=FREE)


if __name__ == "__main__":
    config = parse_args()  # --help and bad flags answer before Keras starts
    recipekit_cli.quiet_start()  # then Keras, without TensorFlow's start-up lines
    recipekit_cli.command(main_seeds, config)
