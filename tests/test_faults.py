"""The fault probe's cases, one test row each: lost work, silently wrong
results, hostile files and the weak cases, each on a tiny model or data set.

The kill during a backup write is a real SIGKILL of a training process while
the weights file is half written; the full disk is a real 1 MB tmpfs (root
only: skipped, with the reason, where mounting is not allowed).
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import keras
import numpy as np
import pytest

import recipekit
from tests.conftest import write_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.path.join(ROOT, "recipes")


def run_recipe(name, *args, cwd=None, timeout=300):
    command = [sys.executable, os.path.join(RECIPES, f"{name}.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)  # fmt: skip


def tiny_model(units=4):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)]
    )
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


# -- Lost work -----------------------------------------------------------------


def test_01_a_run_never_removes_or_overwrites_files_it_did_not_write(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "precious.txt").write_text("mine")
    (tmp_path / "model.keras").write_text("my model")
    done = run_recipe("cifar10_resnet", "--quick", "--epochs", "1", "--out", ".",
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no recipekit run wrote" in lines[0]
    assert "backup" in lines[0] and "model.keras" in lines[0]
    assert (tmp_path / "backup" / "precious.txt").read_text() == "mine"
    assert (tmp_path / "model.keras").read_text() == "my model"


KILLED_CHILD = """
import os, signal, sys
import numpy as np, keras, recipekit

backup_dir, epochs = sys.argv[1], int(sys.argv[2])
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(64),
                          keras.layers.Dense(1)])
model.compile(keras.optimizers.SGD(0.01), "mse")
save = model.save_weights
writes = []

def save_then_die(path, **kwargs):
    save(path, **kwargs)
    writes.append(path)
    if os.environ.get("KILL_AT_WRITE") == str(len(writes)):
        size = os.path.getsize(path)
        with open(path, "r+b") as f:  # half the file is on disk ...
            f.truncate(size // 2)
            os.kill(os.getpid(), signal.SIGKILL)  # ... when the kill lands

model.save_weights = save_then_die
x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
backup = recipekit.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)
model.fit(x, x.sum(1), epochs=epochs, batch_size=8, verbose=0, shuffle=False,
          callbacks=[backup])
np.save(os.path.join(os.path.dirname(backup_dir), "weights.npy"),
        np.concatenate([w.ravel() for w in model.get_weights()]))
