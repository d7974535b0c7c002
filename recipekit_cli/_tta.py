"""`recipekit-tta`: flags parsed here, before Keras is imported.

`recipekit-tta --help` (and a bad flag) answers at once; only a real run
imports Keras and recipekit. Errors a user can fix print one line and exit
with status 2; `--verbose` shows the traceback.
"""

import argparse
import os
import sys
import zipfile

from recipekit_cli._library import tta_modes

TTA_MODES = tta_modes().MODES  # recipekit.evaluate.MODES, without starting Keras


def parse_tta(argv=None):
    """The flags of `recipekit-tta`, checked."""
    parser = argparse.ArgumentParser(
        prog="recipekit-tta",
        description="Accuracy of a saved .keras classifier with test-time "
        "augmentation (none, flip, flip_translate, ten_crop).",
    )
    parser.add_argument("model", help="a .keras file (loaded with safe_mode=True)")
    parser.add_argument(
        "--data",
        required=True,
        help="TFDS name (cifar10), folder, archive, .npz, or cifar10_sample (the "
        "5,000-image CIFAR-10 sample recipekit bundles)",
    )
    parser.add_argument(
        "--split",
        default="test",
        help="split to score (default test); 'all' for a folder, archive or .npz "
        "without splits (x, y)",
    )
    parser.add_argument(
        "--modes",
        default="none,flip,ten_crop",
        help="comma-separated modes (default none,flip,ten_crop)",
    )
    parser.add_argument(
        "--pad",
        default="auto",
        help="padding before ten_crop; 'auto' (default): 1/8 of the image side "
        "when the images have the model's size (4 for CIFAR), else 0",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="images per call")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--verbose", action="store_true", help="start-up log lines; tracebacks"
    )
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in TTA_MODES]
    if bad or not modes:
        parser.error(
            f"--modes must be a comma-separated subset of {','.join(TTA_MODES)}"
        )
    args.modes = modes
    if args.split.lower() in ("all", "none"):
        args.split = None  # the source has no splits: all of it
    if args.pad != "auto":
        try:
            args.pad = int(args.pad)
        except ValueError:
            parser.error(f"--pad must be 'auto' or an integer >= 0, got {args.pad!r}")
        if args.pad < 0:
            parser.error(f"--pad must be >= 0, got {args.pad}")
    if args.batch_size < 1:
        parser.error("--batch-size must be >= 1")
    if not os.path.isfile(args.model):
        parser.error(f"no model file {args.model!r}")
    if not zipfile.is_zipfile(args.model):
        with open(args.model, "rb") as f:
            starts_like_a_zip = f.read(4) == b"PK\x03\x04"
        if starts_like_a_zip:
            parser.error(
                f"{args.model!r} is damaged or truncated (a zip archive without its "
                "directory); save or copy the model again"
            )
        parser.error(
            f"{args.model!r} is not a Keras .keras file (those are zip archives); "
            "save the model with model.save('model.keras')"
        )
    return args


def tta(argv=None):
    """`recipekit-tta`: returns the exit status."""
    args = parse_tta(argv)
    if args.verbose:
        os.environ["RECIPEKIT_VERBOSE"] = "1"
    if args.debug:
        os.environ["RECIPEKIT_DEBUG"] = "1"
    from recipekit_cli._command import one_line_interrupts

    one_line_interrupts()
    from recipekit_cli._startup import quiet_start

    quiet_start()  # Keras starts here, quietly
    if "tensorflow" in sys.modules and not args.verbose:
        # Each mode is a model of its own, so TensorFlow warns that its
        # predict function retraced: true, expected, and nothing to act on.
        sys.modules["tensorflow"].get_logger().setLevel("ERROR")
    from recipekit_cli import _tta_command as _command
    from recipekit_cli._command import command

    command(_command.evaluate, args)
    return 0
