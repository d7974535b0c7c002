"""The CPU by name: the same code can lead on one chip and trail on another."""

import os
import platform

# oneDNN (TensorFlow, PyTorch) runs bfloat16 natively where a CPU has these.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def processor(cpuinfo="/proc/cpuinfo") -> str:
    """The CPU's model name, its cores and its bfloat16 features, in one line.

    Speed figures differ most between processors in bfloat16 (native on AMX
    or AVX512-BF16, emulated elsewhere), so recipes record this line with
    their epoch times. `bf16: none` where the CPU has neither feature; the
    platform's name stands in where `/proc/cpuinfo` cannot be read.

    Args:
        cpuinfo: the file to read (Linux's `/proc/cpuinfo`).

    Returns:
        A line such as `"AMD EPYC, 2 cores, bf16: none"`.

    Examples:

    >>> import recipekit
    >>> line = recipekit.distribute.processor()
    >>> f"{os.cpu_count()} cores, bf16: " in line
    True
    """
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break  # the model name comes first
    except OSError:
        pass
    bf16 = " ".join(f for f in BF16_FLAGS if f in flags) or "none"
    return f"{model}, {os.cpu_count()} cores, bf16: {bf16}"
