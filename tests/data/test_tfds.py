"""The TFDS path (`--data cifar10`): it imports on a fresh install, and offline it
fails within seconds with a line saying how to pass a local copy."""

import time

import pytest

import recipekit
from recipekit.data import _tfds

pytestmark = pytest.mark.tf_only


def test_the_download_path_imports_what_it_needs(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    builder = tfds.builder("cifar10", data_dir=str(tmp_path))
    # TFDS reads its builder's code path on the way to a download; it imports
    # importlib_resources, which the `tensorflow` extra must install.
    assert str(type(builder).code_path).endswith("cifar.py")
    assert not builder.is_prepared()


def test_offline_a_missing_tfds_dataset_fails_fast_naming_a_local_copy(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(_tfds, "_PROBE", ("unreachable.invalid", 443))
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"'cifar10' is not downloaded yet.*--data"):
        recipekit.data.load_arrays("cifar10", "test", data_dir=str(tmp_path))
    assert time.perf_counter() - start < 30


def test_a_misspelt_name_gets_the_closest_ones():
    with pytest.raises(ValueError, match=r"did you mean 'cifar10'"):
        recipekit.data.load_arrays("cifar1O", "test")
    with pytest.raises(ValueError, match=r"did you mean 'cifar10_sample'"):
        recipekit.data.load_arrays("cifar10_smaple", "test")


def test_a_misspelt_path_gets_the_closest_file_beside_it(tmp_path):
    (tmp_path / "cifar10-jpeg.tar.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"mean .*cifar10-jpeg\.tar\.gz"):
        recipekit.data.load_arrays(str(tmp_path / "cifar10-jpg.tar.gz"), "test")
