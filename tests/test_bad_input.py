"""Bad input, one row per case: the error and what its message must name, or
the correct result where there is one (issue 14). Runs on every backend."""

import gzip
import io
import os
import re
import tarfile

import keras
import numpy as np
import pytest

import recipekit

RECIPES = os.path.join(os.path.dirname(__file__), "..", "recipes")


def _tar_gz(path, count=3):
    with tarfile.open(path, "w:gz") as tar:
        for i in range(count):
            buffer = io.BytesIO()
            np.save(buffer, np.zeros(1000 * (i + 1)))
            info = tarfile.TarInfo(f"train/cat/{i}.png")
            info.size = len(buffer.getvalue())
            tar.addfile(info, io.BytesIO(buffer.getvalue()))
    return path


def garbage(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"this is not an archive\n" * 20)
    return str(path)


def truncated_tar_gz(tmp_path):
    path = _tar_gz(tmp_path / "full.tar.gz")
    data = open(path, "rb").read()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    return str(cut)


def truncated_gzip_header(tmp_path):
    path = tmp_path / "header.tar.gz"
    path.write_bytes(gzip.compress(b"x" * 100)[:15])
    return str(path)


def looping_folder(tmp_path):
    root = tmp_path / "loop"
    (root / "train" / "cat").mkdir(parents=True)
    os.symlink(root / "train", root / "train" / "cat" / "again")
    return str(root)


def text_keras(tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("not a model")
    return str(path)


def three_class_model(tmp_path):
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])  # fmt: skip
    path = str(tmp_path / "three.keras")
    model.save(path)
    return path


def ten_crop_tta(tmp_path, **kwargs):
    model = keras.saving.load_model(three_class_model(tmp_path))
    images = np.zeros((2, 32, 32, 3), np.float32)
    return recipekit.evaluate.predict_tta(model, images, "ten_crop", **kwargs)


def tta_command(tmp_path, model_path):
    from recipekit_cli import _tta_command as _command

    return _command.run([model_path, "--data", "cifar10_sample", "--json"])


def damaged_backup(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "training_metadata.json").write_text('{"epoch": 3}')
    (backup / "latest.weights.h5").write_bytes(b"\x89HDF\r\n truncated")
    return str(backup)


def tiny_npz(tmp_path):
    x = np.zeros((20, 32, 32, 3), np.uint8)
    path = str(tmp_path / "tiny.npz")
    np.savez(
        path, x_train=x, y_train=np.arange(20) % 2, x_test=x, y_test=np.arange(20) % 2
    )
    return path


def recipe_main(name, tmp_path, **changes):
    import dataclasses

    module = load_recipe(name)
    out = str(tmp_path / "out")
    config = dataclasses.replace(module.Config(), out=out, **changes)
    return module.main(config)


def x_uint8(n=4):
    return np.random.default_rng(0).integers(0, 256, (n, 8, 8, 3), np.uint8)


