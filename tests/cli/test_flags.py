"""recipekit_cli's shared recipe flags: parsed and checked before Keras starts."""

import dataclasses
import os
import sys

import pytest

import recipekit_cli


@dataclasses.dataclass
class Config:
    epochs: int = 3
    rate: float = 0.5
    whitening: bool = True
    seed: int = 0
    out: str = "runs/x"
    force_resume: bool = False


CHECKS = {"epochs": "[1, inf)", "rate": "(0, 1]"}


def parse(argv):
    parser = recipekit_cli.recipe_parser("A recipe.\n\nMore.", Config, quick="q")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--rate", type=float)
    parser.add_argument("--no-whitening", dest="whitening", action="store_false",
                        default=None)  # fmt: skip
    args = recipekit_cli.parse_recipe_args(parser, argv, CHECKS)
    return recipekit_cli.updated(Config(), args)


@pytest.mark.parametrize(
    "value, interval, inside",
    [(0, "[0, 1)", True), (1, "[0, 1)", False), (0, "(0, 1]", False),
     (1, "(0, 1]", True), (1e9, "[1, inf)", True), (float("inf"), "[1, inf)", False),
     (float("nan"), "[0, inf)", False), (-1, "(-inf, 0)", True)],
)  # fmt: skip
def test_in_interval(value, interval, inside):
    assert recipekit_cli.in_interval(value, interval) is inside


def test_flags_given_fill_the_config_and_others_keep_its_defaults():
    config = parse(["--epochs", "5", "--no-whitening", "--seed", "7"])
    assert config == Config(epochs=5, whitening=False, seed=7)
    assert parse([]) == Config()
    assert parse(["--force-resume"]).force_resume is True


@pytest.mark.parametrize(
    "argv, message",
    [(["--epochs", "0"], "--epochs must be >= 1, got 0"),
     (["--rate", "0"], "--rate must be in (0, 1], got 0.0"),
     (["--rate", "nan"], "--rate must be in (0, 1], got nan"),
     (["--seed", "-1"], "--seed must be in [0, 2**32), got -1")],
)  # fmt: skip
def test_bad_flags_end_with_one_usage_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(SystemExit):
        parse(["--out", str(path)])
    assert "is a file; pass a folder" in capsys.readouterr().err


def test_verbose_sets_recipekit_verbose(monkeypatch):
    monkeypatch.setenv("RECIPEKIT_VERBOSE", "")  # restored (unset) after the test
    parser = recipekit_cli.recipe_parser("A recipe.", Config)
    recipekit_cli.parse_recipe_args(parser, ["--verbose"])
    assert os.environ["RECIPEKIT_VERBOSE"] == "1"


def test_the_flags_module_imports_no_keras():
    import subprocess

    code = "import recipekit_cli, sys; assert 'keras' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_intervals_read_the_same_in_every_message():
    assert recipekit_cli.describe_interval("[1, inf)") == ">= 1"
    assert recipekit_cli.describe_interval("[0, inf)") == ">= 0"
    assert recipekit_cli.describe_interval("(0, 1]") == "in (0, 1]"


@dataclasses.dataclass
class FullConfig:
    epochs: int = 3  # passes over the data
    rate: float = 0.5  # step size, 50% of the default
    whitening: bool = True  # frozen patch whitening
    modes: tuple = ("none", "flip")  # test-time views
    pairs: tuple = (("sgd", 0.1),)  # not a flag: pairs
    out: str = "runs/x"  # where it writes


def test_config_parser_makes_one_flag_per_field_from_its_comment():
    parser = recipekit_cli.config_parser(
        "A recipe.", FullConfig, quick="q", checks={"epochs": "[1, inf)"},
        choices={"modes": ("none", "flip", "ten_crop")},
    )  # fmt: skip
    flags = {a.dest: a for a in parser._actions}
    assert set(flags) == {"help", "epochs", "rate", "whitening", "modes", "out",
                          "quick", "verbose", "debug"}  # fmt: skip
    assert flags["epochs"].help == "passes over the data; default: 3; >= 1"
    assert flags["rate"].help == "step size, 50%% of the default; default: 0.5"
    assert flags["modes"].help == "test-time views; default: none flip"
    args = recipekit_cli.parse_recipe_args(
        parser, ["--no-whitening", "--modes", "flip", "ten_crop", "--epochs", "4"],
        {"epochs": "[1, inf)"},
    )  # fmt: skip
    config = recipekit_cli.updated(FullConfig(), args)
    assert config == FullConfig(epochs=4, whitening=False, modes=("flip", "ten_crop"))
    assert recipekit_cli.updated(FullConfig(), parser.parse_args([])) == FullConfig()


def test_config_parser_refuses_what_the_config_does_not_allow(capsys):
    parser = recipekit_cli.config_parser(
        "A recipe.", FullConfig, choices={"modes": ("none", "flip")},
        checks={"epochs": "[1, inf)"},
    )  # fmt: skip
    cases = ((["--epochs", "0"], "--epochs must be >= 1, got 0"),
             (["--modes", "ten_crop"], "invalid choice: 'ten_crop'"),
             (["--pairs", "x"], "unrecognized arguments: --pairs"))  # fmt: skip
    for argv, says in cases:
        with pytest.raises(SystemExit) as exit_:
            recipekit_cli.parse_recipe_args(parser, argv, {"epochs": "[1, inf)"})
        assert exit_.value.code == 2
        assert says in capsys.readouterr().err


def test_deferred_imports_on_first_use_only():
    name = "recipekit_cli_deferred_probe"
    assert name not in sys.modules
    (probe,) = recipekit_cli.deferred(name)
    assert name not in sys.modules and "imported on first use" in repr(probe)
    (json_module,) = recipekit_cli.deferred("json")
    assert json_module is sys.modules["json"]  # already imported: itself
    with pytest.raises(ModuleNotFoundError):
        getattr(probe, "anything")  # noqa: B009  (the first use imports)


def test_a_recipe_answers_help_without_importing_keras():
    import subprocess

    code = ("import runpy, sys; sys.argv = ['x', '--help']\n"
            "try:\n    runpy.run_path('recipes/cifar10_fast.py', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('keras' in sys.modules, 'recipekit' in sys.modules)")  # fmt: skip
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "False False"
