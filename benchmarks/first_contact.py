"""What a new user waits for and reads before a recipe starts (issue 16).

For each recipe: the wall time of `python recipes/<name>.py --help` (a fresh
interpreter each time, median of `--rounds`), and whether Keras was imported.
Then the lines `import recipekit` writes to stderr, quiet (the default) and
with `RECIPEKIT_VERBOSE=1` (what TensorFlow prints unfiltered). One JSON line
each, then a Markdown table.

    python benchmarks/first_contact.py --rounds 5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPES = os.path.join(HERE, "..", "recipes")


def help_seconds(path, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, path, "--help"], capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        assert done.returncode == 0 and done.stdout.startswith("usage:"), done.stderr
    return statistics.median(times), max(times)


def stderr_lines(verbose):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["RECIPEKIT_VERBOSE"] = "1" if verbose else ""
    code = "import recipekit, keras; keras.utils.set_random_seed(0)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    return done.stderr.splitlines()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for name in sorted(n for n in os.listdir(RECIPES) if n.endswith(".py")):
        median, worst = help_seconds(os.path.join(RECIPES, name), args.rounds)
        row = {"recipe": name, "help_median_s": round(median, 3),
               "help_max_s": round(worst, 3)}  # fmt: skip
        print(json.dumps(row))
        rows.append(row)
    quiet, loud = stderr_lines(False), stderr_lines(True)
    print(json.dumps({"stderr_lines_quiet": len(quiet), "stderr_lines_verbose":
                      len(loud), "quiet": quiet}))  # fmt: skip
    print("\n| recipe | `--help` median s | max s |\n|---|---|---|")
    for row in rows:
        print(f"| {row['recipe']} | {row['help_median_s']} | {row['help_max_s']} |")
    print(f"\n`import recipekit`: {len(quiet)} stderr lines (verbose: {len(loud)})")


if __name__ == "__main__":
    main()
