"""`recipekit-tta`: score a saved Keras classifier with test-time augmentation.

recipekit-tta runs/cifar10_resnet/model.keras --data cifar10_sample
recipekit-tta model.keras --data ../shared/data/cifar10-jpeg.tar.gz --json
"""

import argparse
import json
import os
import sys
import time
import zipfile

from recipekit.evaluate._tta import MODES


def _parse(argv):
    parser = argparse.ArgumentParser(
        prog="recipekit-tta",
        description="Accuracy of a saved .keras classifier with test-time "
        "augmentation (none, flip, ten_crop).",
    )
    parser.add_argument("model", help="a .keras file (loaded with safe_mode=True)")
    parser.add_argument(
        "--data", required=True, help="TFDS name, folder, archive, .npz"
    )
    parser.add_argument("--split", default="test", help="split to score (default test)")
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
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        parser.error(f"--modes must be a comma-separated subset of {','.join(MODES)}")
    args.modes = modes
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
        parser.error(
            f"{args.model!r} is not a Keras .keras file (those are zip archives); "
            "save the model with model.save('model.keras')"
        )
    return args


def main(argv=None):
    """Console entry point; returns the exit status."""
    run(argv)
    return 0


def run(argv=None):
    """Parses `argv`, evaluates, prints, and returns the report as a dict."""
    args = _parse(argv)
    import keras
    import numpy as np

    import recipekit

    model = keras.saving.load_model(args.model, safe_mode=True, compile=False)
    images, labels, class_names = recipekit.data.load_arrays(args.data, args.split)
    image_size = images.shape[1:3]
    model_size = tuple(model.input_shape[1:3])
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(
            f"The model {args.model!r} predicts {outputs} classes, but "
            f"{args.data!r} [{args.split}] has {len(class_names)}: it was trained "
            "on other data. Score it on the data it was trained for."
        )
    pad = args.pad
    if pad == "auto":
        pad = max(1, image_size[0] // 8) if image_size == model_size else 0
    verbose = 0 if args.json else 1
    rows = []
    for mode in args.modes:
        if not args.json:
            print(f"{mode}:", flush=True)
        start = time.perf_counter()
        probs = recipekit.evaluate.predict_tta(
            model, images, mode, pad=pad, batch_size=args.batch_size, verbose=verbose
        )
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(probs.argmax(1) == labels))
        rows.append(
            {
                "mode": mode,
                "accuracy": round(accuracy, 4),
                "seconds": round(seconds, 2),
                "images_per_s": round(len(labels) / seconds, 1),
            }
        )
    report = {
        "model": args.model,
        "data": args.data,
        "split": args.split,
        "images": int(len(labels)),
        "pad": pad,
        "results": rows,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"\n{args.model} on {args.data} [{args.split}], {len(labels)} images")
        print(f"{'mode':<10}{'accuracy':>10}{'seconds':>10}{'images/s':>10}")
        for row in rows:
            print(
                f"{row['mode']:<10}{row['accuracy']:>10.4f}{row['seconds']:>10.2f}"
                f"{row['images_per_s']:>10.1f}"
            )
    return report


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
