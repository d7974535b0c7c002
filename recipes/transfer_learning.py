"""Transfer learning on your own small dataset: new head, frozen backbone, fine-tune.

The lecture's table, as `--scenario`:
- `linear`: little data, similar to ImageNet: a linear classifier on frozen
  features, fitted by full-batch L-BFGS (`transfer.linear_probe`);
- `finetune`: more data: train the head on the frozen backbone, then fine-tune
  the top 30% of the backbone at 1/10 of the learning rate;
- `deep`: a lot of data, or a different domain: the same, fine-tuning all of the
  backbone (BatchNorm stays frozen in every case);
- `auto`: picks from the number of labelled images per class (< 100: linear,
  < 1000: finetune, else deep) and says why; it cannot know how close your data
  is to ImageNet, so move one row down the table if it is far (medical, satellite).
Training uses `imagenet_policy` augmentation; the end reports plain and flip-TTA
accuracy in `metrics.json`.

    python recipes/transfer_learning.py --data path/to/folder --backbone MobileNetV2
    python recipes/transfer_learning.py --quick      # offline: 500 images, weights=None
    python recipes/transfer_learning.py --data cifar10_sample --image-size 32 \
        --backbone cifar_resnet20 --weights runs/transfer/backbone.weights.h5

(the last one uses the CIFAR backbone that benchmarks/transfer.py pretrains).
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
SCENARIOS = ("linear", "finetune", "deep", "auto")
UNFREEZE = {"finetune": 0.3, "deep": 1.0}  # share of the backbone fine-tuned
BACKBONES = (  # the names of recipekit.models.BACKBONES (a test keeps them equal)
    "ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetB1",
    "EfficientNetB2", "EfficientNetB3", "MobileNetV2", "MobileNetV3Large",
    "MobileNetV3Small", "ResNet50", "ResNet50V2", "cifar_resnet20",
)  # fmt: skip


@dataclasses.dataclass
class Config:
    data: str = "tf_flowers"  # TFDS name, folder or archive with train/test splits
    backbone: str = "MobileNetV2"  # any name in recipekit.models.BACKBONES
    weights: str = "imagenet"  # "imagenet", a backbone .weights.h5 path, or "none"
    image_size: int = 160  # images are resized to image_size x image_size
    scenario: str = "auto"  # linear | finetune | deep | auto
    head_epochs: int = 5  # phase 1: the new head on the frozen backbone
    finetune_epochs: int = 5  # phase 2: fine-tuning at learning_rate / 10
    layer_decay: float = 1.0  # phase 2: each layer at this x the rate above it (1: off)
    learning_rate: float = 1e-3  # Adam, phase 1
    l2: float = 1e-4  # linear probe penalty
    label_smoothing: float = 0.0  # target mass spread over all classes (0: off)
    batch_size: int = 32  # images per step
    train_images: int = 0  # use only this many training images (0: all)
    seed: int = 0  # weights, shuffling, augmentation
    out: str = "runs/transfer_learning"  # metrics.json and model.keras


# Each flag's allowed values, checked before Keras starts.
CHECKS = {"image_size": "[1, inf)", "head_epochs": "[0, inf)",
          "finetune_epochs": "[0, inf)", "train_images": "[0, inf)",
          "learning_rate": "(0, inf)", "l2": "[0, inf)",
          "batch_size": "[1, inf)", "label_smoothing": "[0, 1)",
          "layer_decay": "(0, 1]"}  # fmt: skip


def parse_args(argv=None) -> Config:
    parser = recipekit_cli.config_parser(
        __doc__, Config, quick="500 sample images, 32 px, random weights",
        choices={"backbone": BACKBONES, "scenario": SCENARIOS}, checks=CHECKS,
    )  # fmt: skip
    args = recipekit_cli.parse_recipe_args(parser, argv, CHECKS)
    config = Config()
    if args.quick:
        config = dataclasses.replace(
            config, data=SAMPLE, weights="none", image_size=32,
            train_images=500, head_epochs=2, finetune_epochs=2, batch_size=64,
            backbone="cifar_resnet20",
        )  # fmt: skip
    return recipekit_cli.updated(config, args)


def pick_scenario(config, num_images, num_classes):
    if config.scenario != "auto":
        return config.scenario, f"scenario {config.scenario!r} was asked for"
    per_class = num_images / num_classes
    if per_class < 100:
        choice = "linear"
    elif per_class < 1000:
        choice = "finetune"
    else:
        choice = "deep"
    return choice, (
        f"{per_class:.0f} labelled images per class: {choice} (< 100: linear, "
        "< 1000: finetune, else deep; assumes data close to ImageNet)"
    )


def main(config: Config) -> dict:
    """One run into `config.out`: claimed and locked (nothing to resume, so a
    rerun trains again, overwriting only its own files)."""
    recipekit.run.one_process_only(
        "transfer_learning.py", "its feature extraction and probe run on one process"
    )
    with recipekit.run.RunFolder(config.out, "transfer_learning", {}) as run:
        return run_all(config, run)


def run_all(config: Config, run) -> dict:
    keras.utils.set_random_seed(config.seed)
    size = (config.image_size, config.image_size)
    strategy = recipekit.distribute.strategy()
    recipekit.report.header(
        "transfer_learning",
        data=config.data,
        device=recipekit.distribute.describe(strategy),
        epochs=f"{config.head_epochs} head + {config.finetune_epochs} fine-tuning",
        out=config.out,
        backbone=f"{config.backbone}, {config.weights} weights, {size[0]} px",
    )

    # Data: decoded once (resized) into uint8 arrays; no TensorFlow needed
    # except for TFDS names.
    x_train, y_train, names = recipekit.data.load_arrays(
        config.data, "train", image_size=size
    )
    if config.train_images:
        keep = np.random.default_rng(config.seed).permutation(len(x_train))
        keep = np.sort(keep[: config.train_images])
        x_train, y_train = x_train[keep], y_train[keep]
    x_test, y_test, _ = recipekit.data.load_arrays(
        config.data, "test", image_size=size, class_names=names
    )  # labels checked against the training classes
    run.check_data(names, len(x_train))  # a resume on other data: refused
    num_images = len(x_train)
    scenario, why = pick_scenario(config, num_images, len(names))
    print(f"{num_images} training images, {len(names)} classes; {why}")

    # Model; training runs a copy with the ImageNet augmentation in front
    # (random resized crops, flips, color jitter, lighting: in the step, on
    # every backend, the identity at inference).
    weights = None if config.weights == "none" else config.weights
    policy = recipekit.augment.imagenet_policy(size=size, scale=(0.25, 1.0))
    with strategy.scope():
        model, backbone = recipekit.models.transfer_model(
            config.backbone, len(names), (*size, 3), weights=weights
        )
        inputs = keras.Input((*size, 3), name="images")
        trainer = keras.Model(inputs, model(policy.as_layers(config.seed)(inputs)))
    metrics = {"scenario": scenario, "why": scenario and why, "phases": {}}
    test = {"x": x_test, "y": y_test, "batch_size": 128, "verbose": 0}
    loss = "sparse_categorical_crossentropy"
    smoothed = recipekit.losses.SmoothedCrossentropy(config.label_smoothing)

    def compile_and_fit(learning_rate, epochs, layer_decay=1.0):
        optimizer = keras.optimizers.Adam(learning_rate)
        # Layer-wise decay: the head at the full rate, each layer below slower.
        factors = recipekit.optimizers.layer_decay_factors(trainer, layer_decay)
        if factors:
            optimizer = recipekit.optimizers.RateFactors(optimizer, factors)
        trainer.compile(optimizer=optimizer, loss=smoothed, metrics=["accuracy"])
        model.compile("sgd", loss, metrics=["accuracy"])  # evaluated; no state
        if epochs:
            trainer.fit(
                x_train,
                y_train,
                batch_size=config.batch_size,
                epochs=epochs,
                validation_data=(x_test, y_test),
                verbose=recipekit.report.fit_verbosity(),
            )
        return round(float(model.evaluate(**test)[1]), 4)

    # Train
    start = time.perf_counter()
    if scenario == "linear":
        recipekit.report.phase("linear probe: L-BFGS on the frozen features")
        extractor = recipekit.transfer.feature_extractor(model)
        features, labels = recipekit.transfer.extract_features(
            extractor, (x_train, y_train)
        )
        probe = recipekit.transfer.linear_probe(
            features, labels, l2=config.l2, num_classes=len(names)
        )
        model.layers[-1].set_weights(probe.get_layer("probe").get_weights())
        metrics["phases"]["linear_probe"] = compile_and_fit(config.learning_rate, 0)
        metrics["probe_iterations"] = probe.probe_iterations
    else:
        recipekit.report.phase("training the head (backbone frozen)")
        metrics["phases"]["head"] = compile_and_fit(
            config.learning_rate, config.head_epochs
        )
        unfrozen = recipekit.transfer.unfreeze(backbone, fraction=UNFREEZE[scenario])
        recipekit.report.phase(
            f"fine-tuning {len(unfrozen)} backbone layers (BatchNorm kept frozen)"
        )
        metrics["phases"]["finetune"] = compile_and_fit(
            config.learning_rate / 10, config.finetune_epochs, config.layer_decay
        )

    wall = time.perf_counter() - start

    # Evaluate, with flip test-time augmentation.
    recipekit.report.phase("TTA: none, flip")
    tta = recipekit.evaluate.evaluate_tta(
        model, (x_test, y_test), modes=("none", "flip")
    )
    metrics["tta_accuracy"] = {k: round(v, 4) for k, v in tta.items()}
    metrics.update(backbone=config.backbone, weights=config.weights, data=config.data)
    metrics["train_images"] = num_images
    metrics["backend"] = keras.backend.backend()
    metrics["wall_time_s"] = round(wall, 1)
    paths = [os.path.join(config.out, n) for n in ("model.keras", "metrics.json")]
    if not recipekit.callbacks.all_finite(model.weights):
        run.stop("non-finite weights after training", dataclasses.asdict(config))
    recipekit.run.save_model(model, paths[0])
    run.finish(metrics)
    rows = {f"after {phase}": {"none": a} for phase, a in metrics["phases"].items()}
    rows[list(rows)[-1]] = tta  # the final model, with TTA
    recipekit.report.summary(rows, wall_s=wall, paths=paths)
    return metrics


if __name__ == "__main__":
    config = parse_args()  # --help and bad flags answer before Keras starts
    recipekit_cli.quiet_start()  # then Keras, without TensorFlow's start-up lines
    recipekit_cli.command(main, config)
