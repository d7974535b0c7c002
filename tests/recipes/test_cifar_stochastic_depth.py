import dataclasses
import json

import pytest


def test_smoke_run_reports_both_errors(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar_stochastic_depth")
    path = tiny_npz()
    config = dataclasses.replace(
        recipe.Config(),
        data=path,
        depth=8,
        epochs=1,
        batch_size=32,
        out=str(tmp_path / "run"),
    )
    metrics = recipe.main(config)
    assert set(metrics["runs"]) == {"without", "with"}
    assert metrics["runs"]["with"]["final_rate"] == 0.5
    assert metrics["runs"]["without"]["final_rate"] == 0.0
    assert metrics["paper_resnet110_cifar10_error"] == {
        "without": 0.0641,
        "with": 0.0525,
    }
    with open(tmp_path / "run" / "metrics.json") as f:
        assert json.load(f)["runs"] == metrics["runs"]


def test_flags(load_recipe):
    recipe = load_recipe("cifar_stochastic_depth")
    config = recipe.parse_args(["--quick", "--mode", "batch"])
    assert (config.depth, config.epochs, config.mode) == (20, 4, "batch")
    for argv in (["--final-rate", "1.0"], ["--depth", "100"], ["--epochs", "0"]):
        with pytest.raises(SystemExit):
            recipe.parse_args(argv)
