import os
import warnings
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

import recipekit
from recipekit.data import _folder, _tfds
from tests.conftest import write_image


def test_split_folder(image_folder):
    dataset, names = recipekit.data.load(str(image_folder), "train")
    assert names == ["cat", "dog", "emu"]
    assert dataset.element_spec[0] == tf.TensorSpec((8, 6, 3), tf.uint8)
    assert dataset.element_spec[1] == tf.TensorSpec((), tf.int64)
    pairs = [(int(x[0, 0, 0]), int(y)) for x, y in dataset]
    assert pairs == [(0, 0), (1, 0), (2, 0), (3, 0), (10, 1), (11, 1), (12, 1),
                     (13, 1), (20, 2), (21, 2), (22, 2), (23, 2)]  # fmt: skip


def test_flat_folder_and_split_errors(image_folder):
    flat = image_folder / "train"
    images, labels, names = recipekit.data.load_arrays(str(flat))
    assert images.shape == (12, 8, 6, 3) and names == ["cat", "dog", "emu"]
    with pytest.raises(ValueError, match="has no split folders.*split='train'"):
        recipekit.data.load(str(flat), "train")
    with pytest.raises(ValueError, match=r"has the splits \['test', 'train'\]"):
        recipekit.data.load(str(image_folder))
    with pytest.raises(ValueError, match="has no split 'val'"):
        recipekit.data.load(str(image_folder), "val")


def test_class_indices_agree_across_splits(tmp_path):
    for split, classes in (("train", "abc"), ("test", "ac")):
        for c in classes:
            write_image(
                str(tmp_path / split / c / "0.png"), np.zeros((2, 2, 3), np.uint8)
            )
    _, test_labels, names = recipekit.data.load_arrays(str(tmp_path), "test")
    assert names == ["a", "b", "c"] and test_labels.tolist() == [0, 2]


def test_grayscale_and_rgba_become_rgb(tmp_path):
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 77
    rgba[..., 3] = 9
    write_image(str(tmp_path / "a" / "g.png"), gray)
    write_image(str(tmp_path / "b" / "r.png"), rgba)
    images, labels, _ = recipekit.data.load_arrays(str(tmp_path))
    assert images.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(images[0], np.repeat(gray[..., None], 3, -1))
    assert (images[1] == 77).all()


def test_corrupt_file_is_named_or_skipped(image_folder):
    bad = image_folder / "train" / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match=r"Cannot decode the image .*dog/broken\.png"):
        recipekit.data.load(str(image_folder), "train")
    with pytest.warns(UserWarning) as record:
        images, labels, _ = recipekit.data.load_arrays(
            str(image_folder), "train", on_error="skip"
        )
    messages = [str(w.message) for w in record]
    assert any("Skipped unreadable image" in m and "broken.png" in m for m in messages)
    assert any("Skipped 1 unreadable image(s)" in m for m in messages)
    assert len(images) == 12
    # A cached load still reports the skipped file by name.
    with pytest.warns(UserWarning, match="broken.png"):
        recipekit.data.load_arrays(str(image_folder), "train", on_error="skip")


def test_non_image_files_are_reported(image_folder):
    (image_folder / "train" / "cat" / "notes.txt").write_text("hello")
    with pytest.warns(UserWarning, match=r"Ignored 1 file\(s\).*notes\.txt"):
        images, _, _ = recipekit.data.load_arrays(str(image_folder), "train")
    assert len(images) == 12


def test_mixed_sizes_error_names_file_unless_resized(image_folder):
    write_image(
        str(image_folder / "train" / "emu" / "big.png"), np.zeros((9, 9, 3), np.uint8)
    )
    with pytest.raises(ValueError, match=r"different sizes: .*emu/big\.png' is 9x9"):
        recipekit.data.load(str(image_folder), "train")
    images, _, _ = recipekit.data.load_arrays(
        str(image_folder), "train", image_size=(5, 7)
    )
    assert images.shape == (13, 5, 7, 3)


