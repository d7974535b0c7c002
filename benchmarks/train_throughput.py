"""CIFAR ResNet `model.fit` images/s: the recipe's pipeline vs pre-loaded tensors.

Both runs train the same model for the same number of steps. The "pre-loaded" run
feeds batches that are already float32 tensors in memory (no shuffle, no
augmentation, no cast), so the ratio is what the input pipeline costs. Prints one
JSON object per measurement.

    python benchmarks/train_throughput.py [--steps 100] [--depth 20]
"""

import argparse
import json
import os
import time

import keras
import tensorflow as tf

import recipekit


def build_model(depth):
    model = recipekit.models.cifar_resnet(depth, mean=[125.0] * 3, std=[63.0] * 3)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def images_per_s(model, dataset, steps, batch_size, warmup):
    model.fit(dataset, epochs=1, steps_per_epoch=warmup, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    return steps * batch_size / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=recipekit.data.SAMPLE)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depth", type=int, default=20, help="ResNet depth")
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    raw, _ = recipekit.data.load(args.data, split="train")
    recipe = recipekit.data.pipeline(
        raw,
        args.batch_size,
        training=True,
        augment=recipekit.augment.cifar_policy(),
        seed=0,
    ).repeat()
    batches = list(recipe.take(20))
    preloaded = (
        tf.data.Dataset.from_tensor_slices(
            (
                tf.stack([x for x, _ in batches]),
                tf.stack([y for _, y in batches]),
            )
        )
        .cache()
        .repeat()
        .prefetch(2)
    )
    # The pipeline alone, without a model: how many images/s can it feed?
    start = time.perf_counter()
    for _ in recipe.take(200):
        pass
    feed = 200 * args.batch_size / (time.perf_counter() - start)
    print(json.dumps({"benchmark": "input_pipeline_only", "images_per_s": round(feed)}))
    results = {"pipeline": [], "preloaded": []}
    model = build_model(args.depth)
    warmup = 10
    for _ in range(args.repeats):  # Interleaved, so drift hits both alike.
        for name, dataset in (("pipeline", recipe), ("preloaded", preloaded)):
            results[name].append(
                images_per_s(model, dataset, args.steps, args.batch_size, warmup)
            )
    best = {name: max(values) for name, values in results.items()}
    for name, values in results.items():
        print(
            json.dumps(
                {
                    "benchmark": "train_throughput",
                    "input": name,
                    "model": f"resnet{args.depth}",
                    "batch_size": args.batch_size,
                    "steps": args.steps,
                    "images_per_s_runs": [round(v, 1) for v in values],
                    "images_per_s_best": round(best[name], 1),
                    "cpu_cores": os.cpu_count(),
                }
            )
        )
    overhead = best["preloaded"] / best["pipeline"] - 1
    print(
        json.dumps(
            {
                "benchmark": "input_pipeline_overhead",
                "step_time_ratio_pipeline_vs_preloaded": round(1 + overhead, 4),
                "overhead_percent": round(100 * overhead, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
