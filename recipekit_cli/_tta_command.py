"""`recipekit-tta`: score a saved Keras classifier with test-time augmentation.

The flags are parsed in `recipekit_cli._tta` (before Keras starts); this runs
them, importing Keras and recipekit inside its functions.

recipekit-tta runs/cifar10_resnet/model.keras --data cifar10_sample
recipekit-tta model.keras --data path/to/cifar10.tar.gz --json
"""

import json
import time
import zipfile
import zlib

from recipekit_cli._tta import parse_tta


def run(argv=None):
    """Parses `argv`, evaluates, prints, and returns the report as a dict."""
    return evaluate(parse_tta(argv))


def evaluate(args):
    """Loads, scores and prints; returns the report as a dict."""
    import keras
    import numpy as np

    import recipekit

    model = _load(keras, args.model)
    images, labels, class_names = recipekit.data.load_arrays(args.data, args.split)
    trained = trained_classes(args.model)
    if trained is not None and trained != list(class_names):
        raise ValueError(
            f"The model {args.model!r} was trained on the classes {trained} (its "
            f"run's metrics.json), but {args.data!r} has {list(class_names)}: "
            "the labels would mean other classes. Score it on data with the same "
            "classes in the same order."
        )
    image_size = images.shape[1:3]
    model_size = tuple(model.input_shape[1:3])
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(
            f"The model {args.model!r} predicts {outputs} classes, but "
            f"{args.data!r} [{args.split or 'all'}] has {len(class_names)}: it was "
            "trained on other data. Score it on the data it was trained for."
        )
    pad = args.pad
    if pad == "auto":
        pad = max(1, image_size[0] // 8) if image_size == model_size else 0
    verbose = 0 if args.json else "auto"  # bars on a terminal only
    rows = []
    for mode in args.modes:
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
        shown = args.split or "all"
        print(f"{args.model} on {args.data} [{shown}], {len(labels)} images")
        print(f"{'mode':<10}{'accuracy':>10}{'seconds':>10}{'images/s':>10}")
        for row in rows:
            print(
                f"{row['mode']:<10}{row['accuracy']:>10.4f}{row['seconds']:>10.2f}"
                f"{row['images_per_s']:>10.1f}"
            )
    return report


def trained_classes(model_path):
    """The class names a recipe's run saved beside its model (`metrics.json`
    in the model's folder), or None when there are none."""
    import os

    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "metrics.json")
    try:
        with open(path) as f:
            names = json.load(f).get("class_names")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None


def check_keras_file(path):
    """Refuses a `.keras` file that is damaged, not a Keras model, or declares
    a member larger than `RECIPEKIT_MAX_FILE_BYTES`, before Keras reads it."""
    from recipekit._limits import max_file_bytes

    damaged = (zipfile.BadZipFile, zlib.error, EOFError)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if "config.json" not in {info.filename for info in infos}:
                raise ValueError(
                    f"{path!r} is a zip archive but not a Keras model file (it has "
                    "no config.json). Save the model with model.save('model.keras')."
                )
            for info in infos:
                if info.file_size > max_file_bytes():
                    raise ValueError(
                        f"{path!r}: its member {info.filename!r} declares "
                        f"{info.file_size / 2**20:,.0f} MB, more than recipekit "
                        f"reads from one file ({max_file_bytes() / 2**20:,.0f} MB, "
                        "RECIPEKIT_MAX_FILE_BYTES). Raise the limit only for a "
                        "model file you trust."
                    )
            bad = archive.testzip()  # every member's CRC-32
    except damaged as error:
        raise ValueError(
            f"{path!r} is damaged or truncated ({error}). Save or copy the model again."
        ) from None
    if bad is not None:
        raise ValueError(
            f"{path!r} is damaged: its member {bad!r} fails its checksum "
            "(CRC-32). Save or copy the model again."
        )


def _load(keras, path):
    """The model, or one line saying why it was refused."""
    check_keras_file(path)
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as error:
        raise ValueError(
            f"{path!r} cannot be loaded: it is damaged or not a Keras model file "
            f"({type(error).__name__}: {error}). Save or copy it again."
        ) from None
    except ValueError as error:
        text = str(error)
        if "safe_mode" in text or "Lambda" in text or "lambda" in text:
            raise ValueError(
                f"{path!r} was refused: it holds Python code (a Lambda layer or a "
                "function) that safe mode does not run. Load it with "
                "keras.saving.load_model(..., safe_mode=False) only if you trust "
                "whoever wrote it."
            ) from None
        raise ValueError(
            f"{path!r} cannot be loaded: {text.splitlines()[0]}"
        ) from error
