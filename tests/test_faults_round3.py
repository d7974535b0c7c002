"""Round three of the fault probe (issue 37): one test per case, each failing on
the code before it was fixed. Cases are named as the probe named them."""

import json
import os
import time

import numpy as np
import pytest

import recipekit
from recipekit.data import _cache
from tests.conftest import write_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def full_disk(tmp_path):
    """A real 1 MB tmpfs (root only: skipped, with the reason, elsewhere)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                              str(disk)], capture_output=True, text=True)  # fmt: skip
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


# -- 1. Silent stale data --------------------------------------------------------


def test_an_edit_that_keeps_the_file_size_is_decoded_again(tmp_path):
    root = tmp_path / "bmp"
    image = np.zeros((64, 64, 3), np.uint8)
    for split in ("train", "test"):
        for c in ("a", "b"):
            write_image(str(root / split / c / "0.bmp"), image)
    path = root / "train" / "a" / "0.bmp"
    size, stat = path.stat().st_size, path.stat()
    before, _, _ = recipekit.data.load_arrays(str(root), "train")
    edited = image.copy()
    edited[28:37] = 255  # rows in the middle of the file: same size, same ends
    write_image(str(path), edited)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `cp -p` keeps it
    assert path.stat().st_size == size
    after, _, _ = recipekit.data.load_arrays(str(root), "train")
    assert not np.array_equal(before, after)
    assert sorted(np.unique(after)) == [0, 255]


def test_a_killed_cache_write_leaves_nothing_behind(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    dead = cache / "tmp-999999999-abc.tmp"  # no such process
    dead.write_bytes(b"half")
    mine = cache / f"tmp-{os.getpid()}-xyz.tmp"  # a write under way
    mine.write_bytes(b"half")
    other = cache / "notes.tmp"  # not the cache's
    other.write_bytes(b"x")
    assert _cache.remove_leftovers(str(cache)) == [dead.name]
    assert mine.exists() and other.exists()
    old = time.time() - 2 * 24 * 3600
    os.utime(mine, (old, old))
    assert _cache.remove_leftovers(str(cache)) == [mine.name]


def test_the_cache_is_bounded_and_evicts_the_least_recently_used(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    images = np.zeros((10, 32, 32, 3), np.uint8)
    labels = np.zeros(10, np.int64)
    for i, key in enumerate(("a", "b", "c")):
        _cache.write(str(cache), key, images, labels, ["x"], [])
        os.utime(cache / f"{key}.npz", (1000 + i, 1000 + i))
    entry = (cache / "a.npz").stat().st_size
    assert _cache.read(str(cache), "a") is not None  # a is used again: now newest
    monkeypatch.setenv("RECIPEKIT_CACHE_BYTES", str(2 * entry + 10))
    _cache.write(str(cache), "d", images, labels, ["x"], [])
    assert sorted(os.listdir(cache)) == ["a.npz", "d.npz"]  # b, c were oldest
    monkeypatch.setenv("RECIPEKIT_CACHE_BYTES", "lots")
    with pytest.raises(ValueError, match="RECIPEKIT_CACHE_BYTES must be a positive"):
        _cache.cache_bytes()


# -- 2. A lost epoch: labels checked against the classes before training --------


def run_recipe(name, *args, cwd=None, timeout=300, env=None):
    import subprocess
    import sys

    command = [sys.executable, os.path.join(ROOT, "recipes", f"{name}.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)  # fmt: skip


@pytest.mark.backend_free
def test_test_labels_past_the_training_classes_are_refused_before_training(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "bad.npz"
    np.savez(data, x_train=rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8),
             y_train=np.arange(64) % 2,
             x_test=rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8),
             y_test=np.arange(30) % 3)  # fmt: skip
    out = tmp_path / "run"
    flags = ["--depth", "8", "--epochs", "1", "--batch-size", "32", "--out", str(out)]
    done = run_recipe("cifar10_resnet", "--data", str(data), *flags)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert "bad.npz" in lines[0] and "must be in [0, 2)" in lines[0]
    assert "training" not in done.stdout  # refused before the first step


def test_labels_with_gaps_are_refused_not_turned_into_empty_classes():
    x = np.zeros((6, 4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match=r"use 3 of the 8 class ids.*none is 2, 3"):
        recipekit.data.load_arrays((x, np.array([0, 1, 7, 0, 1, 7])))
    names = [str(i) for i in range(8)]  # intended: the names say so
    _, _, got = recipekit.data.load_arrays(
        (x, np.array([0, 1, 7] * 2)), class_names=names
    )
    assert got == names


def test_a_test_folder_must_have_the_training_classes(image_folder):
    _, _, names = recipekit.data.load_arrays(str(image_folder), "train")
    _, _, same = recipekit.data.load_arrays(
        str(image_folder), "test", class_names=names
    )
    assert same == names == ["cat", "dog", "emu"]
    with pytest.raises(ValueError, match=r"classes of .* are \['cat', 'dog', 'emu'\]"):
        recipekit.data.load_arrays(
            str(image_folder), "test", class_names=["dog", "cat", "emu"]
        )


# -- 3. Memory bombs: one budget for every input --------------------------------


def npz_declaring(path, shape):
    """An .npz whose x_train header declares `shape` but holds a few bytes."""
    import zipfile

    small = np.zeros((2, 4, 4, 3), np.uint8)
    np.savez(path, x_train=small, y_train=np.array([0, 1]), x_test=small,
             y_test=np.array([0, 1]))  # fmt: skip
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    header = np.lib.format.header_data_from_array_1_0(small)
    header["shape"] = shape
    import io

    fake = io.BytesIO()
    np.lib.format.write_array_header_1_0(fake, header)
    members["x_train.npy"] = fake.getvalue() + b"\0" * 64
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return str(path)


def test_an_npz_declaring_a_huge_array_is_refused_from_its_header(tmp_path):
    path = npz_declaring(tmp_path / "bomb.npz", (140000, 128, 128, 3))
    assert os.path.getsize(path) < 10_000
    with pytest.raises(
        ValueError, match=r"x_train.*\(140000, 128, 128, 3\).*6\.41 GiB"
    ):
        recipekit.data.load_arrays(path, "train")
    x, _, _ = recipekit.data.load_arrays(path, "test")  # the other split is fine
    assert x.shape == (2, 4, 4, 3)


def tta_command(*args, timeout=300, env=None):
    import subprocess
    import sys

    import keras

    command = [sys.executable, "-m", "recipekit_cli", *args]
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)  # fmt: skip


@pytest.fixture
def saved_model(tmp_path):
    import keras

    dense = keras.layers.Dense(10, activation="softmax")
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), dense])
    path = tmp_path / "model.keras"
    model.save(path)
    return path


def one_line_error(done, *fragments):
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_a_keras_file_declaring_a_huge_config_is_refused_by_its_directory(
    saved_model, tmp_path
):
    import zipfile

    bomb = tmp_path / "bomb.keras"
    with (
        zipfile.ZipFile(saved_model) as old,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            if info.filename != "config.json":
                new.writestr(info.filename, old.read(info))
        with new.open("config.json", "w", force_zip64=True) as member:
            block = b" " * 2**20
            for _ in range(600):  # 600 MB of spaces, a few hundred KB zipped
                member.write(block)
    assert bomb.stat().st_size < 5 * 2**20
    done = tta_command(str(bomb), "--data", "cifar10_sample", "--modes", "none")
    one_line_error(done, "'config.json' declares 600 MB", "RECIPEKIT_MAX_FILE_BYTES")


def test_a_damaged_keras_file_is_one_line(saved_model, tmp_path):
    import zipfile

    crc = tmp_path / "crc.keras"
    data = bytearray(saved_model.read_bytes())
    with zipfile.ZipFile(saved_model) as archive:
        info = archive.getinfo("model.weights.h5")
    # a byte inside the stored weights flips; the directory stays intact
    at = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[at] ^= 0xFF
    crc.write_bytes(bytes(data))
    done = tta_command(str(crc), "--data", "cifar10_sample", "--modes", "none")
    one_line_error(done, "crc.keras' is damaged", "model.weights.h5")

    renamed = tmp_path / "renamed.keras"
    with zipfile.ZipFile(renamed, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    done = tta_command(str(renamed), "--data", "cifar10_sample", "--modes", "none")
    one_line_error(done, "not a Keras model file", "no config.json")

    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(saved_model.read_bytes()[:-100])  # no central directory
    done = tta_command(str(truncated), "--data", "cifar10_sample")
    assert done.returncode == 2 and "damaged or truncated" in done.stderr


@pytest.mark.backend_free
def test_a_billion_epochs_are_refused_at_once_not_after_a_minute(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"1,000,000,000 epochs of 1,000 images"):
        recipekit.data.epoch_indices(1000, 100, 10**9, seed=0)
    assert time.perf_counter() - start < 1
    positions, pairs = recipekit.data.epoch_indices(1000, 100, 3, seed=0)
    assert pairs.shape == (3000, 2)
    out = tmp_path / "run"
    done = run_recipe("cifar10_resnet", "--quick", "--epochs", "1000000000",
                      "--out", str(out))  # fmt: skip
    line = one_line_error(done, "epochs of", "RECIPEKIT_MEMORY_BUDGET")
    assert "GiB of indices" in line


# -- A failed start binds nothing; a forced one keeps the mark until it ends ----


def test_a_start_that_fails_before_its_first_backup_does_not_bind_the_folder(tmp_path):
    out = str(tmp_path / "run")
    with (
        pytest.raises(ValueError),
        recipekit.run.RunFolder(
            out, "cifar10_resnet", {"epochs": 182, "data": "cifar10"}
        ),
    ):
        raise ValueError("no such data")  # the --data typo, before training
    with recipekit.run.RunFolder(out, "cifar10_resnet", {"epochs": 10}) as run:
        assert run.resume_epoch == 0 and run.finished is None


def test_a_forced_resume_that_fails_leaves_the_original_command_working(tmp_path):
    out = tmp_path / "run"
    depth8 = {"depth": 8, "epochs": 3}
    with recipekit.run.RunFolder(str(out), "cifar10_resnet", depth8):
        (out / "backup").mkdir()  # trained: a backup exists
    depth14 = {**depth8, "depth": 14}
    forced = recipekit.run.RunFolder(str(out), "cifar10_resnet", depth14,
                                     force_resume=True)  # fmt: skip
    with pytest.raises(ValueError), forced:
        raise ValueError("the depth-8 backup does not fit a depth-14 net")
    with recipekit.run.RunFolder(str(out), "cifar10_resnet", depth8) as run:
        assert run.finished is None  # the original flags still resume it
    longer = {**depth8, "epochs": 4}
    with recipekit.run.RunFolder(str(out), "cifar10_resnet", longer,
                                 force_resume=True) as run:  # fmt: skip
        run.finish({"accuracy": 0.5})
    with recipekit.run.RunFolder(str(out), "cifar10_resnet", longer) as run:
        assert run.finished["accuracy"] == 0.5  # the mark now holds the new flags


def test_a_hand_edited_mark_naming_unknown_settings_is_refused_by_name(tmp_path):
    out = tmp_path / "run"
    settings = {"depth": 8, "epochs": 3}
    with recipekit.run.RunFolder(str(out), "cifar10_resnet", settings):
        (out / "backup").mkdir()
    mark = out / ".recipekit-run.json"
    saved = json.loads(mark.read_text())
    saved["config"].update(boundaries=[1, 2], weight_decay=0.1)
    mark.write_text(json.dumps(saved))
    with pytest.raises(recipekit.run.RunFolderError) as caught:
        recipekit.run.RunFolder(str(out), "cifar10_resnet", settings).__enter__()
    said = str(caught.value)
    assert "names settings that cifar10_resnet does not have" in said
    assert "(boundaries, weight_decay)" in said and "--boundaries" not in said


def test_the_final_model_is_written_atomically_on_a_full_disk(full_disk):
    import keras

    small = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    path = full_disk / "model.keras"
    recipekit.run.save_model(small, str(path))
    before = path.read_bytes()
    big = keras.Sequential([keras.Input((3,)), keras.layers.Dense(200_000)])
    with pytest.raises(OSError, match=r"Could not write .*model\.keras.*resumes"):
        recipekit.run.save_model(big, str(path))
    assert path.read_bytes() == before  # the old file, whole
    assert os.listdir(full_disk) == ["model.keras"]  # no partial file left


# -- 5. Tracebacks where one line should stand ------------------------------------


@pytest.mark.backend_free  # the data is checked before Keras computes
@pytest.mark.parametrize(
    "images, labels, said",
    [
        (np.full((40, 32, 32, 3), 200.0), np.arange(40) % 2, "float64"),
        (np.full((40, 32, 32, 3), 0.5, np.float32), np.arange(40) % 2, "[0, 1]"),
        (np.full((40, 32, 32, 3), 300, np.uint16), np.arange(40) % 2, "16-bit"),
        (np.ones((40, 32, 32, 3), bool), np.arange(40) % 2, "dtype bool"),
        (np.zeros((40, 32, 32, 3), np.uint8), np.arange(40) % 2 + 0.0, "integers"),
    ],
)
def test_images_or_labels_of_a_wrong_dtype_are_one_line(tmp_path, images, labels, said):
    data = tmp_path / "bad.npz"
    np.savez(data, x_train=images, y_train=labels, x_test=images[:8],
             y_test=labels[:8])  # fmt: skip
    done = run_recipe("cifar10_resnet", "--data", str(data), "--depth", "8",
                      "--epochs", "1", "--out", str(tmp_path / "run"))  # fmt: skip
    one_line_error(done, "bad.npz", said)
    if said == "float64":  # --debug shows the traceback (the same path for all)
        flags = ["--depth", "8", "--epochs", "1", "--out", str(tmp_path / "run")]
        debug = run_recipe("cifar10_resnet", "--data", str(data), *flags, "--debug")
        assert debug.returncode != 0 and "Traceback" in debug.stderr


def fake_package(root, name):
    """A package `name` that fails to import as a missing one does."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(
        f'raise ModuleNotFoundError("No module named {name!r}", name={name!r})\n'
    )
    return str(root)


