"""Training time per epoch: augmentation in tf.data vs on the device (DeviceImages).

Side by side in one process, on the bundled CIFAR-10 sample (5,000 images):
the same network and optimizer trained from a tf.data pipeline that flips and
pad-crops each batch on the host (`recipekit.data.pipeline` with a seeded
batch augmentation), and from `DeviceImages`, which holds the images as a
weight and flips and translates them inside the compiled train step. The two
take turns (`--repeats` rounds); each round fits two epochs and times the
second (the first traces and compiles). Run it once per backend to compare
backends (tf.data feeds Keras's JAX trainer too when TensorFlow is installed).
Prints one JSON object per measurement.

    python benchmarks/augment_placement.py --model fast
    python benchmarks/augment_placement.py --model resnet20 --batch-size 128
    KERAS_BACKEND=jax python benchmarks/augment_placement.py --model fast
"""

import argparse
import json
import os
import time

import keras

import recipekit


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def network(name, mean, std):
    if name == "fast":
        return recipekit.models.fast_cifar_net(10, mean=mean, std=std, seed=0)
    return recipekit.models.cifar_resnet(20, mean=mean, std=std)


def tf_data_fit(net, x, y, args):
    """The host path: tf.data batches, flipped and pad-cropped per batch."""
    import tensorflow as tf

    from recipekit.augment import pad_random_crop, random_flip

    def augment(images, seed):
        images = random_flip(images, seed=seed + 1)
        return pad_random_crop(images, args.translate, seed=seed)

    data = recipekit.data.pipeline(
        tf.data.Dataset.from_tensor_slices((x, y)), args.batch_size, training=True,
        augment=augment, seed=0, epochs=2,
    )  # fmt: skip
    return lambda timer: net.fit(
        data, epochs=2, steps_per_epoch=len(x) // args.batch_size, verbose=0,
        callbacks=[timer],
    )  # fmt: skip


def device_fit(net, x, y, args):
    """The device path: (index, epoch) pairs in, augmentation in the step."""
    images = recipekit.data.DeviceImages(
        len(x), x.shape[1:], images=x, flip="random", translate=args.translate, seed=0
    )
    pairs = keras.Input((2,), dtype="int32")
    model = keras.Model(pairs, net(images(pairs)))
    compile_(model, args)
    positions, inputs = recipekit.data.epoch_indices(len(x), args.batch_size, 2, seed=0)
    return lambda timer: model.fit(
        inputs, y[positions], batch_size=args.batch_size, epochs=2, verbose=0,
        steps_per_epoch=len(x) // args.batch_size, shuffle=False, callbacks=[timer],
    )  # fmt: skip


def compile_(model, args):
    model.compile(
        keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        keras.losses.SparseCategoricalCrossentropy(from_logits=args.model == "fast"),
        jit_compile=args.jit or "auto",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("fast", "resnet20"), default="fast")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--translate", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jit", action="store_true")
    parser.add_argument("--paths", nargs="+", default=["tf.data", "device"])
    args = parser.parse_args()
    x, y, _ = recipekit.data.load_arrays(recipekit.data.SAMPLE, "train")
    mean, std = recipekit.data.channel_stats(x)
    runs = {}
    for path in args.paths:
        keras.utils.set_random_seed(0)
        net = network(args.model, mean, std)
        if path == "tf.data":
            compile_(net, args)
            runs[path] = tf_data_fit(net, x, y, args)
        else:
            runs[path] = device_fit(net, x, y, args)
    times = {path: [] for path in runs}
    for _ in range(args.repeats):
        for path, fit in runs.items():
            timer = EpochTimer()
            fit(timer)
            times[path].append(timer.seconds[1])
    steps = len(x) // args.batch_size
    for path, values in times.items():
        print(
            json.dumps(
                {
                    "benchmark": "augment_placement",
                    "backend": keras.backend.backend(),
                    "model": args.model,
                    "path": path,
                    "batch_size": args.batch_size,
                    "steps": steps,
                    "epoch_s_runs": [round(v, 2) for v in values],
                    "epoch_s_best": round(min(values), 2),
                    "images_per_s": round(steps * args.batch_size / min(values), 1),
                    "cpu_cores": os.cpu_count(),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
