import dataclasses

import numpy as np
import pytest


def test_smoke_run_reports_snapshots_ensemble_and_baseline(load_recipe, tmp_path):
    recipe = load_recipe("cifar_snapshot_ensemble")
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8),
        y_train=np.arange(64) % 2,
        x_test=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
        y_test=np.arange(20) % 2,
    )
    config = dataclasses.replace(
        recipe.Config(), data=str(path), depth=8, epochs=2, snapshots=2, batch_size=32,
        out=str(tmp_path / "run"),
    )  # fmt: skip
    metrics = recipe.main(config)
    assert len(metrics["snapshot_accuracies"]) == 2
    assert 0 <= metrics["ensemble_accuracy"] <= 1
    assert 0 <= metrics["single_model_step_decay_accuracy"] <= 1
    assert (tmp_path / "run" / "ensemble.keras").exists()
    assert (tmp_path / "run" / "snapshots" / "snapshot_1.weights.h5").exists()


def test_flags(load_recipe):
    recipe = load_recipe("cifar_snapshot_ensemble")
    config = recipe.parse_args(["--quick", "--snapshots", "2"])
    assert (config.epochs, config.snapshots) == (6, 2)
    for argv in (["--snapshots", "0"], ["--lr-max", "0"], ["--depth", "9"]):
        with pytest.raises(SystemExit):
            recipe.parse_args(argv)
