"""Child process of test_rate_factors_under_mirrored_strategy: two logical CPUs."""

import json

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import keras  # noqa: E402  (after the device setup)

import recipekit  # noqa: E402


def train(factor, strategy):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(1)]
        )
        optimizer = keras.optimizers.SGD(0.05)
        if factor is not None:
            optimizer = recipekit.optimizers.RateFactors(optimizer, {"a/": factor})
        model.compile(optimizer, "mse")
    start = [np.array(w) for w in model.get_layer("a").get_weights()]
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    model.fit(x, x.sum(1), batch_size=8, epochs=1, verbose=0, shuffle=False)
    end = model.get_layer("a").get_weights()
    return max(float(np.abs(a - b).max()) for a, b in zip(start, end, strict=True))


strategy = recipekit.distribute.strategy()
print(
    json.dumps(
        {
            "replicas": strategy.num_replicas_in_sync,
            "frozen_change": train(0.0, strategy),
            "plain_change": train(None, strategy),
        }
    )
)
