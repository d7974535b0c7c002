"""Picks the `tf.distribute` strategy for the machine a recipe runs on.

No home-made distribution: TensorFlow's own strategies, chosen in this order:

1. `TPUStrategy` when a TPU is reachable (`tpu=` given, `TPU_NAME` or
   `COLAB_TPU_ADDR` set, or a TPU VM's `/dev/accel0`);
2. `MultiWorkerMirroredStrategy` when `TF_CONFIG` names more than one worker;
3. `MirroredStrategy` over the GPUs when there are several, or over the logical
   CPUs when the CPU has been split into several (used by the tests);
4. otherwise the default strategy (one device).
"""

import json
import os

import tensorflow as tf


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
        A `tf.distribute.Strategy`.

    Example:

    >>> with recipekit.distribute.strategy().scope():
    ...     model = recipekit.models.cifar_resnet(20)
    ...     model.compile(...)
    """
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