def load_recipe(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        name, os.path.join(RECIPES, name + ".py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_recipe(name, argv):
    return load_recipe(name).parse_args(argv)


# (case, call(tmp_path), error type, message pattern)
ERRORS = [
    (
        "garbage .tar.gz",
        lambda t: recipekit.data.load_arrays(garbage(t, "a.tar.gz"), "train"),
        ValueError,
        r"Cannot read the archive '.*a\.tar\.gz': it is damaged.*ReadError",
    ),
    (
        "truncated .tar.gz",
        lambda t: recipekit.data.load_arrays(truncated_tar_gz(t), "train"),
        ValueError,
        r"Cannot read the archive '.*cut\.tar\.gz'",
    ),
    (
        "gzip cut inside its header",
        lambda t: recipekit.data.load_arrays(truncated_gzip_header(t), "train"),
        ValueError,
        r"Cannot read the archive '.*header\.tar\.gz'",
    ),
    (
        "garbage .zip",
        lambda t: recipekit.data.load_arrays(garbage(t, "b.zip"), "train"),
        ValueError,
        r"Cannot read the archive '.*b\.zip'.*BadZipFile",
    ),
    (
        "garbage .npz",
        lambda t: recipekit.data.load_arrays(garbage(t, "c.npz"), "train"),
        ValueError,
        r"Cannot read the \.npz file '.*c\.npz'",
    ),
    (
        "a folder with a symbolic-link loop",
        lambda t: recipekit.data.load_arrays(looping_folder(t), "train"),
        ValueError,
        r"The folder '.*loop' loops: '.*again' is a link back to",
    ),
    (
        "one huge label sets the class count",
        lambda t: recipekit.data.load_arrays((x_uint8(2), np.array([0, 10**9]))),
        ValueError,
        r"run up to 1000000000, but only 2 distinct values.*`class_names`",
    ),
    (
        "a text file named .keras, scored by recipekit-tta",
        lambda t: tta_command(t, text_keras(t)),
        SystemExit,
        r"'.*notes\.keras' is not a Keras \.keras file",
    ),
    (
        "a 3-class model scored on 10-class data by recipekit-tta",
        lambda t: tta_command(t, three_class_model(t)),
        ValueError,
        r"predicts 3 classes, but .* has 10",
    ),
    (
        "a 3-class model evaluated on 10-class labels",
        lambda t: recipekit.evaluate.evaluate_tta(
            keras.saving.load_model(three_class_model(t)),
            (np.zeros((4, 32, 32, 3), np.float32), np.array([0, 1, 2, 9])),
        ),
        ValueError,
        r"predicts 3 classes, but the labels reach 9",
    ),
    (
        "TTA padding larger than the image",
        lambda t: ten_crop_tta(t, pad=40),
        ValueError,
        r"`pad`=40 is too large for reflect padding",
    ),
    (
        "TTA pad_mode='wrap'",
        lambda t: ten_crop_tta(t, pad=4, pad_mode="wrap"),
        ValueError,
        r"`pad_mode` must be one of .*'wrap'",
    ),
    (
        "a damaged backup's weights",
        lambda t: recipekit.callbacks.backup_epoch(damaged_backup(t)),
        ValueError,
        r"The backup in '.*backup' is damaged: latest\.weights\.h5 cannot be read"
        r".*Delete the folder",
    ),
    (
        "NaN jitter strength",
        lambda t: recipekit.augment.color_jitter(x_uint8(), brightness=float("nan")),
        ValueError,
        r"`brightness` must be a finite number >= 0.*nan",
    ),
    (
        "infinite lighting strength",
        lambda t: recipekit.augment.PCALighting(float("inf")),
        ValueError,
        r"`alpha_std` must be a finite number",
    ),
    (
        "NaN lighting in a policy",
        lambda t: recipekit.augment.cifar_policy(lighting=float("nan")),
        ValueError,
        r"`lighting` must be a finite number",
    ),
    (
        "float pixels 0-255 declared as (0, 1)",
        lambda t: recipekit.augment.color_jitter(
            x_uint8().astype(np.float32), 0.1, 0.1, 0.1, value_range=(0, 1)
        ),
        ValueError,
        r"values in \[.*\], outside value_range=\(0\.0, 1\.0\).*\(0, 255\)",
    ),
    (
        "uint8 declared as (0, 1)",
        lambda t: recipekit.augment.pca_lighting(
            x_uint8(), *recipekit.augment.IMAGENET_PCA, value_range=(0, 1)
        ),
        ValueError,
        r"uint8 images.*value_range=\(0, 255\)",
    ),
    (
        "policy: float 0-255 declared (0, 1)",
        lambda t: recipekit.augment.cifar_policy(value_range=(0, 1))(
            x_uint8().astype(np.float32)
        ),
        ValueError,
        r"outside value_range",
    ),
    (
        "resnet recipe --lighting nan",
        lambda t: run_recipe("cifar10_resnet", ["--lighting", "nan"]),
        SystemExit,
        r"--lighting must be >= 0, got nan",
    ),
    (
        "a bare name that is neither a path nor a TFDS dataset, split=None",
        lambda t: recipekit.data.load("no_such_data_here", split=None),
        ValueError,
        r"'no_such_data_here' is neither an existing file or folder nor a known "
        r"TFDS dataset",
    ),
    (
        "fast recipe --seed -1",
        lambda t: run_recipe("cifar10_fast", ["--seed", "-1"]),
        SystemExit,
        r"--seed must be in \[0, 2\*\*32\), got -1",
    ),
    (
        "snapshot recipe --out pointing at a file",
        lambda t: run_recipe("cifar_snapshot_ensemble", ["--out", garbage(t, "f")]),
        SystemExit,
        r"--out '.*f' is a file; pass a folder",
    ),
    (
        "snapshot cycles that are not whole epochs",
        lambda t: recipekit.callbacks.SnapshotEnsemble.schedule(0.1, 8, 10, 5),
        ValueError,
        r"epochs=8 is not a multiple of num_snapshots=5",
    ),
    (
        "a NaN learning rate in a piecewise-linear schedule",
        lambda t: recipekit.optimizers.PiecewiseLinear([0, 10], [float("nan"), 0.0]),
        ValueError,
        r"`steps` and `values` must be finite numbers",
    ),
    (
        "a NaN probe penalty",
        lambda t: recipekit.transfer.linear_probe(
            np.zeros((6, 2)), np.array([0, 0, 1, 1, 2, 2]), l2=float("nan")
        ),
        ValueError,
        r"`l2` must be a finite number >= 0",
    ),
    (
        "the stochastic-depth recipe with a batch larger than the data",
        lambda t: recipe_main(
            "cifar_stochastic_depth", t, data=tiny_npz(t), depth=8, batch_size=64
        ),
        ValueError,
        r"20 images are fewer than one batch of 64",
    ),
    (
        "a batch larger than the data",
        lambda t: recipekit.data.epoch_indices(100, 1000, 1, seed=0),
        ValueError,
        r"100 images are fewer than one batch of 1000",
    ),
]


@pytest.mark.parametrize(
    "call, error, pattern", [row[1:] for row in ERRORS], ids=[row[0] for row in ERRORS]
)
def test_bad_input_is_refused_by_name(call, error, pattern, tmp_path, capsys):
    with pytest.raises(error) as raised:
        call(tmp_path)
    if error is SystemExit:  # argparse's error, before any data is loaded.
        assert re.search(pattern, capsys.readouterr().err)
    else:
        assert raised.match(pattern)


def test_right_answers_where_there_is_one(tmp_path):
    # Float pixels 0-255 under the default range: the same as their uint8 form
    # (no silent clipping to white).
    x = x_uint8(16)
    as_float = recipekit.augment.color_jitter(
        x.astype(np.float32), 0.1, 0.1, 0.1, seed=1
    )
    as_uint8 = recipekit.augment.color_jitter(x, 0.1, 0.1, 0.1, seed=1)
    np.testing.assert_allclose(
        np.asarray(as_float), np.asarray(as_uint8).astype(np.float32), atol=0.5 + 1e-3
    )
    assert 100 < float(np.mean(np.asarray(as_float))) < 155  # Not white (255).
    # A 16-bit grayscale PNG is scaled to 8 bits (30000 -> 117), not clipped.
    from PIL import Image

    folder = tmp_path / "deep" / "train" / "a"
    folder.mkdir(parents=True)
    for i, value in enumerate((30000, 65535)):
        gray = np.full((4, 4), value, np.uint16)
        Image.fromarray(gray).save(folder / f"{i}.png")
    (tmp_path / "deep" / "train" / "b").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(
        tmp_path / "deep" / "train" / "b" / "0.png"
    )
    x, y, _ = recipekit.data.load_arrays(str(tmp_path / "deep"), "train")
    assert x[y == 0][:, 0, 0].tolist() == [[117, 117, 117], [255, 255, 255]]
    # An empty batch gives an empty batch.
    empty = recipekit.augment.cifar_policy(brightness=0.1)(
        np.zeros((0, 32, 32, 3), np.uint8), seed=0
    )
    assert tuple(empty.shape) == (0, 32, 32, 3)
    # An EMA decay given as a NumPy scalar is a decay like any other.
    ema = recipekit.optimizers.EMA(keras.optimizers.SGD(0.1), np.float32(0.99))
    assert ema.decay == pytest.approx(0.99)
    # A damaged decode-cache entry is rebuilt from the source, not an error.
    from recipekit.data import _cache

    cache = tmp_path / "damaged_cache"
    cache.mkdir()
    (cache / "entry.npz").write_bytes(b"PK\x03\x04 damaged")
    assert _cache.read(str(cache), "entry") is None
