"""One 3x3 convolution, forward and backward, on TensorFlow and on JAX (CPU).

Isolates where JAX's train step loses to TensorFlow's on a CPU: the same
convolution (batch 256, 16x16, 128 -> 128 channels, float32) through each
backend's own compiled function: TensorFlow's (oneDNN kernels) and XLA:CPU's,
forward, the input gradient, the kernel gradient, and both. Each backend runs
in its own process, taking turns `--rounds` times; best of 5 calls.

    python benchmarks/conv_backends.py
"""

import argparse
import json
import os
import subprocess
import sys
import time


def worker():
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 16, 16, 128)).astype("float32")
    k = (rng.normal(size=(3, 3, 128, 128)) * 0.05).astype("float32")
    if keras.backend.backend() == "jax":
        import jax

        def conv(k, x):
            return jax.lax.conv_general_dilated(
                x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            )

        def loss(k, x):
            return (conv(k, x) ** 2).mean()

        fns = {
            "forward": jax.jit(conv),
            "input_gradient": jax.jit(jax.grad(loss, argnums=1)),
            "kernel_gradient": jax.jit(jax.grad(loss, argnums=0)),
            "both_gradients": jax.jit(jax.grad(loss, argnums=(0, 1))),
        }
        k, x = jax.device_put(k), jax.device_put(x)

        def call(name):
            jax.block_until_ready(fns[name](k, x))

    else:
        import tensorflow as tf

        k, x = tf.constant(k), tf.constant(x)

        def grads(wrt):
            @tf.function
            def fn():
                with tf.GradientTape() as tape:
                    tape.watch([k, x])
                    out = tf.reduce_mean(tf.nn.conv2d(x, k, 1, "SAME") ** 2)
                return tape.gradient(out, wrt)

            return fn

        fns = {
            "forward": tf.function(lambda: tf.nn.conv2d(x, k, 1, "SAME")),
            "input_gradient": grads(x),
            "kernel_gradient": grads(k),
            "both_gradients": grads([k, x]),
        }

        def call(name):
            tf.nest.map_structure(lambda t: t.numpy(), fns[name]())

    seconds = {}
    for name in fns:
        call(name)
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            call(name)
            runs.append(time.perf_counter() - start)
        seconds[name] = min(runs)
    print(json.dumps(seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()
    best = {}
    for _ in range(args.rounds):
        for backend in ("tensorflow", "jax"):
            env = {**os.environ, "KERAS_BACKEND": backend}
            result = subprocess.run(
                [sys.executable, __file__, "--worker"],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            for name, s in json.loads(result.stdout.strip().splitlines()[-1]).items():
                key = (backend, name)
                best[key] = min(best.get(key, s), s)
    for name in ("forward", "input_gradient", "kernel_gradient", "both_gradients"):
        tf_s, jax_s = best[("tensorflow", name)], best[("jax", name)]
        print(json.dumps({
            "benchmark": "conv_backends", "part": name,
            "tensorflow_s": round(tf_s, 4), "jax_s": round(jax_s, 4),
            "jax_over_tensorflow": round(jax_s / tf_s, 2), "cpu_cores": os.cpu_count(),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
