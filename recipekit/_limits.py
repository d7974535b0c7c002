"""The byte limits a user sets in the environment, read when they are used.

`RECIPEKIT_MEMORY_BUDGET` (decoded images held in memory, default 1 GiB),
`RECIPEKIT_MAX_FILE_BYTES` (one file read from an archive, an `.npz` array or
a `.keras` member, default 512 MiB) and `RECIPEKIT_CACHE_BYTES` (the decode
cache on disk, default 8 GiB) take a number of bytes with an optional unit:
`1000000`, `512MB`, `1GiB`, `2g` (units are powers of 1024).
"""

import os
import re

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


def parse_bytes(text: str) -> int:
    """`"512MB"` -> 536870912; raises ValueError for anything else."""
    match = _SIZE.fullmatch(str(text))
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def env_bytes(name: str, default: int) -> int:
    """A positive byte count from the environment variable `name`, else `default`."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        size = parse_bytes(value)
    except ValueError:
        size = 0
    if size < 1:
        raise ValueError(
            f"{name} must be a positive number of bytes, such as 1000000, 512MB "
            f"or 1GiB; got {value!r}. Fix or unset it."
        )
    return size


def memory_budget() -> int:
    """Bytes of decoded images held in memory (`RECIPEKIT_MEMORY_BUDGET`)."""
    return env_bytes("RECIPEKIT_MEMORY_BUDGET", 1 << 30)


def max_file_bytes() -> int:
    """The largest single file recipekit reads (`RECIPEKIT_MAX_FILE_BYTES`)."""
    return env_bytes("RECIPEKIT_MAX_FILE_BYTES", 512 << 20)
