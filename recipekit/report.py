"""What a recipe prints: a header, labelled phases, one summary table, its files.

Keras prints progress bars and per-epoch logs; it has no words for a whole
run. These three functions give every recipe the same shape of output:

    recipekit.report.header("cifar10_resnet", data=..., device=..., ...)
    recipekit.report.phase("evaluating raw weights")
    recipekit.report.summary({"raw": {"none": 0.602}}, wall_s=128.4, ...)
"""

import os
import sys
import time

import keras

__all__ = ["Laps", "fit_verbosity", "header", "phase", "summary", "table"]


def fit_verbosity():
    """`model.fit`'s `verbose` for a run's output: progress bars on a terminal
    (1), one line per epoch where the output goes to a file or a pipe (2, as
    Keras's own `verbose=2`), so a log holds no ANSI progress bars.

    Examples:

    >>> fit_verbosity() in (1, 2)
    True
    """
    return 1 if sys.stdout.isatty() else 2


def header(recipe, *, data, device, epochs, out, resuming=None, **details):
    """Prints the run's header: recipe, data, device, backend, epochs, output.

    Args:
        recipe: the recipe's name.
        data: what it trains on (a TFDS name, a path).
        device: the device description (`recipekit.distribute.describe`).
        epochs: the number of epochs.
        out: the output folder.
        resuming: a last line saying where a resumed run picks up, or None.
        **details: further `label=value` lines (batch size, seed, ...).

    Examples:

    >>> header("demo", data="cifar10_sample", device="CPU (2 cores)", epochs=3,
    ...        out="runs/demo", batch=128)  # doctest: +ELLIPSIS
    recipekit demo
      data     cifar10_sample
      device   CPU (2 cores)
      backend  ... (Keras ...)
      epochs   3
      batch    128
      output   runs/demo/
    <BLANKLINE>
    """
    backend = f"{keras.backend.backend()} (Keras {keras.__version__})"
    rows = {"data": data, "device": device, "backend": backend, "epochs": epochs}
    rows.update(details)
    rows["output"] = os.path.join(out, "")
    print(f"recipekit {recipe}")
    for label, value in rows.items():
        print(f"  {label.replace('_', ' '):<8} {value}")
    if resuming:
        print(f"  {resuming}")
    print(flush=True)


class Laps:
    """Wall seconds of a run's phases: where the time a user waits goes.

    Each `lap(name)` adds the seconds since the previous lap (or since the
    `Laps` was made) to `seconds[name]`; a name lapped twice adds up.

    Examples:

    >>> laps = Laps()
    >>> laps.lap("load")
    >>> laps.lap("train")
    >>> sorted(laps.seconds)
    ['load', 'train']
    """

    def __init__(self):
        self.seconds = {}
        self._last = time.perf_counter()

    def lap(self, name):
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"Argument `name` must be a non-empty string. Received: name={name!r}"
            )
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 2)
        self._last = now


def phase(title):
    """Prints a phase heading (`== title`) before its progress bars.

    Examples:

    >>> phase("evaluating raw weights")
    == evaluating raw weights
    """
    print(f"== {title}", flush=True)


def table(rows, *, corner="", percent=True):
    """Formats `{row: {column: value}}` as an aligned text table.

    Columns are the union of the rows' keys, in first-seen order; a missing
    cell shows "-". Numbers show as percentages with two decimals (`percent`)
    or with four significant digits.

    Examples:

    >>> print(table({"raw": {"none": 0.6015}, "ema": {"none": 0.61, "flip": 0.613}},
    ...             corner="accuracy %"))
    accuracy %   none   flip
    raw         60.15      -
    ema         61.00  61.30
    """
    columns = list(dict.fromkeys(c for cells in rows.values() for c in cells))

    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, str):
            return value
        return f"{100 * value:.2f}" if percent else f"{value:.4g}"

    grid = [[corner, *columns]]
    for name, cells in rows.items():
        grid.append([str(name), *(cell(cells.get(c)) for c in columns)])
    widths = [max(len(line[i]) for line in grid) for i in range(len(columns) + 1)]
    lines = [
        "  ".join(
            [line[0].ljust(widths[0])]
            + [value.rjust(w) for value, w in zip(line[1:], widths[1:], strict=True)]
        )
        for line in grid
    ]
    return "\n".join(line.rstrip() for line in lines)


def summary(rows, *, wall_s, paths, corner="accuracy %", percent=True, note=None):
    """Prints the closing table, the wall time and the files the run wrote.

    Args:
        rows: `{row: {column: value}}` for `table`, e.g. weights x TTA mode.
        wall_s: training wall time in seconds.
        paths: the files and folders written; those that exist are listed.
        corner: the table's top-left label.
        percent: values are fractions shown as percentages.
        note: an optional line under the table.

    Examples:

    >>> summary({"raw": {"none": 0.5}}, wall_s=12.34, paths=[])
    == summary
    accuracy %   none
    raw         50.00
    training wall time 12 s
    """
    phase("summary")
    print(table(rows, corner=corner, percent=percent))
    if note:
        print(note)
    print(f"training wall time {wall_s:.0f} s")
    written = [p for p in paths if os.path.exists(p)]
    if written:
        print("wrote:")
        for path in written:
            print(f"  {os.path.join(path, '') if os.path.isdir(path) else path}")
