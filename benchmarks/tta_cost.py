"""Cost of test-time augmentation as a ratio of plain evaluation.

The same ResNet-20 and the same test images: plain `model.predict`, then
`predict_tta` with mode none, flip and ten_crop (pad 4), each the best of
`--repeats` timed runs after a warm-up. Prints one JSON object per measurement.

    python benchmarks/tta_cost.py [--model runs/quick/model.keras] [--images 2000]
"""

import argparse
import json
import os
import time

import keras

import recipekit


def best_time(run, repeats):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help=".keras model; default: a fresh ResNet-20")
    parser.add_argument("--data", default=recipekit.data.SAMPLE)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.model:
        model = keras.saving.load_model(args.model, safe_mode=True, compile=False)
    else:
        model = recipekit.models.cifar_resnet(20, mean=[125.0] * 3, std=[63.0] * 3)
    x, _, _ = recipekit.data.load_arrays(args.data, "test")
    x = x[: args.images].astype("float32")
    plain = best_time(
        lambda: model.predict(x, batch_size=args.batch_size, verbose=0), args.repeats
    )
    print(
        json.dumps(
            {
                "benchmark": "tta_cost",
                "mode": "model.predict",
                "seconds": round(plain, 3),
                "images": len(x),
                "cpu_cores": os.cpu_count(),
            }
        )
    )
    for mode in ("none", "flip", "ten_crop"):
        seconds = best_time(
            lambda mode=mode: recipekit.evaluate.predict_tta(
                model, x, mode, pad=4, batch_size=args.batch_size, verbose=0
            ),
            args.repeats,
        )
        print(
            json.dumps(
                {
                    "benchmark": "tta_cost",
                    "mode": mode,
                    "seconds": round(seconds, 3),
                    "ratio_to_plain_predict": round(seconds / plain, 2),
                    "images": len(x),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
