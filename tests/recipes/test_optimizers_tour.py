import dataclasses
import json
import os

import pytest
from PIL import Image


def test_tour_writes_figures_and_results(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("optimizers_tour")
    config = dataclasses.replace(
        recipe.Config(),
        data=tiny_npz(64, 20, 3),
        epochs=1,
        batch_size=32,
        learning_rates=(("sgd", 0.1), ("momentum", 0.05), ("adam", 0.001)),
        out=str(tmp_path / "tour"),
    )
    results = recipe.main(config)
    for name in ("bowl", "saddle", "local_minimum", "cifar_loss"):
        with Image.open(tmp_path / "tour" / f"{name}.png") as image:
            assert image.size == (825, 550)
    surfaces = results["surfaces"]
    assert set(surfaces) == {"bowl", "saddle", "local_minimum"}
    assert "L-BFGS (full batch)" in surfaces["bowl"]
    assert "Adam, no bias correction" in surfaces["saddle"]
    assert len(surfaces["bowl"]) == 8
    assert set(results["cifar_test_accuracy"]) == {
        "SGD", "SGD+momentum", "Adam", "SGD+momentum, step decay",
        "SGD+momentum, exponential decay", "SGD+momentum, cosine decay",
    }  # fmt: skip
    with open(os.path.join(config.out, "results.json")) as f:
        assert json.load(f)["cifar_test_accuracy"] == results["cifar_test_accuracy"]


def test_flags(load_recipe):
    recipe = load_recipe("optimizers_tour")
    config = recipe.parse_args(["--quick", "--out", "x"])
    assert (config.epochs, config.out) == (3, "x")
    with pytest.raises(SystemExit):
        recipe.parse_args(["--epochs", "0"])
