import os
import tarfile
import zipfile

import numpy as np
import pytest
import tensorflow as tf

import recipekit
from recipekit import _limits
from recipekit.data import _pipeline


def pairs(dataset):
    return sorted((int(x[0, 0, 0]), int(y)) for x, y in dataset)


def test_streamed_folder_gives_the_in_memory_pixels_in_one_fixed_mixed_order(
    image_folder,
):
    memory, names = recipekit.data.load(str(image_folder), "train")
    streamed, streamed_names = recipekit.data.load(
        str(image_folder), "train", stream=True
    )
    assert streamed_names == names
    assert streamed.element_spec == memory.element_spec
    assert int(streamed.cardinality()) == 12
    want = {int(x[0, 0, 0]): np.asarray(x) for x, _ in memory}
    first = [(int(x[0, 0, 0]), int(y)) for x, y in streamed]
    assert sorted(first) == pairs(memory)
    assert [(int(x[0, 0, 0]), int(y)) for x, y in streamed] == first  # same order
    assert [label for _, label in first] != sorted(label for _, label in first)
    for x, _ in streamed:
        np.testing.assert_array_equal(np.asarray(x), want[int(x[0, 0, 0])])


def test_sources_above_the_memory_budget_stream_by_themselves(
    image_folder, monkeypatch
):
    monkeypatch.setenv("RECIPEKIT_MEMORY_BUDGET", str(11 * 8 * 6 * 3))  # < 12 images
    dataset, _ = recipekit.data.load(str(image_folder), "train", image_size=(8, 6))
    assert len(pairs(dataset)) == 12
    assert not os.path.exists(os.environ["RECIPEKIT_CACHE"])  # nothing decoded whole
    fits, buffer = _pipeline.memory_plan(dataset)
    assert (fits, buffer) == (False, 2)  # a quarter of the budget: 11 // 4 images
    batches = list(recipekit.data.pipeline(dataset, 4, training=True, seed=0))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 8, 6, 3)] * 3
    with pytest.raises(ValueError, match="more than the memory budget.*data.load"):
        recipekit.data.load_arrays(str(image_folder), "train")
    # The whole dataset fits the default budget: cached and shuffled whole.
    monkeypatch.delenv("RECIPEKIT_MEMORY_BUDGET")
    assert _pipeline.memory_plan(dataset) == (True, 12)


def test_a_corrupt_file_is_named_or_skipped_with_its_name(image_folder):
    bad = image_folder / "train" / "dog" / "bad.png"
    bad.write_bytes(b"not an image")
    dataset, _ = recipekit.data.load(str(image_folder), "train", stream=True)
    with pytest.raises(tf.errors.OpError, match="dog/bad.png"):
        list(dataset)
    dataset, _ = recipekit.data.load(
        str(image_folder), "train", stream=True, on_error="skip"
    )
    with pytest.warns(UserWarning, match="Skipped unreadable image.*dog/bad.png"):
        assert len(pairs(dataset)) == 12


def test_zip_streams_and_a_large_tar_is_refused_with_the_way_out(
    image_folder, tmp_path, monkeypatch
):
    zipped = tmp_path / "data.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for root, _, files in os.walk(image_folder):
            for name in files:
                full = os.path.join(root, name)
                zf.write(full, os.path.relpath(full, image_folder))
    memory, _ = recipekit.data.load(str(image_folder), "test")
    streamed, _ = recipekit.data.load(str(zipped), "test", stream=True)
    assert pairs(streamed) == pairs(memory)
    tarred = tmp_path / "data.tar.gz"
    with tarfile.open(tarred, "w:gz") as tar:
        tar.add(image_folder, arcname=".")
    with pytest.raises(ValueError, match="tar archive.*Extract it"):
        recipekit.data.load(str(tarred), "test", stream=True)
    monkeypatch.setenv("RECIPEKIT_MEMORY_BUDGET", "100")
    with pytest.raises(ValueError, match="more than the budget.*Extract it"):
        recipekit.data.load(str(tarred), "test")
    monkeypatch.setenv("RECIPEKIT_MEMORY_BUDGET", "lots")
    with pytest.raises(ValueError, match="RECIPEKIT_MEMORY_BUDGET must be"):
        _limits.memory_budget()


def test_stream_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="`stream` must be None, True or False"):
        recipekit.data.load("cifar10_sample", "test", stream="yes")
    path = tmp_path / "a.npz"
    np.savez(path, x=np.zeros((2, 2, 2, 3), np.uint8), y=np.zeros(2))
    with pytest.raises(ValueError, match="stream=True applies to image folders"):
        recipekit.data.load(str(path), stream=True)
