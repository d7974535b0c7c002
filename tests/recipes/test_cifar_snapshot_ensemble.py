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
    assert (config.epochs, config.snapshots, config.batch_size) == (6, 2, 128)
    # The defaults are the paper's ResNet protocol (Huang et al. 2017, Table 1).
    paper = recipe.parse_args(["--depth", "110"])
    assert (paper.depth, paper.epochs, paper.snapshots) == (110, 200, 5)
    assert (paper.lr_max, paper.learning_rate, paper.batch_size) == (0.2, 0.1, 64)
    for argv in (["--snapshots", "0"], ["--lr-max", "0"], ["--depth", "9"]):
        with pytest.raises(SystemExit):
            recipe.parse_args(argv)


def test_independent_runs_at_equal_cost_are_ensembled_and_kept(
    load_recipe, tiny_npz, tmp_path
):
    recipe = load_recipe("cifar_snapshot_ensemble")
    config = dataclasses.replace(
        recipe.parse_args(["--independent"]), data=tiny_npz(), depth=8, epochs=2,
        snapshots=2, batch_size=32, out=str(tmp_path / "run"),
    )  # fmt: skip
    assert config.independent is True
    metrics = recipe.main(config)
    members = [tmp_path / "run" / "independent" / f"member_{k}.weights.h5"
               for k in range(2)]  # fmt: skip
    assert all(m.exists() for m in members)
    assert 0 <= metrics["independent_ensemble_accuracy"] <= 1
    assert metrics["wall_time_s"]["independent"] > 0
    # Without the flag the arm is absent, not a number.
    assert recipe.parse_args([]).independent is False