"""


def test_02_a_kill_during_the_backup_write_keeps_the_last_backup(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(KILLED_CHILD))
    env = dict(os.environ, PYTHONHASHSEED="0")

    def child(folder, epochs, kill_at=None):
        extra = {"KILL_AT_WRITE": str(kill_at)} if kill_at else {}
        return subprocess.run(
            [sys.executable, str(script), str(folder / "backup"), str(epochs)],
            env={**env, **extra}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert child(straight, 3).returncode == 0
    done = child(killed, 3, kill_at=2)  # during the write after epoch 2
    assert done.returncode == -signal.SIGKILL
    # The cut write never replaced the backup of epoch 1.
    assert recipekit.callbacks.backup_epoch(str(killed / "backup")) == 1
    resumed = child(killed, 3)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not os.path.exists(killed / "backup" / ".pending")
    np.testing.assert_array_equal(
        np.load(killed / "weights.npy"), np.load(straight / "weights.npy")
    )


def test_02b_a_whole_pending_backup_is_finished_by_the_next_run(tmp_path):
    backup = tmp_path / "backup"
    model = tiny_model()
    x = np.ones((8, 3), "float32")
    callback = recipekit.callbacks.BackupAndRestore(str(backup))
    callback.set_model(model)
    callback._write(1, 0)  # epoch 1 in place
    os.makedirs(backup / ".pending")
    model.save_weights(str(backup / ".pending" / "latest.weights.h5"))
    (backup / ".pending" / "training_metadata.json").write_text('{"epoch": 2}')
    # Killed before the COMPLETE mark: the pending write does not count.
    assert recipekit.callbacks.backup_epoch(str(backup)) == 1
    (backup / ".pending" / "COMPLETE").write_text("complete")
    # Killed after it, during the renames: it counts, and is finished.
    assert recipekit.callbacks.backup_epoch(str(backup)) == 2
    seen = []
    model.fit(x, x[:, 0], epochs=3, verbose=0, callbacks=[
        recipekit.callbacks.BackupAndRestore(str(backup)),
        keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, _: seen.append(e)),
    ])  # fmt: skip
    assert seen == [2]


def test_03_a_full_disk_is_a_clear_error_and_the_rerun_resumes(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                              str(disk)], capture_output=True, text=True)  # fmt: skip
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        model = tiny_model(units=40_000)  # 160k weights + momentum: about 1.3 MB
        x = np.ones((8, 3), "float32")
        backup = recipekit.callbacks.BackupAndRestore(str(disk / "backup"))
        with pytest.raises(OSError, match=r"No room for the backup .* MB are free"):
            model.fit(x, x[:, 0], epochs=2, verbose=0, callbacks=[backup])
        # Nothing half-written is left to trip the rerun.
        assert recipekit.callbacks.backup_epoch(str(disk / "backup")) == 0
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_03b_a_first_backup_cut_without_its_metadata_is_named(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"\x89HDF\r\n" + b"\0" * 100)
    with pytest.raises(ValueError, match="backup.*damaged.*Delete the folder"):
        recipekit.callbacks.backup_epoch(str(backup))


# -- Silently wrong ------------------------------------------------------------


def test_04_empty_class_folders_keep_one_label_per_class(tmp_path):
    for split, counts in (("train", {"cat": 2, "dog": 2, "fox": 0}),
                          ("test", {"cat": 2, "dog": 0, "fox": 2})):  # fmt: skip
        for name, count in counts.items():
            os.makedirs(tmp_path / split / name)
            for i in range(count):
                array = np.full((4, 4, 3), 10 * i, np.uint8)
                write_image(str(tmp_path / split / name / f"{i}.png"), array)
    _, y_train, train_names = recipekit.data.load_arrays(
        str(tmp_path / "train"), shuffle=False
    )
    with pytest.warns(UserWarning, match=r"no images of the class\(es\) \['dog'\]"):
        _, y_test, test_names = recipekit.data.load_arrays(
            str(tmp_path / "test"), shuffle=False
        )
    assert train_names == test_names == ["cat", "dog", "fox"]
    assert y_train.tolist() == [0, 0, 1, 1] and y_test.tolist() == [0, 0, 2, 2]


def test_05_a_relabelled_zip_with_the_same_size_and_time_is_read_again(tmp_path):
    images = {c: np.full((4, 4, 3), v, np.uint8) for c, v in (("a", 10), ("b", 200))}
    for name in ("a", "b"):
        write_image(str(tmp_path / "src" / name / "0.png"), images[name])
    path = tmp_path / "data.zip"

    def pack(order):
        with zipfile.ZipFile(path, "w") as zf:
            for label, source in zip(("a", "b"), order, strict=True):
                zf.write(tmp_path / "src" / source / "0.png", f"{label}/0.png")
        os.utime(path, ns=(10**18, 10**18))

    pack(("a", "b"))
    first, _, _ = recipekit.data.load_arrays(str(path))
    size = os.path.getsize(path)
    pack(("b", "a"))  # relabelled: each image under the other class
    assert os.path.getsize(path) == size
    second, _, _ = recipekit.data.load_arrays(str(path))
    assert [int(x[0, 0, 0]) for x in second] == [200, 10]
    if keras.backend.backend() == "tensorflow":  # streaming is tf.data
        streamed, _ = recipekit.data.load(str(path), stream=True)
        pairs = streamed.as_numpy_iterator()
        assert {int(y): int(x[0, 0, 0]) for x, y in pairs} == {0: 200, 1: 10}
    assert int(first[0, 0, 0, 0]) == 10


def test_06_nan_stops_training_and_keeps_the_good_backup_and_snapshots(tmp_path):
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8),
                            keras.layers.Dense(1)])  # fmt: skip
    optimizer = recipekit.optimizers.EMA(keras.optimizers.SGD(1e-3), 0.9)
    net.compile(optimizer, "mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = x.sum(1)

    class Explode(keras.callbacks.Callback):  # the rate turns absurd at epoch 3
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                optimizer.learning_rate.assign(1e12)

    backup = recipekit.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    snapshots = recipekit.callbacks.SnapshotEnsemble(4, str(tmp_path / "snaps"))
    curves = recipekit.callbacks.TrainingCurves(str(tmp_path / "curves.png"))
    history = net.fit(x, y, epochs=8, batch_size=8, verbose=0,
                      callbacks=[Explode(), curves, snapshots, backup])  # fmt: skip
    assert backup.stopped.startswith("non-finite loss")
    assert "epoch 3" in backup.stopped and "keeps epoch 2" in backup.stopped
    assert len(history.history["loss"]) == 3  # stopped in epoch 3, not 8
    assert recipekit.callbacks.backup_epoch(str(tmp_path / "backup")) == 2
    # One cycle (epochs 1-2) ended before the blow-up: its snapshot, finite.
    assert snapshots.snapshots == [str(tmp_path / "snaps" / "snapshot_0.weights.h5")]
    assert snapshots.stopped is None  # no later cycle ended
    restored = keras.models.clone_model(net)
    restored.load_weights(snapshots.snapshots[0])
    assert recipekit.callbacks.all_finite(restored.weights)
    # curves.json is strict JSON: epoch 3's non-finite loss is null.
    text = (tmp_path / "curves.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    losses = json.loads(text)["loss"]
    assert len(losses) == 3 and losses[2] is None
    assert all(np.isfinite(losses[:2]))


def test_06b_the_recipe_stops_on_nan_and_says_so(load_recipe, tiny_npz, tmp_path):
    recipe = load_recipe("cifar10_resnet")
    config = dataclasses.replace(
        recipe.Config(), data=tiny_npz(64, 16), depth=8, epochs=2, batch_size=32,
        learning_rate=1e12, ema_decay=0.9, out=str(tmp_path / "run"),
    )  # fmt: skip
    with pytest.raises(recipekit.run.RunFolderError, match="non-finite"):
        recipe.main(config)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "stopped" and "non-finite" in metrics["reason"]
    assert not os.path.exists(tmp_path / "run" / "model.keras")
    snapshot = run_recipe("cifar_snapshot_ensemble", "--lr-max", "inf")
    assert snapshot.returncode == 2
    assert "--lr-max must be in (0, inf)" in snapshot.stderr
    nan = run_recipe("cifar_snapshot_ensemble", "--lr-max", "nan")
    assert nan.returncode == 2 and "--lr-max must be in (0, inf)" in nan.stderr


def test_07_a_resume_with_other_settings_is_refused_naming_them(
    load_recipe, tiny_npz, tmp_path, monkeypatch
):
    recipe = load_recipe("cifar10_resnet")
    config = dataclasses.replace(
        recipe.Config(), data=tiny_npz(64, 16), depth=8, epochs=3, batch_size=32,
        tta_modes=("none",), out=str(tmp_path / "run"),
    )  # fmt: skip

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed during the final evaluation")

    monkeypatch.setattr(recipekit.evaluate, "evaluate_tta", killed)
    with pytest.raises(KeyboardInterrupt):
        recipe.main(config)
    for changes, named in (({"seed": 1, "epochs": 4}, "--epochs 4 here, 3 there; "
                                                      "--seed 1 here, 0 there"),
                           ({"depth": 14}, "--depth 14 here, 8 there")):  # fmt: skip
        other = dataclasses.replace(config, **changes)
        with pytest.raises(recipekit.run.RunFolderError) as error:
            recipe.main(other)
        assert named in str(error.value) and "--force-resume" in str(error.value)
        assert len(str(error.value)) < 400  # no weights dumped
    # --force-resume takes the new settings (a longer schedule here).
    monkeypatch.undo()
    forced = recipe.main(dataclasses.replace(config, epochs=4, force_resume=True))
    assert forced["epochs"] == 4 and forced["status"] == "finished"


def test_08_step_decay_boundaries_are_whole_epochs():
    for bad in ([2.9, 5.9], "12"):
        with pytest.raises(ValueError, match="whole epoch numbers"):
            recipekit.callbacks.StepDecay(bad)
    assert recipekit.callbacks.StepDecay([3.0, 6]).boundaries == [3, 6]


# -- Hostile files -------------------------------------------------------------


def test_09_an_archive_bomb_is_refused_by_its_declared_size(tmp_path, monkeypatch):
    monkeypatch.setenv("RECIPEKIT_MAX_FILE_BYTES", "1MB")
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/0.png", b"\0" * (4 * 2**20))  # 4 MB of zeros, 4 KB zipped
        zf.writestr("b/0.png", b"\0" * 10)
    assert os.path.getsize(path) < 20_000
    with pytest.raises(ValueError, match=r"bomb\.zip:a/0\.png' is 4 MB"):
        recipekit.data.load_arrays(str(path))


def test_10_fifos_device_links_and_links_out_of_the_tree_are_refused(tmp_path):
    def folder(name):
        root = tmp_path / name
        for c in ("a", "b"):
            write_image(str(root / c / "0.png"), np.zeros((4, 4, 3), np.uint8))
        return root

    fifo = folder("fifo")
    os.mkfifo(fifo / "a" / "pipe.png")
    zero = folder("zero")
    os.symlink("/dev/zero", zero / "a" / "zero.png")
    rooted = folder("rooted")
    os.symlink("/", rooted / "c")
    for root, match in ((fifo, "pipe.png' is not a regular file"),
                        (zero, "zero.png' is a link to '/dev/zero'"),
                        (rooted, "rooted/c', a link to '/' outside")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            recipekit.data.load_arrays(str(root))


def test_11_a_corrupt_first_image_and_odd_names_are_named(tmp_path):
    root = tmp_path / "data"
    for c in ("a", "b"):
        for i in (1, 2):
            write_image(str(root / c / f"{i}.png"), np.full((4, 4, 3), i, np.uint8))
    (root / "a" / "0.png").write_bytes(b"not an image")  # the first file read
    with pytest.raises(ValueError, match=r"a/0\.png"):
        recipekit.data.load_arrays(str(root))
    if keras.backend.backend() == "tensorflow":  # streaming is tf.data
        with pytest.raises(ValueError, match=r"a/0\.png"):
            recipekit.data.load(str(root), stream=True)
    with pytest.warns(UserWarning, match=r"a/0\.png"):
        images, _, _ = recipekit.data.load_arrays(str(root), on_error="skip")
    assert len(images) == 4
    odd = os.fsencode(str(root / "b")) + b"/\xff\xfe.png"
    with open(odd, "wb") as f:
        f.write((root / "b" / "1.png").read_bytes())
    images, labels, _ = recipekit.data.load_arrays(str(root), on_error="skip")
    assert len(images) == 5 and labels.tolist().count(1) == 3


# -- Weak cases ----------------------------------------------------------------


def test_12_weak_cases_answer_early_with_the_fix():
    with pytest.raises(TypeError, match=r"x // 257"):
        recipekit.data.load((np.zeros((4, 8, 8, 3), np.uint16), np.zeros(4)))
    with pytest.raises(ValueError, match="learning_rate"):
        recipekit.optimizers.Muon(-0.1)
    views = recipekit.evaluate.flip_translate_views
    with pytest.raises(ValueError, match="at least|larger than"):
        views(np.zeros((2, 1, 1, 3), "float32"))


@pytest.mark.tf_only
def test_12b_pipeline_refuses_silent_no_ops():
    dataset, _ = recipekit.data.load((np.zeros((10, 8, 8, 3), np.uint8),
                                      np.arange(10) % 2))  # fmt: skip
    with pytest.raises(ValueError, match="training=True"):
        recipekit.data.pipeline(dataset, 4, augment=recipekit.augment.cifar_policy())
    with pytest.raises(ValueError, match="fewer than one batch of 16"):
        recipekit.data.pipeline(dataset, 16, training=True)


# -- Run folders ---------------------------------------------------------------


@pytest.mark.backend_free
def test_13_a_second_run_on_a_folder_is_refused_naming_the_holder(tmp_path):
    out = str(tmp_path / "run")
    with recipekit.run.RunFolder(out, "demo", {"seed": 0}):
        held = rf"in use by another run \(pid {os.getpid()} on "
        with pytest.raises(recipekit.run.RunFolderError, match=held):
            with recipekit.run.RunFolder(out, "demo", {"seed": 0}):
                pass
    # A holder killed with SIGKILL leaves its lock file; the lock is free.
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, recipekit
        with recipekit.run.RunFolder({out!r}, "demo", {{"seed": 0}}):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(recipekit.run.RunFolderError, match=f"pid {holder.pid}"):
        with recipekit.run.RunFolder(out, "demo", {"seed": 0}):
            pass
    holder.kill()
    holder.wait()
    with recipekit.run.RunFolder(out, "demo", {"seed": 0}) as run:
        assert run.finished is None


@pytest.mark.tf_only
@pytest.mark.backend_free  # refused before Keras starts
@pytest.mark.parametrize("name", ["cifar10_fast", "cifar_snapshot_ensemble",
                                  "cifar_stochastic_depth", "optimizers_tour",
                                  "transfer_learning"])  # fmt: skip
def test_14_one_process_recipes_refuse_to_start_as_a_worker(name, tmp_path):
    cluster = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
               "task": {"type": "worker", "index": 1}}  # fmt: skip
    env = dict(os.environ, TF_CONFIG=json.dumps(cluster))
    command = [sys.executable, os.path.join(RECIPES, f"{name}.py"), "--quick",
               "--out", str(tmp_path / "run")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = done.stderr.strip().splitlines()
    assert f"{name}.py runs on one process, and this is worker 1 of 2" in line
    assert not os.path.exists(tmp_path / "run")  # nothing written
