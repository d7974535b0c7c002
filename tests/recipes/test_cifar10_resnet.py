import dataclasses
import json
import os

import keras
import numpy as np
import pytest

import recipekit
from recipekit_cli import _tta_command as tta_command


def test_smoke_run_writes_metrics_and_a_loadable_model(
    load_recipe, tmp_path, monkeypatch
):
    recipe = load_recipe("cifar10_resnet")
    fitted = []  # each fit's model.jit_compile: XLA on JAX, as Keras's "auto"
    fit = keras.Model.fit

    def recording_fit(model, *args, **kwargs):
        fitted.append(model.jit_compile)
        return fit(model, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    rng = np.random.default_rng(0)
    arrays = {
        split: (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % 3)
        for split, n in (("train", 96), ("test", 40))
    }
    path = tmp_path / "tiny.npz"
    np.savez(
        path,
        **{
            f"{k}_{s}": v
            for s, (x, y) in arrays.items()
            for k, v in zip("xy", (x, y), strict=True)
        },
    )
    config = dataclasses.replace(
        recipe.Config(),
        jitter=0.2,
        lighting=0.1,
        auto_augment="trivial",
        cutout=4,
        erasing=0.5,
        label_smoothing=0.1,
        keep_best=1,
        lr_find=True,
        data=str(path),
        depth=8,
        epochs=2,
        batch_size=32,
        out=str(tmp_path / "run"),
    )
    metrics = recipe.main(config)
    # Keras's own choice for this machine and backend (XLA on JAX, and on
    # TensorFlow with a GPU). Without XLA, Keras's JAX backend dispatches the
    # step op by op: the lr_find sweep of this test took 98 s that way.
    probe = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    probe.compile("sgd", "mse")
    assert fitted == [probe.jit_compile]
    if keras.backend.backend() == "jax":  # where the old False ran op by op
        assert probe.jit_compile is True
    with open(tmp_path / "run" / "metrics.json") as f:
        saved = json.load(f)
    assert saved["test_accuracy"] == metrics["test_accuracy"]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["epochs"] == 2 and metrics["train_images_per_s"] > 0
    assert "CPU" in metrics["device"]
    assert set(metrics["tta_accuracy"]) == {"none", "flip", "ten_crop"}
    # TTA runs on the EMA weights, which the recipe applies after evaluation.
    assert metrics["tta_accuracy"]["none"] == pytest.approx(
        metrics["ema_test_accuracy"]
    )
    assert os.path.exists(tmp_path / "run" / "curves.png")
    assert os.path.getsize(tmp_path / "run" / "lr_find.png") > 10_000
    assert os.path.exists(tmp_path / "run" / "model_ema.keras")
    model = keras.saving.load_model(
        str(tmp_path / "run" / "model.keras"), safe_mode=True
    )
    x_test = arrays["test"][0].astype("float32")
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _, accuracy = model.evaluate(x_test, arrays["test"][1], verbose=0)
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-4)
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch") and len(log) == 3
    # The recipekit-tta command scores the recipe's saved EMA model.
    report = tta_command.run(
        [str(tmp_path / "run" / "model_ema.keras"), "--data", str(path), "--json"]
    )
    by_mode = {row["mode"]: row["accuracy"] for row in report["results"]}
    assert by_mode == pytest.approx(metrics["tta_accuracy"], abs=1e-4)
    assert report["pad"] == 4
    # --keep-best 1: the network of the epoch with the best validation accuracy.
    with open(tmp_path / "run" / "best" / "best.json") as f:
        (best,) = json.load(f)["best"]
    log_rows = [row.split(",") for row in log]
    column = log_rows[0].index("val_accuracy")
    val = [float(row[column]) for row in log_rows[1:]]
    assert best["value"] == pytest.approx(max(val)) and val[best["epoch"] - 1] == max(
        val
    )
    kept = keras.saving.load_model(str(tmp_path / "run" / "best" / best["path"]))
    assert kept.count_params() == model.count_params()


