import io
import os
import tarfile
import zipfile

import numpy as np
import pytest

import recipekit


def _tar(path, members, mode="w:gz"):
    """members: (name, bytes) for files, (name, ('sym'|'hard', target)) for links."""
    with tarfile.open(path, mode) as tf:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            if isinstance(payload, tuple):
                info.type = tarfile.SYMTYPE if payload[0] == "sym" else tarfile.LNKTYPE
                info.linkname = payload[1]
                tf.addfile(info)
            else:
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
    return str(path)


def _png(value):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _good_members(prefix=""):
    return [
        (f"{prefix}{split}/{cls}/{i}.png", _png(10 * c + i))
        for split in ("train", "test")
        for c, cls in enumerate(("a", "b"))
        for i in range(2)
    ]


@pytest.mark.parametrize("suffix,mode", [(".tar.gz", "w:gz"), (".tar", "w")])
def test_tar_archive_loads_like_a_folder(tmp_path, suffix, mode):
    path = _tar(tmp_path / f"data{suffix}", _good_members("wrapped/"), mode)
    images, labels, names = recipekit.data.load_arrays(path, "train", shuffle=False)
    assert names == ["a", "b"]
    assert labels.tolist() == [0, 0, 1, 1]
    assert images[:, 0, 0, 0].tolist() == [0, 1, 10, 11]


def test_zip_archive_loads(tmp_path):
    path = tmp_path / "data.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in _good_members():
            zf.writestr(name, data)
    images, labels, names = recipekit.data.load_arrays(str(path), "test", shuffle=False)
    assert images.shape == (4, 4, 4, 3) and labels.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize(
    "bad_name, payload, fragment",
    [
        ("/etc/evil.png", b"x", "absolute path"),
        ("train/a/../../../evil.png", b"x", "'..'"),
        ("train/a/link.png", ("sym", "../../../outside.png"), "outside the archive"),
        ("train/a/abs.png", ("sym", "/etc/passwd"), "outside the archive"),
        ("train/a/hard.png", ("hard", "../outside.png"), "outside the archive"),
    ],
)
def test_unsafe_tar_members_are_refused_by_name(tmp_path, bad_name, payload, fragment):
    path = _tar(tmp_path / "bad.tar.gz", _good_members() + [(bad_name, payload)])
    before = set(os.listdir(tmp_path))
    with pytest.raises(ValueError, match=fragment) as error:
        recipekit.data.load(path, "train")
    assert bad_name.lstrip("/").split("/")[-1] in str(error.value)
    # Nothing was written next to the archive (or anywhere outside the cache).
    assert set(os.listdir(tmp_path)) == before
    assert not (tmp_path / "cache").exists()


def test_unsafe_zip_member_is_refused_by_name(tmp_path):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in _good_members():
            zf.writestr(name, data)
        zf.writestr("../escape.png", _png(1))
    with pytest.raises(ValueError, match=r"'\.\./escape\.png'.*'\.\.'"):
        recipekit.data.load(str(path), "train")


def test_symlink_inside_archive_is_followed(tmp_path):
    members = _good_members() + [("train/b/copy.png", ("sym", "0.png"))]
    path = _tar(tmp_path / "links.tar", members, "w")
    images, labels, _ = recipekit.data.load_arrays(path, "train", shuffle=False)
    assert labels.tolist() == [0, 0, 1, 1, 1]
    assert images[:, 0, 0, 0].tolist() == [0, 1, 10, 11, 10]


def test_only_the_cache_folder_is_written(tmp_path):
    path = _tar(tmp_path / "data.tar.gz", _good_members())
    before = set(os.listdir(tmp_path))
    recipekit.data.load(path, "train")
    assert set(os.listdir(tmp_path)) - before == {"cache"}
    (entry,) = os.listdir(tmp_path / "cache")
    assert entry.endswith(".npz")
