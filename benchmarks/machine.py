"""What a benchmark ran on: the processor and its bfloat16 features.

The same code can lead on one chip and trail on another (oneDNN's bfloat16
runs on AMX or AVX512-BF16 where a CPU has them), so every speed or accuracy
figure the benchmarks write names its processor with `describe()`.

    python benchmarks/machine.py
    # Intel(R) Xeon(R) Processor, 2 cores, bf16: amx_bf16 avx512_bf16
"""

import os
import platform

BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_model_and_flags(cpuinfo="/proc/cpuinfo"):
    """`(model name, set of flags)` from /proc/cpuinfo (or the platform's name)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                if model and flags and key.strip() == "flags":
                    break
    except OSError:
        pass
    return model, flags


def describe(cpuinfo="/proc/cpuinfo"):
    """`"<CPU model>, <n> cores, bf16: <features>"` (`bf16: none` without them)."""
    model, flags = cpu_model_and_flags(cpuinfo)
    bf16 = " ".join(f for f in BF16_FLAGS if f in flags) or "none"
    return f"{model}, {os.cpu_count()} cores, bf16: {bf16}"


if __name__ == "__main__":
    print(describe())
