"""Data sources and tf.data pipelines."""

from recipekit.data._load import load, load_arrays
from recipekit.data._pipeline import pipeline
from recipekit.data._sample import NAME as SAMPLE
from recipekit.data._stats import channel_stats

__all__ = ["SAMPLE", "channel_stats", "load", "load_arrays", "pipeline"]
