"""Images/s of the same CIFAR augmentation, side by side in one run.

The policy: pad 4 (reflect) + random 32x32 crop + horizontal flip + color jitter
(brightness, contrast, saturation 0.4) + PCA lighting (alpha_std 0.1).

- recipekit: `cifar_policy(...)` mapped once per batch of 256 in tf.data, compiled
  with XLA (the default) and with `jit_compile=False`;
- albumentations, one process: `PadIfNeeded + RandomCrop + HorizontalFlip +
  ColorJitter + FancyPCA`, image by image in a Python loop;
- albumentations via `recipekit.augment.albumentations_map` (parallel tf.data);
- Keras layers for the subset they cover (translation with reflect fill, flip,
  `RandomColorJitter`; Keras has no padded per-image crop nor PCA lighting),
  compared with recipekit's policy without lighting.

Each case is timed over full passes of the data after one warm-up pass; the best
of `--repeats` is reported. Prints one JSON object per measurement.

    python benchmarks/augment_throughput.py [--images 10000] [--repeats 3]
"""

import argparse
import json
import os
import time

import albumentations as A
import cv2
import keras
import tensorflow as tf

import recipekit

BATCH = 256


def best_rate(run, count, repeats):
    run()  # Warm-up (tracing, caches).
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = max(best, count / (time.perf_counter() - start))
    return best


def drain(dataset):
    def run():
        for _ in dataset:
            pass

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/cifar10-jpeg.tar.gz")
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x, _, _ = recipekit.data.load_arrays(args.data, "train")
    x = x[: args.images]
    n = len(x)
    pca = recipekit.augment.fit_pca_lighting(x)
    images = tf.data.Dataset.from_tensor_slices(x).cache()
    drain(images)()

    full = recipekit.augment.cifar_policy(
        brightness=0.4, contrast=0.4, saturation=0.4, lighting=0.1, pca=pca
    )
    no_lighting = recipekit.augment.cifar_policy(
        brightness=0.4, contrast=0.4, saturation=0.4
    )
    uncompiled = recipekit.augment.cifar_policy(
        brightness=0.4, contrast=0.4, saturation=0.4, lighting=0.1, pca=pca,
        jit_compile=False,
    )  # fmt: skip

    def batched(policy):
        return images.batch(BATCH).map(policy, num_parallel_calls=tf.data.AUTOTUNE)

    album = A.Compose(
        [
            A.PadIfNeeded(40, 40, border_mode=cv2.BORDER_REFLECT_101),
            A.RandomCrop(32, 32),
            A.HorizontalFlip(),
            A.ColorJitter(0.4, 0.4, 0.4, 0.0, p=1.0),
            A.FancyPCA(alpha=0.1, p=1.0),
        ]
    )

    def album_loop():
        for image in x:
            album(image=image)

    keras_layers = keras.layers.Pipeline(
        [
            keras.layers.RandomTranslation(4 / 32, 4 / 32, fill_mode="reflect"),
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomColorJitter(
                value_range=(0, 255),
                brightness_factor=0.4,
                contrast_factor=0.4,
                saturation_factor=0.4,
            ),
        ]
    )
    keras_ds = images.batch(BATCH).map(
        lambda b: keras_layers(tf.cast(b, tf.float32)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    cases = [
        ("recipekit cifar_policy, batched tf.data (full policy)", drain(batched(full))),
        ("albumentations per image, one process (full policy)", album_loop),
        (
            "recipekit cifar_policy, jit_compile=False (full policy)",
            drain(batched(uncompiled)),
        ),  # fmt: skip
        (
            "albumentations via albumentations_map, tf.data (full policy)",
            drain(
                images.apply(recipekit.augment.albumentations_map(album)).batch(BATCH)
            ),
        ),
        (
            "recipekit cifar_policy without lighting (Keras subset)",
            drain(batched(no_lighting)),
        ),
        ("Keras layers: translate+flip+RandomColorJitter (subset)", drain(keras_ds)),
    ]
    rates = {}
    for name, run in cases:
        rates[name] = best_rate(run, n, args.repeats)
        print(
            json.dumps(
                {
                    "benchmark": "augment_throughput",
                    "case": name,
                    "images": n,
                    "images_per_s": round(rates[name]),
                    "cpu_cores": os.cpu_count(),
                }
            ),
            flush=True,
        )
    full, album, plain, album_map, subset, keras_subset = (
        rates[name] for name, _ in cases
    )
    ratios = {
        "recipekit_vs_albumentations_per_image": full / album,
        "recipekit_vs_uncompiled_recipekit": full / plain,
        "recipekit_vs_albumentations_map": full / album_map,
        "recipekit_vs_keras_layers_subset": subset / keras_subset,
    }
    ratios = {key: round(value, 1) for key, value in ratios.items()}
    print(json.dumps({"benchmark": "augment_throughput_ratios", **ratios}))


if __name__ == "__main__":
    main()
