"""The strategy for this machine, and its one-line description."""

import contextlib

import keras

from recipekit.distribute._cluster import (
    _jax_processes,
    _num_workers,
    _start_jax_processes,
    _tpu_address,
    worker,
)
from recipekit.distribute._processor import processor


class KerasDistribution:
    """What `strategy()` returns off TensorFlow: a `scope()` and a replica count.

    On JAX with several devices, local or in other processes (JAX's
    multi-process runtime, joined here when the `KERAS_DISTRIBUTION_*`
    variables name several processes: see `strategy`), creating it sets
    Keras's `keras.distribution.DataParallel` (batches split over the
    devices, weights replicated); `scope()` is then a no-op, as Keras
    distributes by the global setting.
    """

    def __init__(self):
        processes = _jax_processes()
        if processes > 1:
            _start_jax_processes()
        self.devices = _backend_devices()
        self.num_replicas_in_sync = 1
        if keras.backend.backend() != "jax":
            return
        import jax

        if len(jax.devices()) > 1:  # local accelerators, or other processes'
            # Several processes: each feeds its own part of every batch
            # (`fit_data` cuts it), so Keras must not shard again.
            parallel = keras.distribution.DataParallel(
                devices=jax.devices(), auto_shard_dataset=processes == 1
            )
            keras.distribution.set_distribution(parallel)
            self.num_replicas_in_sync = len(jax.devices())

    def scope(self):
        return contextlib.nullcontext()


def _backend_devices():
    """Names of the accelerators Keras's backend sees, or the CPU."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        devices = jax.devices()
        if devices[0].platform != "cpu":
            return [getattr(d, "device_kind", d.platform) for d in devices]
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            count = torch.cuda.device_count()
            return [torch.cuda.get_device_name(i) for i in range(count)]
    return [f"CPU ({processor()})"]


def strategy(tpu=None):
    """Returns the `tf.distribute.Strategy` this machine calls for.

    Build and compile the model inside `strategy().scope()`; `model.fit` then
    splits each batch over the replicas.

    Args:
        tpu: a TPU name or address (`"local"` on a TPU VM); default: detected.

    Returns:
        A `tf.distribute.Strategy` on TensorFlow, else a `KerasDistribution`.

    Examples:

    >>> with recipekit.distribute.strategy().scope():
    ...     model = recipekit.models.cifar_resnet(20)
    ...     model.compile(...)
    """
    if keras.backend.backend() != "tensorflow":
        return KerasDistribution()
    import tensorflow as tf

    address = _tpu_address(tpu)
    if address is not None:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        if address != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if _num_workers() > 1:
        return _multi_worker_mirrored_strategy(tf)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    cpus = tf.config.list_logical_devices("CPU")
    if not gpus and len(cpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in cpus])
    return tf.distribute.get_strategy()


def _multi_worker_mirrored_strategy(tf):
    """TensorFlow's `MultiWorkerMirroredStrategy`, with a `reduce` that Keras 3.15's
    `fit` can use.

    Keras 3.15 reduces a whole `(x, y)` batch in one `strategy.reduce` call
    before training, and the per-step logs with `axis=0` though they are
    scalars; this strategy's `reduce` takes neither (keras-team/keras#20585:
    `fit` under it fails with "Attempt to convert a value (PerReplica ...)"),
    nor uint8 batches (`evaluate` on uint8 images: no collective carries
    uint8). The subclass reduces each value of a nest on its own, scalars
    across the replicas, and 8- and 16-bit values as float32 (exact);
    everything else is TensorFlow's.
    """

    NARROW = (tf.uint8, tf.int8, tf.uint16, tf.int16, tf.bool)  # exact in float32

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            parent = super()

            def one(v):
                local = self.experimental_local_results(v)[0]
                scalar = getattr(getattr(local, "shape", None), "rank", None) == 0
                dtype = getattr(local, "dtype", None)
                if dtype in NARROW:  # collectives carry none of these
                    wide = widen(v)
                    reduced = parent.reduce(reduce_op, wide, None if scalar else axis)
                    return tf.cast(reduced, dtype)
                return parent.reduce(reduce_op, v, None if scalar else axis)

            @tf.function  # strategy.run outside a tf.function warns and is slow
            def widen(v):
                return self.run(lambda t: tf.cast(t, tf.float32), args=(v,))

            return tf.nest.map_structure(one, value)

    return MultiWorkerMirroredStrategy()


def describe(strategy_=None) -> str:
    """One line naming the devices a strategy runs on, for logs and metrics."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        strategy_ = strategy_ or KerasDistribution()
        devices = strategy_.devices
        count = f"{len(devices)}x " if len(devices) > 1 else ""
        return _with_workers(
            f"{count}{devices[0]}, Keras {backend} backend with "
            f"{strategy_.num_replicas_in_sync} replica(s)"
        )
    import tensorflow as tf

    strategy_ = strategy_ or tf.distribute.get_strategy()
    replicas = strategy_.num_replicas_in_sync
    tpus = tf.config.list_logical_devices("TPU")
    gpus = tf.config.list_physical_devices("GPU")
    if tpus:
        device = f"TPU ({len(tpus)} cores)"
    elif gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        device = f"{len(gpus)}x {details.get('device_name', 'GPU')}"
    else:
        device = f"CPU ({processor()})"
    name = type(strategy_).__name__
    if name.startswith("_"):  # TensorFlow's default: no distribution at all
        return _with_workers(f"{device}, one replica (no distribution strategy)")
    return _with_workers(f"{device}, {name} with {replicas} replica(s)")


def _with_workers(line):
    index, count = worker()
    if count > 1:
        line += f" on {count} workers (this is worker {index}"
        line += ", the chief)" if index == 0 else ")"
    return line
