"""Child process of test_mirrored_training_with_ema: EMA on two logical CPUs."""

import json

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import keras  # noqa: E402  (after the device setup)

import recipekit  # noqa: E402

strategy = recipekit.distribute.strategy()
with strategy.scope():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    ema = recipekit.optimizers.EMA(keras.optimizers.SGD(0.1), 0.5, warmup=False)
    model.compile(optimizer=ema, loss="sparse_categorical_crossentropy")
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 3)).astype("float32")
y = (x[:, 0] > 0).astype("int64")


class Record(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.steps = [[np.array(w) for w in self.model.trainable_weights]]

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([np.array(w) for w in self.model.trainable_weights])


record = Record()
model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False, callbacks=[record])
average = [w.astype(np.float64) for w in record.steps[0]]
for weights in record.steps[1:]:
    average = [0.5 * a + 0.5 * w for a, w in zip(average, weights, strict=True)]
error = max(
    float(np.abs(np.array(a) - b).max())
    for a, b in zip(ema.averages, average, strict=True)
)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "error": error}))
