"""Intervals written as in mathematics, `"[0, 1)"`, `"(0, inf)"`: the argument
checks' and the command-line flags' one notation.

This module imports nothing of recipekit's (nor Keras): the command line loads
it on its own to check flags before Keras starts (`recipekit_cli._library`).
"""

import math
import re

_INTERVAL = re.compile(r"([\[(])\s*(\S+)\s*,\s*(\S+)\s*([\])])$")


def in_interval(value, interval):
    """Whether `value` lies in `interval`, written as in mathematics:
    `"[0, 1)"`, `"(0, inf)"`, `"[1, inf)"`. NaN lies in none."""
    match = _INTERVAL.match(interval)
    if not match:
        raise ValueError(f"not an interval: {interval!r}; write e.g. '[0, 1)'")
    low, high = float(match.group(2)), float(match.group(3))
    above = value > low or (match.group(1) == "[" and value == low)
    below = value < high or (match.group(4) == "]" and value == high)
    return above and below and not math.isnan(value)


def describe_interval(interval):
    """`">= 1"` for `"[1, inf)"`, else `"in [0, 1)"`: for messages."""
    opened, low, high, _ = _INTERVAL.match(interval).groups()
    return f">= {low}" if (opened, high) == ("[", "inf") else f"in {interval}"