def test_a_backend_that_is_not_installed_is_one_line(tmp_path):
    fake = fake_package(tmp_path / "site", "tensorflow")
    env = {**os.environ, "PYTHONPATH": fake}
    env.pop("KERAS_BACKEND", None)  # the JAX-only install without KERAS_BACKEND
    done = run_recipe("cifar10_resnet", "--quick", "--out", str(tmp_path / "r"),
                      env=env)  # fmt: skip
    one_line_error(done, "'tensorflow' cannot start", "'tensorflow' is not installed",
                   "pip install 'recipekit[tensorflow]'", "KERAS_BACKEND")  # fmt: skip
    env["KERAS_BACKEND"] = "nonsense"
    done = run_recipe("cifar10_resnet", "--quick", "--out", str(tmp_path / "r"),
                      env=env)  # fmt: skip
    one_line_error(done, "backend 'nonsense'", "tensorflow, jax or torch")
    done = tta_command(
        str(tmp_path),
        "--data",
        "cifar10_sample",
        env={
            "PYTHONPATH": fake_package(tmp_path / "site2", "jax"),
            "KERAS_BACKEND": "jax",
        },
    )
    assert done.returncode == 2 and "no model file" in done.stderr  # flags first


def test_a_bad_byte_limit_in_the_environment_is_one_line(saved_model):
    done = tta_command(str(saved_model), "--data", "cifar10_sample", "--modes",
                       "none", env={"RECIPEKIT_MAX_FILE_BYTES": "lots"})  # fmt: skip
    one_line_error(done, "RECIPEKIT_MAX_FILE_BYTES must be a positive number",
                   "512MB")  # fmt: skip
    done = tta_command(str(saved_model), "--data", "cifar10_sample", "--modes",
                       "none", env={"RECIPEKIT_MAX_FILE_BYTES": "1GB"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("after_s", [2.0, 25.0])  # in the imports; in training
def test_ctrl_c_at_any_moment_is_one_line_with_the_command_that_resumes(
    tmp_path, after_s
):
    import signal
    import subprocess
    import sys

    out = str(tmp_path / "run")
    # Ctrl-C as a terminal sends it: a test run started in the background
    # (`pytest &` in a script) hands its children SIGINT ignored, so the child
    # restores the default before it becomes the recipe.
    default_sigint = (
        "import os, signal, sys; "
        "signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    command = [sys.executable, "-c", default_sigint,
               os.path.join(ROOT, "recipes", "cifar10_resnet.py"),
               "--quick", "--epochs", "3", "--out", out]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip
    time.sleep(after_s)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=300)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, (child.returncode, stderr[-3000:], stdout[-1000:])
    assert "interrupted; nothing finished is lost" in lines[0]
    assert f"--out {out}" in lines[0] and "cifar10_resnet.py --quick" in lines[0]
    assert child.returncode != 0


# -- Weak cases --------------------------------------------------------------------


def test_after_a_resume_the_metrics_carry_the_whole_runs_times(
    load_recipe, tiny_npz, tmp_path, monkeypatch
):
    import dataclasses

    recipe = load_recipe("cifar10_resnet")
    config = dataclasses.replace(
        recipe.Config(), data=tiny_npz(64, 16), depth=8, epochs=3, batch_size=32,
        tta_modes=("none",), out=str(tmp_path / "run"),
    )  # fmt: skip

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed before the final evaluation")

    monkeypatch.setattr(recipekit.evaluate, "evaluate_tta", killed)
    with pytest.raises(KeyboardInterrupt):
        recipe.main(dataclasses.replace(config, stop_epoch=2))  # epochs 1-2
    monkeypatch.undo()
    metrics = recipe.main(config)  # resumes: epoch 3 only in this process
    times = metrics["epoch_times_s"]
    assert len(times) == 3 and min(times) > 0
    assert metrics["wall_time_s"] >= round(sum(times), 1) - 0.1
    assert metrics["train_images_per_s"] > 0


def test_data_changed_before_a_resume_is_said_in_one_line(tmp_path):
    out = str(tmp_path / "run")
    with recipekit.run.RunFolder(out, "cifar10_resnet", {"epochs": 3}) as run:
        run.check_data(["cat", "dog"], 64)
        (tmp_path / "run" / "backup").mkdir()  # trained an epoch
    with pytest.raises(recipekit.run.RunFolderError) as error:
        with recipekit.run.RunFolder(out, "cifar10_resnet", {"epochs": 3}) as run:
            run.check_data(["cat", "dog", "emu"], 96)
    message = str(error.value)
    assert "The data changed" in message and len(message) < 400
    assert "['cat', 'dog'] then, ['cat', 'dog', 'emu'] now" in message
    assert "64 training images then, 96 now" in message
    with recipekit.run.RunFolder(out, "cifar10_resnet", {"epochs": 3}) as run:
        run.check_data(["cat", "dog"], 64)  # the same data resumes
        metrics = run.finish({"accuracy": 0.5})
    assert metrics["class_names"] == ["cat", "dog"]


def test_recipekit_tta_checks_the_classes_the_model_was_trained_on(
    saved_model, tmp_path
):
    import json

    x = np.zeros((20, 32, 32, 3), np.uint8)
    y = np.arange(20) % 10
    names = [f"c{i}" for i in range(10)]
    data = tmp_path / "data.npz"
    np.savez(data, x=x, y=y, class_names=names)  # no splits: --split all
    trained = {"status": "finished", "class_names": names[::-1]}  # permuted
    (saved_model.parent / "metrics.json").write_text(json.dumps(trained))
    done = tta_command(str(saved_model), "--data", str(data), "--split", "all",
                       "--modes", "none")  # fmt: skip
    one_line_error(done, "was trained on the classes ['c9'", "same order")
    trained["class_names"] = names
    (saved_model.parent / "metrics.json").write_text(json.dumps(trained))
    done = tta_command(str(saved_model), "--data", str(data), "--split", "all",
                       "--modes", "none,flip,ten_crop")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""  # no retracing warning, no progress bars
    lines = done.stdout.strip().splitlines()  # only the table
    assert lines[0].endswith("[all], 20 images") and lines[1].startswith("mode")
    assert [line.split()[0] for line in lines[2:]] == ["none", "flip", "ten_crop"]


def test_a_long_first_decode_says_so_and_a_cached_load_is_silent(
    tmp_path, monkeypatch, capsys
):
    from recipekit.data import _load

    monkeypatch.setattr(_load, "_ANNOUNCE", 4)
    root = tmp_path / "folder"
    for c in ("a", "b"):
        for i in range(3):
            write_image(str(root / c / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    recipekit.data.load_arrays(str(root))
    said = capsys.readouterr()
    assert said.out == "" and said.err.startswith("Decoding 6 images of ")
    recipekit.data.load_arrays(str(root))
    assert capsys.readouterr().err == ""


def test_a_full_disk_anywhere_names_the_file_and_how_to_resume(full_disk, capsys):
    import errno

    import recipekit_cli

    path = str(full_disk / "curves.json")
    with pytest.raises(OSError) as error:  # fails mid-write: named anyway
        recipekit.run.write_json(path, {"loss": list(range(400_000))})
    assert error.value.errno == errno.ENOSPC and error.value.filename == path
    assert os.listdir(full_disk) == []  # no half-written file
    with pytest.raises(SystemExit) as done:
        recipekit_cli.command(recipekit.run.write_json, path, {"loss": [0] * 10**6})
    assert done.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"The disk is full writing {path!r}" in line
    assert "rerun the same command; it resumes from the last backup" in line


def test_a_dangling_link_is_skipped_by_name_with_on_error_skip(tmp_path):
    root = tmp_path / "folder"
    for c in ("a", "b"):
        for i in range(2):
            write_image(str(root / c / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    os.symlink(root / "a" / "gone.png", root / "a" / "dangling.png")  # inside
    with pytest.raises((ValueError, OSError), match="dangling.png"):
        recipekit.data.load_arrays(str(root))
    with pytest.warns(UserWarning, match=r"1 unreadable image.*dangling\.png"):
        images, _, _ = recipekit.data.load_arrays(str(root), on_error="skip")
    assert len(images) == 4


def test_an_empty_split_says_so(tmp_path):
    path = tmp_path / "empty.npz"
    x = np.zeros((4, 8, 8, 3), np.uint8)
    np.savez(path, x_train=x, y_train=np.array([0, 1, 0, 1]), x_test=x[:0],
             y_test=np.zeros(0, np.int64))  # fmt: skip
    with pytest.raises(ValueError, match=r"empty\.npz holds no images"):
        recipekit.data.load_arrays(str(path), "test")


@pytest.mark.backend_free
def test_images_too_small_for_the_recipes_crop_name_the_data_not_an_argument(
    tmp_path,
):
    path = tmp_path / "tiny_images.npz"
    x = np.zeros((64, 1, 1, 3), np.uint8)
    np.savez(path, x_train=x, y_train=np.arange(64) % 2, x_test=x[:8],
             y_test=np.arange(8) % 2)  # fmt: skip
    done = run_recipe("cifar10_resnet", "--data", str(path), "--depth", "8",
                      "--epochs", "1", "--out", str(tmp_path / "run"))  # fmt: skip
    line = one_line_error(done, "tiny_images.npz' has 1x1 images", "image_size=")
    assert "translate" not in line


@pytest.mark.tf_only
def test_a_streamed_bad_image_is_one_line_naming_it(tmp_path, capsys):
    import recipekit_cli

    root = tmp_path / "folder"
    for c in ("a", "b"):
        for i in range(3):
            write_image(str(root / c / f"{i}.png"), np.zeros((4, 4, 3), np.uint8))
    (root / "a" / "bad.png").write_bytes(b"not a png")
    dataset, _ = recipekit.data.load(str(root), stream=True)
    with pytest.raises(SystemExit) as done:
        recipekit_cli.command(lambda: list(dataset))
    assert done.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "Cannot decode the image" in line and "bad.png" in line
    assert "Traceback" not in line and "on_error='skip'" in line


def test_a_misplaced_image_is_named_not_a_well_placed_one(tmp_path):
    root = tmp_path / "f"
    for split in ("train", "test"):
        for c in ("a", "b"):
            for i in range(2):
                write_image(
                    str(root / split / c / f"{i}.png"), np.zeros((4, 4, 3), np.uint8)
                )
    write_image(str(root / "train" / "stray.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"found 'train/stray\.png'"):
        recipekit.data.load_arrays(str(root), "train")
    with pytest.raises(ValueError, match=r"found 'stray\.png'"):
        recipekit.data.load_arrays(str(root / "train"))


def test_a_log_that_is_not_a_terminal_gets_one_line_per_epoch(tiny_npz, tmp_path):
    data = tiny_npz(64, 20)
    done = run_recipe("cifar10_resnet", "--data", data, "--depth", "8",
                      "--epochs", "2", "--batch-size", "32", "--out",
                      str(tmp_path / "run"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout  # no progress bars
    epochs = [line for line in done.stdout.splitlines() if " - loss: " in line]
    assert len(epochs) == 2, done.stdout
