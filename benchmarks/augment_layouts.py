"""Why the color math picks its layout per backend: both, timed on this one.

The CIFAR policy (pad 4 + crop + flip + color jitter 0.4 + PCA lighting 0.1)
and the jitter alone, compiled with the backend's XLA (`tf.function(
jit_compile=True)` on TensorFlow, `jax.jit` on JAX) on batches of 256 32x32
images, with the color math on the interleaved `(B, H, W, 3)` tensor and on
three planes. A third arm draws the jitter factors elementwise instead of
through the matmul the library uses (the XLA fusion trap it avoids).

    python benchmarks/augment_layouts.py
    KERAS_BACKEND=jax python benchmarks/augment_layouts.py
"""

import argparse
import json
import os
import time

import keras
import numpy as np
from keras import ops

import recipekit
from recipekit import _random
from recipekit.augment import _color, _lighting

BATCH = 256


def compiled(fn):
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(fn), lambda out: out.block_until_ready()
    import tensorflow as tf

    return tf.function(fn, jit_compile=True), lambda out: out.numpy()


def elementwise_jitter(ops, x, brightness, contrast, saturation, key):
    """The factors drawn as three separate elementwise uniforms (no matmul)."""
    batch = x.shape[0]
    factors = [
        _random.uniform(ops, _random.subkey(ops, key, i), (batch,), 1 - s, 1 + s)
        for i, s in enumerate((brightness, contrast, saturation))
    ]
    return _color.adjust_color(ops, x, *factors)


def rate(fn, images, batches, repeats):
    step, sync = compiled(fn)
    sync(step(images, np.array([0, 0], np.int32)))
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(batches):
            out = step(images, np.array([0, i], np.int32))
        sync(out)
        best = max(best, batches * BATCH / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    images = ops.convert_to_tensor(rng.integers(0, 256, (BATCH, 32, 32, 3), np.uint8))
    policies = {
        "full policy": recipekit.augment.cifar_policy(
            brightness=0.4, contrast=0.4, saturation=0.4, lighting=0.1
        ),
        "jitter only": recipekit.augment.cifar_policy(
            padding=0, flip=False, brightness=0.4, contrast=0.4, saturation=0.4
        ),
    }
    arms = [
        ("interleaved", _color._Interleaved, _color.jitter_unit),
        ("planes", _color._Planes, _color.jitter_unit),
        ("library layout, factors drawn elementwise", None, elementwise_jitter),
    ]
    chosen = _color.layout(ops).__class__.__name__.strip("_").lower()
    library_layout, library_jitter = _color.layout, _color.jitter_unit
    for arm, form, jitter in arms:
        _color.layout = _lighting.layout = (
            (lambda ops, form=form: form(ops)) if form else library_layout
        )
        _color.jitter_unit = jitter
        import recipekit.augment._policy as policy_module

        policy_module.jitter_unit = jitter
        for case, policy in policies.items():

            def fn(x, seed, policy=policy):
                return policy.apply(ops, x, _random.make_key(ops, seed))

            images_per_s = rate(fn, images, args.batches, args.repeats)
            print(json.dumps({
                "benchmark": "augment_layouts", "backend": keras.backend.backend(),
                "arm": arm, "case": case, "images_per_s": round(images_per_s),
                "library_layout": chosen, "cpu_cores": os.cpu_count(),
            }), flush=True)  # fmt: skip
    _color.layout = _lighting.layout = library_layout
    _color.jitter_unit = policy_module.jitter_unit = library_jitter


if __name__ == "__main__":
    main()
