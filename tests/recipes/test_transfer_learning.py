import dataclasses
import json

import pytest


@pytest.mark.parametrize("scenario", ["linear", "finetune"])
def test_recipe_end_to_end_on_a_few_hundred_images(
    load_recipe, tiny_npz, tmp_path, scenario
):
    recipe = load_recipe("transfer_learning")
    config = dataclasses.replace(
        recipe.parse_args(["--quick"]),
        data=tiny_npz(200, 40, 4),
        scenario=scenario,
        head_epochs=1,
        finetune_epochs=1,
        layer_decay=0.8,
        label_smoothing=0.1,
        train_images=0,
        out=str(tmp_path / scenario),
    )
    metrics = recipe.main(config)
    expected = {"linear": ["linear_probe"], "finetune": ["head", "finetune"]}[scenario]
    assert list(metrics["phases"]) == expected
    assert set(metrics["tta_accuracy"]) == {"none", "flip"}
    assert metrics["train_images"] == 200 and metrics["weights"] == "none"
    with open(tmp_path / scenario / "metrics.json") as f:
        assert json.load(f)["phases"] == metrics["phases"]


def test_auto_scenario_follows_the_data_size(load_recipe):
    recipe = load_recipe("transfer_learning")
    config = recipe.Config()
    assert recipe.pick_scenario(config, 500, 10)[0] == "linear"
    assert recipe.pick_scenario(config, 5000, 10)[0] == "finetune"
    choice, why = recipe.pick_scenario(config, 50000, 10)
    assert choice == "deep" and "5000 labelled images per class" in why
    with pytest.raises(SystemExit):
        recipe.parse_args(["--scenario", "everything"])
