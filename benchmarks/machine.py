"""What a benchmark ran on, and the record it keeps: one JSON line per measurement.

The same code can lead on one chip and trail on another (oneDNN's bfloat16
runs on AMX or AVX512-BF16 where a CPU has them), so every speed or accuracy
figure the benchmarks write names its processor with `describe()` (the
library's `recipekit.distribute.processor()`, which recipes record too), and
`record()` appends it to `benchmarks/results/<benchmark>.jsonl` with the
commit, the command and the date: the machine-readable log behind RESULTS.md.

    python benchmarks/machine.py
    # Intel(R) Xeon(R) Processor, 2 cores, bf16: amx_bf16 avx512_bf16
"""

import datetime
import json
import os
import shlex
import subprocess
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def gpu():
    """The NVIDIA GPUs' names and memory (`nvidia-smi`), or None without one."""
    query = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return "; ".join(done.stdout.split("\n")).strip("; ") or None


def describe():
    """`recipekit.distribute.processor()` (`"<CPU model>, <n> cores, bf16:
    <features>"`), then `"; GPU: <name, memory>"` where there is one."""
    from recipekit.distribute import processor  # Keras starts: only when asked

    card = gpu()
    return processor() + (f"; GPU: {card}" if card else "")


def commit(folder=None):
    """The checkout's short commit, `+changes` when files differ from it."""
    folder = folder or os.path.dirname(os.path.abspath(__file__))

    def git(*args):
        done = subprocess.run(["git", "-C", folder, *args], capture_output=True,
                              text=True, check=False)  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "--short", "HEAD")
    if head is None:
        return "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no")
                   else "")  # fmt: skip


def write_json(path, value):
    """Writes `value` to `path` whole or not at all (a temporary file, renamed)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=2)
    os.replace(path + ".tmp", path)


def record(benchmark, measurement, folder=RESULTS, echo=True, path=None):
    """Appends `measurement` (a dict) as one JSON line to
    `folder/<benchmark>.jsonl` (or `path`), with the benchmark, commit, command,
    machine and UTC date; prints the line too when `echo`. Returns the full record."""
    line = {
        "benchmark": benchmark,
        **measurement,
        "commit": commit(),
        "command": shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]]),
        "machine": describe(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
    }
    path = path or os.path.join(folder, f"{benchmark}.jsonl")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(line) + "\n")
    if echo:
        print(json.dumps(line), flush=True)
    return line


if __name__ == "__main__":
    print(describe())
