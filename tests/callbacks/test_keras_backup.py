"""Fails loudly if a Keras upgrade changes the layout `backup_epoch` reads."""

import json
import os

import keras
import numpy as np
import pytest

import recipekit


class Stop(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("stop")


def test_backup_epoch_reads_keras_backup_and_restore_files(tmp_path):
    backup = str(tmp_path / "backup")
    assert recipekit.callbacks.backup_epoch(backup) == 0
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((4, 2), "float32")
    with pytest.raises(RuntimeError, match="stop"):
        model.fit(
            x,
            x[:, 0],
            epochs=4,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), Stop()],
        )
    assert sorted(os.listdir(backup)) == [
        "latest.weights.h5",
        "training_metadata.json",
    ]
    assert recipekit.callbacks.backup_epoch(backup) == 2
    seen = []
    model.fit(
        x,
        x[:, 0],
        epochs=4,
        verbose=0,
        callbacks=[
            keras.callbacks.BackupAndRestore(backup),
            keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, _: seen.append(e)),
        ],
    )
    assert seen == [2, 3]  # Keras resumed where backup_epoch said.


def test_corrupt_backup_metadata_names_the_folder(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"x")
    (backup / "training_metadata.json").write_text("{not json")
    with pytest.raises(ValueError, match="backup.*Delete the folder"):
        recipekit.callbacks.backup_epoch(str(backup))
    (backup / "training_metadata.json").write_text(json.dumps({"epoch": 3}))
    with pytest.raises(ValueError, match="damaged: latest.weights.h5 cannot be read"):
        recipekit.callbacks.backup_epoch(str(backup))  # "x" is no HDF5 file.
    import h5py

    with h5py.File(backup / "latest.weights.h5", "w") as weights:
        weights.create_dataset("w", data=[1.0])
    assert recipekit.callbacks.backup_epoch(str(backup)) == 3