def test_run_killed_in_final_evaluation_resumes_and_finished_run_exits(
    load_recipe, tmp_path, monkeypatch
):
    recipe = load_recipe("cifar10_resnet")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x, y_train=np.arange(64) % 2, x_test=x[:16],
             y_test=np.arange(16) % 2)  # fmt: skip
    config = dataclasses.replace(
        recipe.Config(), data=str(path), depth=8, epochs=2, batch_size=32,
        tta_modes=("none",), out=str(tmp_path / "straight"),
    )  # fmt: skip
    keras.config.disable_traceback_filtering()
    straight = recipe.main(config)
    real = recipekit.evaluate.evaluate_tta

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed during the final evaluation")

    monkeypatch.setattr(recipekit.evaluate, "evaluate_tta", killed)
    killed_config = dataclasses.replace(config, out=str(tmp_path / "killed"))
    with pytest.raises(KeyboardInterrupt):
        recipe.main(killed_config)
    assert os.path.exists(tmp_path / "killed" / "backup")  # Kept: work not lost.
    monkeypatch.setattr(recipekit.evaluate, "evaluate_tta", real)
    resumed = recipe.main(killed_config)  # Trains no more: resumes at epoch 2.
    timing = {"wall_time_s", "train_images_per_s", "epoch_times_s", "config"}
    assert {k: v for k, v in resumed.items() if k not in timing} == {
        k: v for k, v in straight.items() if k not in timing
    }
    log = (tmp_path / "killed" / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log] == ["epoch", "1", "2"]
    assert not os.path.exists(tmp_path / "killed" / "backup")
    again = recipe.main(killed_config)  # A finished run: says so, trains nothing.
    assert again == json.loads((tmp_path / "killed" / "metrics.json").read_text())


def test_flags_fill_the_config(load_recipe):
    recipe = load_recipe("cifar10_resnet")
    config = recipe.parse_args(["--quick", "--depth", "32", "--out", "x"])
    assert config.data == recipekit.data.SAMPLE and config.epochs == 10
    assert config.depth == 32 and config.out == "x" and config.jit is False
    assert recipe.parse_args(["--jit", "--epochs", "3"]).jit is True


@pytest.mark.parametrize(
    "argv",
    [
        ["--depth", "21"],
        ["--epochs", "0"],
        ["--batch-size", "-1"],
        ["--precision", "fp8"],
    ],
)
def test_bad_flags_are_argparse_errors(load_recipe, argv, capsys):
    recipe = load_recipe("cifar10_resnet")
    with pytest.raises(SystemExit) as exit_info:
        recipe.parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_run_beats_chance_by_far(load_recipe, tmp_path):
    recipe = load_recipe("cifar10_resnet")
    config = recipe.parse_args(["--quick", "--out", str(tmp_path)])
    metrics = recipe.main(config)
    assert metrics["test_accuracy"] > 0.40
    assert os.path.exists(tmp_path / "model.keras")


def test_polyak_averages_recompute_batch_norm_and_are_saved(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar10_resnet")
    config = dataclasses.replace(
        recipe.parse_args(["--polyak-from", "0.5"]), data=tiny_npz(), depth=8,
        epochs=2, batch_size=32, out=str(tmp_path / "run"),
    )  # fmt: skip
    assert (config.polyak_from, config.ema_decay) == (0.5, 0.0)
    metrics = recipe.main(config)
    assert metrics["ema_test_accuracy"] is None
    assert 0 <= metrics["polyak_test_accuracy"] <= 1
    model = keras.saving.load_model(tmp_path / "run" / "model_polyak.keras")
    x, y = np.load(config.data)["x_test"], np.load(config.data)["y_test"]
    accuracy = np.mean(model.predict(x.astype("float32"), verbose=0).argmax(1) == y)
    assert accuracy == pytest.approx(metrics["polyak_test_accuracy"], abs=1e-4)
    with pytest.raises(SystemExit):
        recipe.parse_args(["--polyak-from", "0.5", "--ema-decay", "0.9"])
    with pytest.raises(SystemExit):
        recipe.parse_args(["--polyak-from", "1"])


def test_mixup_and_cutmix_flags_train_on_soft_targets(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar10_resnet")
    config = recipe.parse_args(["--mixup", "0.2", "--cutmix", "1.0"])
    assert (config.mixup, config.cutmix, config.mix_switch) == (0.2, 1.0, 0.5)
    config = dataclasses.replace(config, data=tiny_npz(64, 20, 3), depth=8, epochs=2,
                                 batch_size=32, tta_modes=("none",),
                                 out=str(tmp_path / "run"))  # fmt: skip
    metrics = recipe.main(config)
    assert 0 <= metrics["test_accuracy"] <= 1 and len(metrics["epoch_times_s"]) == 2
