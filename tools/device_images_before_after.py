"""Before/after check of DeviceImages' training call (a hot path, TensorFlow).

The layer at an earlier commit beside the current one: the same 50,000 images
and 1,024 inputs, outputs asserted equal, 5 rounds of 20 calls each, alternating.

    git show c4db9ea:recipekit/data/_device_images.py > /tmp/old_di.py
    python tools/device_images_before_after.py /tmp/old_di.py
"""

import importlib.util
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from recipekit.data import DeviceImages


def main(old_path):
    source = open(old_path).read().replace('package="recipekit"', 'package="old"')
    spec = importlib.util.spec_from_loader("old_device_images", loader=None)
    old = importlib.util.module_from_spec(spec)
    exec(compile(source, old_path, "exec"), old.__dict__)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50000, 32, 32, 3), dtype=np.uint8)
    inputs = np.stack([rng.permutation(50000)[:1024], np.full(1024, 3)], 1)
    inputs = inputs.astype("int32")
    layers = {
        f"before ({old_path})": old.DeviceImages(50000, (32, 32, 3), images=x, seed=0),
        "after": DeviceImages(50000, (32, 32, 3), images=x, seed=0),
    }
    calls = {
        name: tf.function(lambda i, layer=layer: layer(i, training=True))
        for name, layer in layers.items()
    }
    first, second = (call(inputs).numpy() for call in calls.values())
    assert np.array_equal(first, second), "the two layers give different images"
    times = {name: [] for name in calls}
    for _ in range(5):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(20):
                call(inputs).numpy()
            times[name].append((time.perf_counter() - start) / 20 * 1000)
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    for name, ms in times.items():
        rounds = ", ".join(f"{t:.2f}" for t in ms)
        print(f"{name}: median {np.median(ms):.2f} ms per batch of 1024 ({rounds})")


if __name__ == "__main__":
    main(sys.argv[1])
