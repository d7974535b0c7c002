import dataclasses

import pytest


def test_smoke_run_reports_snapshots_ensemble_and_baseline(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar_snapshot_ensemble")
    path = tiny_npz()
    config = dataclasses.replace(
        recipe.Config(), data=path, depth=8, epochs=2, snapshots=2, batch_size=32,
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
