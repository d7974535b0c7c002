"""Data sources, tf.data pipelines, and the training set held on the device."""

from recipekit.data._device_images import DeviceImages, epoch_indices
from recipekit.data._load import load, load_arrays
from recipekit.data._pipeline import pipeline
from recipekit.data._sample import NAME as SAMPLE
from recipekit.data._stats import channel_stats

__all__ = [
    "SAMPLE",
    "DeviceImages",
    "channel_stats",
    "epoch_indices",
    "load",
    "load_arrays",
    "pipeline",
]
