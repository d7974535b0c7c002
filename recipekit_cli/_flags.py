"""The flags every recipe shares, and their checks: one place, before Keras."""

import argparse
import dataclasses
import importlib
import inspect
import os
import re
import sys

from recipekit_cli._command import one_line_interrupts
from recipekit_cli._library import intervals

# One home for intervals: the library's bottom module, read without starting
# Keras (see recipekit_cli._library).
in_interval = intervals().in_interval
describe_interval = intervals().describe_interval


def recipe_parser(doc, config, quick=None):
    """An `ArgumentParser` holding only the shared flags, for a script that
    writes its own (the recipes use `config_parser`: every field a flag).

    `--out` (default `config.out`), `--verbose`, and where the recipe's
    `Config` has the field: `--seed`, `--force-resume`; when `quick` says what
    it does, `--quick`.
    """
    fields = config.__dataclass_fields__
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", help=f"output folder (default {config.out})")
    if "seed" in fields:
        parser.add_argument("--seed", type=int, help="random seed (default 0)")
    if "force_resume" in fields:
        parser.add_argument(
            "--force-resume",
            action="store_true",
            default=None,
            help="resume a backup in --out although its settings differ",
        )
    return _common_flags(parser, quick)


def _common_flags(parser, quick):
    """`--quick` (when `quick` says what it does), `--verbose`, `--debug`."""
    if quick:
        parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="keep TensorFlow's start-up log lines; tracebacks on errors",
    )
    parser.add_argument(
        "--debug", action="store_true", help="tracebacks on errors and on Ctrl-C"
    )
    return parser


def _check(parser, flag, value, interval):
    if not in_interval(value, interval):
        name = "--" + flag.replace("_", "-")
        parser.error(f"{name} must be {describe_interval(interval)}, got {value}")


def parse_recipe_args(parser, argv=None, checks=None):
    """Parses and checks the flags; `checks` maps a flag to its interval.

    An interval is written as in mathematics, e.g. `"[0, 1)"` or
    `"(0, inf)"`; a flag outside it (or NaN) ends with a usage error, exit 2.
    The shared flags are checked too: `--seed` in [0, 2**32), `--out` not a
    file. `--verbose` sets `RECIPEKIT_VERBOSE=1`, read by `quiet_start`;
    `--debug` sets `RECIPEKIT_DEBUG=1`, read by `command`. From here on a
    Ctrl-C prints one line with the command that resumes.
    """
    args = parser.parse_args(argv)
    if getattr(args, "verbose", False):
        os.environ["RECIPEKIT_VERBOSE"] = "1"
    if getattr(args, "debug", False):
        os.environ["RECIPEKIT_DEBUG"] = "1"
    one_line_interrupts()
    out = getattr(args, "out", None)
    if out and os.path.exists(out) and not os.path.isdir(out):
        parser.error(f"--out {out!r} is a file; pass a folder")
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed < 2**32:
        parser.error(f"--seed must be in [0, 2**32), got {seed}")
    for flag, interval in (checks or {}).items():
        if getattr(args, flag, None) is not None:
            _check(parser, flag, getattr(args, flag), interval)
    return args


def updated(config, args):
    """`config` with every flag the user gave: each one that is not None
    (a switch gives None when absent: `action="store_true", default=None`)."""
    fields = type(config).__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    return dataclasses.replace(config, **given)


_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:[^=#]*=[^#]*#\s*(.+?)\s*$")


def field_comments(config):
    """`{field: its trailing comment}` from the source of a `Config` dataclass
    (`epochs: int = 10  # airbench94: 9.9`); empty when there is no source."""
    try:
        source = inspect.getsource(config)
    except (OSError, TypeError):
        return {}
    return {m[1]: m[2] for m in map(_FIELD_LINE.match, source.splitlines()) if m}


def config_parser(doc, config, quick=None, choices=None, checks=None):
    """An `ArgumentParser` with one flag per field of a recipe's `Config`.

    The flags are the fields: `batch_size: int = 128  # images per step`
    becomes `--batch-size N`, its help the comment and default. A bool field
    becomes `--name` / `--no-name`; a tuple of values `--name A B ...`; a
    field whose values are not plain (a tuple of pairs) is not a flag.
    `choices` maps a field to its allowed values; `checks` to its interval
    (shown in the help, enforced by `parse_recipe_args`). Every flag defaults
    to None, so `updated` changes only what the user gave. `--quick` (when
    `quick` says what it does), `--verbose` and `--debug` come too.
    """
    choices, checks = choices or {}, checks or {}
    comments = field_comments(config)
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for field in dataclasses.fields(config):
        default, flag = field.default, "--" + field.name.replace("_", "-")
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        parts = [comments.get(field.name), f"default: {shown}"]
        if field.name in checks:
            parts.append(describe_interval(checks[field.name]))
        text = "; ".join(p for p in parts if p).replace("%", "%%")  # argparse's %
        options = {"default": None, "help": text}
        if field.name in choices:
            options["choices"] = choices[field.name]
        if isinstance(default, bool):
            options["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, tuple):
            kinds = {type(value) for value in default}
            if not kinds <= {str, int, float} or len(kinds) > 1:
                continue  # not a flag: set it in the Config
            options.update(nargs="+", type=kinds.pop() if kinds else str)
        else:
            options["type"] = type(default)
        parser.add_argument(flag, **options)
    return _common_flags(parser, quick)


class _Deferred:
    """A module imported on first use (see `deferred`)."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self):
        return f"<module {self._name!r}, imported on first use>"


def deferred(*names):
    """The modules `names`, each imported when it is first used.

    A recipe names Keras and recipekit at its top, as any script does, yet
    `--help` and a bad flag answer before either loads, and `quiet_start` runs
    before Keras starts: `keras, recipekit = recipekit_cli.deferred("keras",
    "recipekit")`. A module already imported is returned as it is.
    """
    return tuple(sys.modules.get(name) or _Deferred(name) for name in names)