def test_decoded_once_then_cached(image_folder, monkeypatch):
    first = recipekit.data.load_arrays(str(image_folder), "train")

    def fail(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(_folder, "read_images", fail)
    second = recipekit.data.load_arrays(str(image_folder), "train")
    np.testing.assert_array_equal(first[0], second[0])
    # A touched but unchanged source is not decoded again ...
    path = image_folder / "train" / "cat" / "01.png"
    os.utime(path, ns=(1, 1))
    recipekit.data.load_arrays(str(image_folder), "train")
    # ... a changed one is, even with its size and modification time kept
    # (as cp -p, rsync -t and curl -R leave them).
    other = (image_folder / "train" / "cat" / "02.png").read_bytes()
    assert len(other) == len(path.read_bytes()) and other != path.read_bytes()
    path.write_bytes(other)
    os.utime(path, ns=(1, 1))
    with pytest.raises(AssertionError, match="decoded again"):
        recipekit.data.load_arrays(str(image_folder), "train")


@pytest.mark.parametrize(
    "source, error, fragment",
    [
        ("/no/such/folder", FileNotFoundError, "'/no/such/folder' does not exist"),
        ("missing.tar.gz", FileNotFoundError, "'missing.tar.gz' does not exist"),
        ("no_such_tfds_dataset", ValueError, "nor a known TFDS dataset"),
    ],
)
def test_bad_sources(source, error, fragment):
    with pytest.raises(error, match=fragment):
        recipekit.data.load(source, "train")


def test_empty_folder_and_single_class(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images found in .*empty"):
        recipekit.data.load(str(tmp_path / "empty"))
    write_image(str(tmp_path / "one" / "cls" / "0.png"), np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match=r"single class folder \['cls'\]"):
        recipekit.data.load(str(tmp_path / "one"))


def test_arrays_and_npz(tmp_path):
    x = np.arange(5 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2)
    y = np.array([0, 1, 2, 1, 0])
    images, labels, names = recipekit.data.load_arrays((x, y), shuffle=False)
    assert images.shape == (5, 2, 2, 3) and names == ["0", "1", "2"]
    assert labels.dtype == np.int64
    dataset, names = recipekit.data.load({"train": (x, y)}, "train", class_names="abc")
    assert names == ["a", "b", "c"]
    assert [int(label) for _, label in dataset] == [0, 1, 2, 1, 0]
    path = tmp_path / "d.npz"
    np.savez(
        path,
        x_train=x,
        y_train=y,
        x_test=x[:2],
        y_test=y[:2],
        class_names=["p", "q", "r"],
    )
    dataset, names = recipekit.data.load(str(path), "test")
    assert names == ["p", "q", "r"] and int(dataset.cardinality()) == 2
    with pytest.raises(ValueError, match=r"no arrays 'x_val'.*\['test', 'train'\]"):
        recipekit.data.load(str(path), "val")


@pytest.mark.parametrize(
    "y, class_names, fragment",
    [
        ([0, 1, 3], ["a", "b", "c"], r"must be in \[0, 3\).*label of 3"),
        ([0, -1, 1], None, "must be >= 0.*label of -1"),
        ([0, 0, 0], None, "single class"),
    ],
)
def test_bad_labels(y, class_names, fragment):
    x = np.zeros((3, 2, 2, 3), np.uint8)
    with pytest.raises(ValueError, match=fragment):
        recipekit.data.load((x, np.array(y)), class_names=class_names)


def test_bad_arrays_and_arguments():
    x = np.zeros((3, 2, 2, 3), np.float32)
    with pytest.raises(TypeError, match="must be uint8.*float32"):
        recipekit.data.load((x, np.array([0, 1, 0])))
    with pytest.raises(ValueError, match="one integer per image"):
        recipekit.data.load((x.astype(np.uint8), np.array([0, 1])))
    with pytest.raises(ValueError, match="on_error"):
        recipekit.data.load((x, np.array([0, 1, 0])), on_error="ignore")
    with pytest.raises(ValueError, match="image_size"):
        recipekit.data.load((x, np.array([0, 1, 0])), image_size=(0, 3))


def test_tfds_path_with_mock_data():
    import tensorflow_datasets as tfds

    # The mock has no network; the offline refusal is tests/data/test_tfds.py's.
    with (
        tfds.testing.mock_data(num_examples=6),
        mock.patch.object(_tfds, "online", lambda: True),
    ):
        dataset, names = recipekit.data.load("cifar10", "train")
        assert len(names) == 10
        assert dataset.element_spec[0] == tf.TensorSpec((32, 32, 3), tf.uint8)
        assert len(list(dataset)) == 6
        gray, _ = recipekit.data.load("mnist", "test")
        assert gray.element_spec[0] == tf.TensorSpec((28, 28, 3), tf.uint8)
        x, _ = next(iter(gray))
        np.testing.assert_array_equal(x[..., 0], x[..., 2])
        with pytest.raises(ValueError, match="varying sizes; pass image_size"):
            recipekit.data.load("tf_flowers", "train")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flowers, _ = recipekit.data.load("tf_flowers", "train", image_size=(24, 20))
        assert flowers.element_spec[0] == tf.TensorSpec((24, 20, 3), tf.uint8)
        with pytest.raises(ValueError, match="needs a `split`"):
            recipekit.data.load("cifar10")


def test_embedded_sample_is_balanced_real_cifar10():
    train, labels, names = recipekit.data.load_arrays(recipekit.data.SAMPLE, "train")
    test, test_labels, _ = recipekit.data.load_arrays(recipekit.data.SAMPLE, "test")
    assert names[:3] == ["airplane", "automobile", "bird"] and len(names) == 10
    assert train.shape == (5000, 32, 32, 3) and test.shape == (1000, 32, 32, 3)
    assert np.bincount(labels).tolist() == [500] * 10
    assert np.bincount(test_labels).tolist() == [100] * 10
    assert 100 < train.mean() < 150  # Real photos, not blank images.
    size = os.path.getsize(recipekit.data._sample.path())
    assert size < 3_000_000
