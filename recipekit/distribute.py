"""Picks the engine for the machine a recipe runs on: `tf.distribute` or Keras's own.

No home-made distribution. On Keras's JAX backend: `keras.distribution`'s
`DataParallel` over all local devices when there are several, else nothing (see
`KerasDistribution`); on PyTorch, one device. On TensorFlow, its own
strategies, chosen in this order:

1. `TPUStrategy` when a TPU is reachable (`tpu=` given, `TPU_NAME` or
   `COLAB_TPU_ADDR` set, or a TPU VM's `/dev/accel0`);
2. `MultiWorkerMirroredStrategy` when `TF_CONFIG` names more than one worker;
3. `MirroredStrategy` over the GPUs when there are several, or over the logical
   CPUs when the CPU has been split into several (used by the tests);
4. otherwise the default strategy (one device).
"""

import contextlib
import json
import os

import keras


class KerasDistribution:
    """What `strategy()` returns off TensorFlow: a `scope()` and a replica count.

    On JAX with several local devices, creating it sets Keras's
    `keras.distribution.DataParallel` (batches split over the devices, weights
    replicated); `scope()` is then a no-op, as Keras distributes by the global
    setting.
    """

    def __init__(self):
        self.devices = _backend_devices()
        self.num_replicas_in_sync = 1
        if keras.backend.backend() == "jax" and len(self.devices) > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel())
            self.num_replicas_in_sync = len(self.devices)

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
    return [f"CPU ({os.cpu_count()} cores)"]


def _tpu_address(tpu):
    if tpu is not None:
        return tpu
    for name in ("TPU_NAME", "COLAB_TPU_ADDR"):
        if os.environ.get(name):
            return os.environ[name]
    if os.path.exists("/dev/accel0"):
        return "local"
    return None


def _num_workers():
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster = config.get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def strategy(tpu=None):
    """Returns the `tf.distribute.Strategy` this machine calls for.

    Build and compile the model inside `strategy().scope()`; `model.fit` then
    splits each batch over the replicas.

    Args:
        tpu: a TPU name or address (`"local"` on a TPU VM); default: detected.

    Returns:
        A `tf.distribute.Strategy` on TensorFlow, else a `KerasDistribution`.

    Example:

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
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in gpus])
    cpus = tf.config.list_logical_devices("CPU")
    if not gpus and len(cpus) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in cpus])
    return tf.distribute.get_strategy()


def describe(strategy_=None) -> str:
    """One line naming the devices a strategy runs on, for logs and metrics."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        strategy_ = strategy_ or KerasDistribution()
        devices = strategy_.devices
        count = f"{len(devices)}x " if len(devices) > 1 else ""
        return (
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
        device = f"CPU ({os.cpu_count()} cores)"
    return f"{device}, {type(strategy_).__name__} with {replicas} replica(s)"
