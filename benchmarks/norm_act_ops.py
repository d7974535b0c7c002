"""BatchNorm + GELU, forward and backward, op by op: Keras's layers vs BatchNormAct.

On the fast CIFAR net's activation shapes at batch 2000 (TensorFlow's fused
kernel takes BatchNormAct's NHWC training path; in bfloat16 only at channel
counts that are multiples of 16, so 31x31x24 shows the portable path), each
in one `tf.function` with its gradient, the median of `--repeats` runs after
a warm-up. One JSON line per shape and arm, then the ratio.

    python benchmarks/norm_act_ops.py --precision mixed_bfloat16
"""

import argparse
import json
import statistics
import time

import recipekit_cli

SHAPES = [(15, 15, 64), (7, 7, 256), (3, 3, 256), (31, 31, 24)]


def forward_backward(layers, weights):
    """x -> the gradients of sum(layers(x)) for x and the weights (a closure:
    as `tf.function` arguments the variables would become copies)."""
    import tensorflow as tf

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x
            for layer in layers:
                y = layer(y, training=True)
            total = tf.reduce_sum(tf.cast(y, "float32"))
        return tape.gradient(total, [x, *weights])

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    recipekit_cli.quiet_start()
    import keras
    import tensorflow as tf

    import recipekit

    keras.mixed_precision.set_global_policy(args.precision)
    dtype = keras.mixed_precision.global_policy().compute_dtype

    def arms():
        yield (
            "BatchNormalization + Activation('gelu')",
            [
                keras.layers.BatchNormalization(
                    momentum=0.6, epsilon=1e-12, scale=False
                ),
                keras.layers.Activation("gelu"),
            ],
        )
        yield (
            "BatchNormAct('gelu')",
            [
                recipekit.layers.BatchNormAct(
                    "gelu", momentum=0.6, epsilon=1e-12, scale=False
                )
            ],
        )

    for shape in SHAPES:
        x = tf.cast(tf.random.normal((args.batch, *shape), seed=0), dtype)
        times = {}
        for name, layers in arms():
            for layer in layers:
                layer.build(x.shape)
            weights = [w for layer in layers for w in layer.trainable_weights]

            step = tf.function(forward_backward(layers, weights))

            [g.numpy() for g in step(x)]  # trace and warm up
            runs = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                [g.numpy() for g in step(x)]
                runs.append(time.perf_counter() - start)
            times[name] = statistics.median(runs)
            print(json.dumps({"shape": shape, "arm": name, "precision": args.precision,
                              "forward_backward_ms": round(1000 * times[name], 1)}),
                  flush=True)  # fmt: skip
        keras_s, ours_s = times.values()
        print(
            json.dumps(
                {"shape": shape, "BatchNormAct / Keras": round(ours_s / keras_s, 3)}
            )
        )


if __name__ == "__main__":
    main()
