import csv
import dataclasses
import json
import os

import keras
import numpy as np
import pytest

import recipekit
import recipekit_cli


def test_whitening_sees_every_class_of_data_stored_class_by_class(load_recipe):
    recipe = load_recipe("cifar10_fast")
    labels = np.repeat(np.arange(10), 500)  # like the shared archive's order
    images = labels[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    sample = recipe.whitening_sample(images, 1000, seed=0)
    assert sample.shape == (1000, 2, 2, 3) and sample.dtype == np.float32
    counts = np.bincount(sample[:, 0, 0, 0].astype(int), minlength=10)
    assert counts.min() > 50
    np.testing.assert_array_equal(sample, recipe.whitening_sample(images, 1000, 0))
    assert len(recipe.whitening_sample(images, 10**6, seed=0)) == 5000


def tiny(recipe, tiny_npz, tmp_path, argv=(), **changes):
    """The settings `argv` gives, for 2 epochs on 96 tiny training images."""
    small = dict(data=tiny_npz(96, 30, 3), epochs=2, batch_size=32,
                 whitening_images=50, out=str(tmp_path / "run"))  # fmt: skip
    return dataclasses.replace(recipe.parse_args(list(argv)), **small | changes)


def test_smoke_run_writes_metrics_and_loadable_models(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar10_fast")
    config = tiny(recipe, tiny_npz, tmp_path, ["--optimizer", "sgd"], ema_start_epoch=0)
    metrics = recipe.main(config)
    with open(tmp_path / "run" / "metrics.json") as f:
        assert json.load(f) == json.loads(json.dumps(metrics))
    # Only the weights the run is for are scored: the SGD variant's EMA.
    assert set(metrics["accuracy"]) == {"ema", "ema, logit TTA"}
    assert set(metrics["accuracy"]["ema"]) == {"none", "flip", "flip_translate"}
    assert set(metrics["accuracy"]["ema, logit TTA"]) == {"flip", "flip_translate"}
    assert metrics["test_accuracy"] == metrics["accuracy"]["ema"]["none"]
    assert metrics["tta_accuracy"] == metrics["accuracy"]["ema"]["flip_translate"]
    assert metrics["epochs"] == 2 and metrics["train_images_per_s"] > 0
    assert "CPU" in metrics["device"]
    assert metrics["backend"] == keras.backend.backend()
    assert list(metrics["phase_s"]) == ["load", "build", "train", "evaluate"]
    assert min(metrics["phase_s"].values()) >= 0
    x_test = np.load(config.data)["x_test"].astype(np.float32)
    y_test = np.load(config.data)["y_test"]
    model = keras.saving.load_model(tmp_path / "run" / "model_ema.keras")
    accuracy = np.mean(model.predict(x_test, verbose=0).argmax(1) == y_test)
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-4)
    assert (tmp_path / "run" / "model.keras").exists()  # the raw weights, saved
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert len(log) == 3 and "val_accuracy" not in log[0].split(",")
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0
    assert len(metrics["epoch_times_s"]) == 2


def test_validate_and_evaluate_raw_add_the_per_epoch_and_raw_scores(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_fast")
    argv = ["--optimizer", "sgd", "--validate", "--evaluate-raw"]
    config = tiny(recipe, tiny_npz, tmp_path, argv, ema_start_epoch=0)
    metrics = recipe.main(config)
    assert set(metrics["accuracy"]) == {"raw", "ema", "ema, logit TTA"}
    data = np.load(config.data)
    x_test, y_test = data["x_test"].astype(np.float32), data["y_test"]
    for name, key in (("model.keras", "raw"), ("model_ema.keras", "ema")):
        model = keras.saving.load_model(tmp_path / "run" / name, safe_mode=True)
        accuracy = np.mean(model.predict(x_test, verbose=0).argmax(1) == y_test)
        assert accuracy == pytest.approx(metrics["accuracy"][key]["none"], abs=1e-4)
        tta = recipekit.evaluate.evaluate_tta(model, (x_test, y_test), ("flip",))
        assert tta["flip"] == pytest.approx(metrics["accuracy"][key]["flip"], abs=1e-4)
    with open(tmp_path / "run" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2  # validated every epoch, on the EMA weights:
    assert {"val_accuracy", "val_loss"} <= set(rows[0])
    assert float(rows[-1]["val_accuracy"]) == pytest.approx(
        metrics["accuracy"]["ema"]["none"], abs=1e-4
    )


@pytest.mark.slow
def test_quick_run_learns_the_sample(load_recipe, tmp_path):
    # --quick: 8 epochs of Muon on the 5,000-image sample, about 4 minutes on
    # 2 cores; measured 79.8% test accuracy (80.4% with TTA; the SGD variant:
    # 71.0%). ResNet-20's --quick: 60.2%.
    recipe = load_recipe("cifar10_fast")
    config = recipe.parse_args(["--quick", "--out", str(tmp_path / "quick")])
    assert config.data == recipekit.data.SAMPLE and config.batch_size == 256
    metrics = recipe.main(config)
    assert metrics["test_accuracy"] > 0.75
    assert metrics["tta_accuracy"] > 0.75


def test_too_few_images_for_one_batch_is_an_error(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar10_fast")
    config = dataclasses.replace(
        recipe.Config(), data=tiny_npz(40, 10, 2), out=str(tmp_path / "run")
    )
    with pytest.raises(ValueError, match="40 training images, fewer than one batch"):
        recipe.main(config)


def test_flags_fill_the_config(load_recipe):
    recipe = load_recipe("cifar10_fast")
    config = recipe.parse_args(
        ["--no-whitening", "--label-smoothing", "0", "--ema-decay", "0", "--jit"]
    )
    assert config.whitening is False and config.label_smoothing == 0.0
    assert config.ema_decay == 0.0 and config.jit is True and config.epochs == 8
    assert recipe.parse_args([]).whitening is True
    assert recipe.parse_args(["--flip", "random"]).flip == "random"


def test_tap_gradients_flag_picks_the_small_maps_convolutions(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_fast")
    assert recipe.parse_args([]).tap_gradients == "auto"
    config = tiny(recipe, tiny_npz, tmp_path, ["--tap-gradients", "on"], epochs=1)
    recipe.main(config)
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    taps = [x.name for x in model.layers if isinstance(x, recipekit.layers.TapConv2D)]
    assert taps == ["group2b_conv", "group3a_conv", "group3b_conv"]
    # The same weights either way: the run folder takes the other setting.
    off = dataclasses.replace(config, tap_gradients="off")
    assert recipe.main(off)["epochs"] == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--tap-gradients", "sometimes"],
        ["--epochs", "0"],
        ["--batch-size", "0"],
        ["--label-smoothing", "1"],
        ["--ema-decay", "1.5"],
        ["--precision", "float8"],
    ],
)
def test_bad_flags_exit_with_a_message(load_recipe, argv):
    recipe = load_recipe("cifar10_fast")
    with pytest.raises(SystemExit):
        recipe.parse_args(argv)


def test_lookahead_averaging_evaluates_and_saves_the_slow_weights(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_fast")
    config = tiny(recipe, tiny_npz, tmp_path,
                  ["--optimizer", "sgd", "--averaging", "lookahead"],
                  batch_size=16,  # 6 steps per epoch: 12 steps, syncs at 5 and 10
                  tta_modes=("none", "flip"))  # fmt: skip
    metrics = recipe.main(config)
    assert set(metrics["accuracy"]) == {"lookahead", "lookahead, logit TTA"}
    assert metrics["test_accuracy"] == metrics["accuracy"]["lookahead"]["none"]
    model = keras.saving.load_model(tmp_path / "run" / "model_lookahead.keras")
    x_test = np.load(config.data)["x_test"].astype(np.float32)
    accuracy = np.mean(model.predict(x_test, verbose=0).argmax(1) == np.load(
        config.data)["y_test"])  # fmt: skip
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-4)
    assert not (tmp_path / "run" / "model_ema.keras").exists()


def test_pixel_flags_put_their_layers_after_the_device_images_in_order(load_recipe):
    recipe = load_recipe("cifar10_fast")
    config = recipe.parse_args(["--jitter", "0.4", "--tta-modes", "none", "ten_crop"])
    assert config.jitter == 0.4 and config.lighting == 0.0
    assert config.tta_modes == ("none", "ten_crop")
    images = np.random.default_rng(0).integers(0, 256, (20, 8, 8, 3), np.uint8)
    (jitter,) = recipekit_cli.pixel_layers(config, images)
    assert isinstance(jitter, recipekit.augment.ColorJitter)
    assert (jitter.brightness, jitter.contrast, jitter.saturation) == (0.4,) * 3
    config = recipe.parse_args(
        ["--lighting", "0.1", "--auto-augment", "rand-n1-m5", "--cutout", "4",
         "--erasing", "0.25"]
    )  # fmt: skip
    layers = recipekit_cli.pixel_layers(config, images)
    names = [type(layer).__name__ for layer in layers]
    assert names == ["RandAugment", "PCALighting", "Cutout", "RandomErasing"]
    assert (layers[0].num_ops, layers[0].magnitude) == (1, 5.0)
    assert layers[2].size == 4 and layers[3].probability == 0.25
    assert recipekit_cli.pixel_layers(recipe.parse_args([]), images) == []
    for bad in (["--jitter", "-1"], ["--lighting", "nan"], ["--tta-modes", "tencrop"],
                ["--erasing", "1.5"], ["--cutout", "-2"]):  # fmt: skip
        with pytest.raises(SystemExit):
            recipe.parse_args(bad)
    with pytest.raises(ValueError, match="Argument `auto` must be"):
        recipekit_cli.check_pixel_flags(recipe.parse_args(["--auto-augment", "ra"]))


def test_ten_crop_tta_scores_crops_of_the_padded_test_images(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_fast")
    config = dataclasses.replace(
        recipe.parse_args(
            "--optimizer sgd --lighting 0.1 --tta-modes none ten_crop".split()
        ),
        data=tiny_npz(96, 30, 3),
        epochs=1,
        batch_size=32,
        whitening_images=50,
        out=str(tmp_path / "run"),
    )
    metrics = recipe.main(config)
    assert set(metrics["accuracy"]["ema"]) == {"none", "ten_crop"}
    net = keras.saving.load_model(tmp_path / "run" / "model_ema.keras")
    data = np.load(config.data)
    expected = recipekit.evaluate.evaluate_tta(
        net, (data["x_test"], data["y_test"]), ("ten_crop",), pad=2, verbose=0
    )
    assert metrics["tta_accuracy"] == round(expected["ten_crop"], 4)


def test_the_default_is_airbench94_muon_run_and_sgd_is_airbench94s(load_recipe):
    recipe = load_recipe("cifar10_fast")
    for argv in ([], ["--optimizer", "muon"]):
        config = recipe.parse_args(argv)
        assert (config.optimizer, config.epochs, config.batch_size) == ("muon", 8, 2000)
        assert config.averaging == "none"
    config = recipe.parse_args(["--epochs", "10", "--averaging", "ema"])
    assert (config.epochs, config.batch_size, config.averaging) == (10, 2000, "ema")
    config = recipe.parse_args(["--optimizer", "sgd"])
    assert (config.optimizer, config.epochs, config.batch_size) == ("sgd", 10, 1024)
    assert config.averaging == "ema"
    config = recipe.parse_args(["--optimizer", "sgd", "--batch-size", "512"])
    assert (config.epochs, config.batch_size, config.averaging) == (10, 512, "ema")
    assert recipe.parse_args(["--quick"]).batch_size == 256
    assert recipe.parse_args(["--quick", "--optimizer", "sgd"]).batch_size == 256


def test_muon_variant_trains_normalised_filters_and_stops_the_whitening_bias(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_fast")
    config = dataclasses.replace(
        recipe.parse_args([]),  # the default: Muon
        data=tiny_npz(96, 30, 3),
        epochs=3,
        batch_size=16,  # 6 steps per epoch
        whitening_images=50,
        whitening_bias_epochs=1,
        tta_modes=("none", "flip"),
        out=str(tmp_path / "run"),
    )
    metrics = recipe.main(config)
    assert set(metrics["accuracy"]) == {"raw", "raw, logit TTA"}
    net = keras.saving.load_model(tmp_path / "run" / "model.keras")
    # Muon rescales each filter to norm sqrt(out) before its step; the last
    # step (rate 0.24/18) moves it by at most 0.24/18 * sqrt(out) or so.
    for layer in net.layers:
        if layer.name.endswith("_conv"):
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            out = kernel.shape[-1]
            assert abs(np.linalg.norm(kernel) - out**0.5) < 0.02 * out**0.5
    assert net.get_layer("logit_scale").scale == pytest.approx(1 / 256)
    with open(tmp_path / "run" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    rates = {k: [float(r[k]) for r in rows] for k in rows[0] if "learning_rate" in k}
    names = ("muon", "sgd_head", "sgd_shifts", "sgd_whitening")
    assert set(rates) == {f"learning_rate/{n}" for n in names}
    # Every rate falls linearly from the first step to 0 at step 18; the
    # whitening bias's already at step 6 (epoch ends: steps 6, 12, 18).
    np.testing.assert_allclose(
        rates["learning_rate/muon"], [0.16, 0.08, 0.0], atol=1e-6
    )
    np.testing.assert_allclose(
        rates["learning_rate/sgd_whitening"], [0, 0, 0], atol=1e-6
    )
    shifts = 0.053 * 16
    np.testing.assert_allclose(
        rates["learning_rate/sgd_shifts"], [shifts * 2 / 3, shifts / 3, 0], rtol=1e-5
    )


def test_seeds_runs_each_seed_and_reports_mean_and_std(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar10_fast")
    config = dataclasses.replace(
        recipe.parse_args(["--seeds", "2", "--seed", "3"]),
        data=tiny_npz(96, 30, 3),
        epochs=1,
        batch_size=32,
        whitening_images=50,
        averaging="none",
        tta_modes=("none",),
        out=str(tmp_path / "run"),
    )
    summary = recipe.main_seeds(config)
    assert summary["seeds"] == [3, 4]
    runs = []
    for seed in (3, 4):
        with open(tmp_path / "run" / f"seed{seed}" / "metrics.json") as f:
            metrics = json.load(f)
        assert metrics["config"]["seed"] == seed
        runs.append(metrics["accuracy"]["raw"]["none"])
    row = summary["accuracy"]["raw / none"]
    assert row["runs"] == runs
    assert row["mean"] == pytest.approx(np.mean(runs), abs=1e-4)
    assert row["std"] == pytest.approx(np.std(runs, ddof=1), abs=1e-4)
    with open(tmp_path / "run" / "seeds.json") as f:
        assert json.load(f) == json.loads(json.dumps(summary))
    with pytest.raises(SystemExit):
        recipe.parse_args(["--seeds", "0"])


def test_mixup_and_cutmix_train_on_the_device_with_soft_targets(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_fast")
    flags = ["--mixup", "0.8", "--cutmix", "1.0", "--mix-switch", "0.3"]
    config = recipe.parse_args(flags)
    assert (config.mixup, config.cutmix, config.mix_switch) == (0.8, 1.0, 0.3)
    with pytest.raises(SystemExit):
        recipe.parse_args(["--mix-switch", "1.5"])
    common = dict(data=tiny_npz(96, 30, 3), epochs=2, batch_size=32,
                  whitening_images=50, tta_modes=("none",))  # fmt: skip
    mixed = recipe.main(dataclasses.replace(
        config, **common, out=str(tmp_path / "mixed")))  # fmt: skip
    recipe.main(dataclasses.replace(
        recipe.Config(), **common, out=str(tmp_path / "plain")))  # fmt: skip
    assert 0 <= mixed["test_accuracy"] <= 1 and len(mixed["epoch_times_s"]) == 2

    def losses(run):
        log = (tmp_path / run / "log.csv").read_text().splitlines()
        column = log[0].split(",").index("loss")
        return [float(row.split(",")[column]) for row in log[1:]]

    mixed_loss, plain_loss = losses("mixed"), losses("plain")
    assert all(np.isfinite(mixed_loss)) and len(mixed_loss) == 2
    assert mixed_loss != plain_loss  # the same seed: only the mixing differs


def test_steps_per_execution_must_divide_an_epoch(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar10_fast")  # 96 images, batch 32: 3 steps an epoch
    config = tiny(recipe, tiny_npz, tmp_path, ["--steps-per-execution", "2"])
    with pytest.raises(ValueError, match="2 does not divide the 3 steps of an epoch"):
        recipe.main(config)
    whole = tiny(recipe, tiny_npz, tmp_path, ["--steps-per-execution", "0"],
                 tta_modes=("none",), out=str(tmp_path / "whole"))  # fmt: skip
    if keras.backend.backend() == "torch":  # a Keras rule, in Keras's words
        with pytest.raises(ValueError, match="must be 1 with the PyTorch backend"):
            recipe.main(whole)
        return
    metrics = recipe.main(whole)
    assert len(metrics["epoch_times_s"]) == 2 and metrics["test_accuracy"] >= 0
    with pytest.raises(SystemExit):
        recipe.parse_args(["--steps-per-execution", "-1"])


def test_snapshots_restart_the_rates_and_score_the_snapshots_ensemble(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_fast")  # 96 images, batch 32: 3 steps an epoch
    config = tiny(recipe, tiny_npz, tmp_path, ["--snapshots", "2"], epochs=4,
                  tta_modes=("none", "flip"))  # fmt: skip
    metrics = recipe.main(config)
    run = tmp_path / "run"
    files = sorted(os.listdir(run / "snapshots"))
    assert files == ["snapshot_0.weights.h5", "snapshot_1.weights.h5"]
    with open(run / "log.csv") as f:
        rates = [float(r["learning_rate/muon"]) for r in csv.DictReader(f)]
    # Two cycles of 6 steps: the rate at each epoch's end (the next step's):
    # 0.24 * 3/6, then 0.24 again (the restart), then 0.12, then the last step's.
    np.testing.assert_allclose(rates, [0.12, 0.24, 0.12, 0.04], atol=1e-6)
    assert set(metrics["accuracy"]) == {"raw", "raw, logit TTA", "snapshot ensemble"}
    net = keras.saving.load_model(run / "model.keras")
    ensemble = recipekit.models.ensemble_model(
        net, [str(run / "snapshots" / f) for f in files]
    )
    data = np.load(config.data)
    expected = recipekit.evaluate.evaluate_tta(
        ensemble, (data["x_test"], data["y_test"]), ("none", "flip"), pad=2, verbose=0
    )
    assert metrics["accuracy"]["snapshot ensemble"] == {
        m: round(a, 4) for m, a in expected.items()
    }
    assert metrics["test_accuracy"] == round(expected["none"], 4)


def test_independent_runs_of_equal_cost_are_ensembled(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar10_fast")
    argv = ["--snapshots", "2", "--independent"]
    config = tiny(recipe, tiny_npz, tmp_path, argv, tta_modes=("none",))
    metrics = recipe.main(config)
    run = tmp_path / "run"
    members = []
    for k in range(2):
        with open(run / f"member{k}" / "metrics.json") as f:
            member = json.load(f)
        assert member["epochs"] == 1 and member["config"]["seed"] == 1000 * k
        members.append(keras.saving.load_model(run / f"member{k}" / "model.keras"))
        assert metrics["accuracy"][f"member {k}"] == member["accuracy"]["raw"]
    ensemble = recipekit.models.ensemble_model(
        members[0], [m.get_weights() for m in members]
    )
    data = np.load(config.data)
    expected = recipekit.evaluate.evaluate_tta(
        ensemble, (data["x_test"], data["y_test"]), ("none",), verbose=0
    )
    assert metrics["test_accuracy"] == round(expected["none"], 4)
    again = recipe.main(config)  # finished: read back, nothing retrained
    assert again == json.loads(json.dumps(metrics))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--snapshots", "3"], "--snapshots 3 must divide --epochs 8"),
        (["--snapshots", "2", "--averaging", "ema"], "pass --averaging none"),
        (["--optimizer", "sgd", "--snapshots", "2"], "--averaging ema would"),
        (["--independent"], "--independent needs --snapshots M > 1"),
    ],
)
def test_snapshot_settings_that_cannot_work_are_refused(load_recipe, argv, message):
    recipe = load_recipe("cifar10_fast")
    with pytest.raises(ValueError, match=message):
        recipe.check_ensemble(recipe.parse_args(argv))
