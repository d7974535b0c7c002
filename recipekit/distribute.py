"""Picks the engine for the machine a recipe runs on: `tf.distribute` or Keras's own.

No home-made distribution. On Keras's JAX backend: `keras.distribution`'s
`DataParallel` over all devices when there are several, local or in other
processes (the `KERAS_DISTRIBUTION_*` variables of `keras.distribution.initialize`
start JAX's multi-process runtime), else nothing (see `KerasDistribution`); on
PyTorch, one device. On TensorFlow, its own strategies, chosen in this order:

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
import shutil

import keras
import numpy as np

__all__ = [
    "describe",
    "finish_worker",
    "fit_data",
    "launch_local",
    "locally",
    "run_folder",
    "strategy",
    "worker",
]


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


def _jax_processes():
    """The process count `keras.distribution.initialize` will read (JAX only)."""
    if keras.backend.backend() != "jax":
        return 1
    raw = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES") or "1"
    try:
        return int(raw)
    except ValueError:
        raise ValueError(
            f"KERAS_DISTRIBUTION_NUM_PROCESSES must be an integer; received {raw!r}"
        ) from None


def _start_jax_processes():
    """Joins JAX's multi-process runtime once (`keras.distribution.initialize`,
    from the KERAS_DISTRIBUTION_* variables); CPUs talk over gloo."""
    import jax

    if _jax_started():
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    keras.distribution.initialize()


def _jax_started():
    """Whether this process has joined JAX's multi-process runtime (a JAX
    without `jax.distributed.is_initialized` cannot say: then the
    KERAS_DISTRIBUTION_* variables decide)."""
    import jax

    started = getattr(jax.distributed, "is_initialized", None)
    return bool(started and started())


def _jax_process_id():
    raw = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", "")
    if not raw.isdigit() or int(raw) >= _jax_processes():
        raise ValueError(
            "KERAS_DISTRIBUTION_PROCESS_ID must be this process's index, 0 to "
            f"KERAS_DISTRIBUTION_NUM_PROCESSES - 1; received {raw!r}"
        )
    return int(raw)


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


def _tf_config():
    raw = os.environ.get("TF_CONFIG") or "{}"
    try:
        config = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}): {raw!r}") from None
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object; received {raw!r}")
    return config


def _num_workers():
    cluster = _tf_config().get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def worker():
    """`(index, count)` of this process among the training processes.

    `TF_CONFIG`'s tasks on TensorFlow (its `"chief"` first, if it names one,
    then its workers), JAX's processes after `jax.distributed.initialize()`;
    `(0, 1)` for a single process. Index 0 is the chief: the process that
    writes the run's files.

    Examples:

    >>> recipekit.distribute.worker()
    (0, 1)
    """
    if keras.backend.backend() == "jax":
        import jax

        if _jax_started():  # asks nothing of the devices
            return jax.process_index(), jax.process_count()
        if _jax_processes() > 1:  # before strategy() starts the runtime
            return _jax_process_id(), _jax_processes()
    if keras.backend.backend() != "tensorflow":
        return 0, 1  # TF_CONFIG means nothing to JAX or PyTorch
    config = _tf_config()
    count = _num_workers()
    if count <= 1:
        return 0, 1
    task = config.get("task", {})
    kind, index = task.get("type"), task.get("index", 0)
    chiefs = len(config["cluster"].get("chief", []))
    if kind == "chief":
        return 0, count
    if kind == "worker" and isinstance(index, int) and 0 <= index < count - chiefs:
        return chiefs + index, count
    raise ValueError(
        f"TF_CONFIG's task {task!r} is not one of its cluster's workers "
        f"({config['cluster']!r})."
    )


def run_folder(out):
    """The folder this process writes its run into.

    `out` itself on the chief (and on a single machine). Another worker
    trains in lockstep with the chief and would write the same files: it gets
    `out/workers/<index>` (removed by `finish_worker` at the end), and its
    `backup/` there starts as a copy of the chief's `out/backup`, so that
    after a kill every process resumes from the chief's epoch. That needs
    `out` on a filesystem every worker sees (one machine, or a shared disk).

    Args:
        out: the run's output folder.

    Returns:
        The folder path, created.
    """
    index, count = worker()
    if index == 0:
        os.makedirs(out, exist_ok=True)
        return out
    folder = os.path.join(out, "workers", str(index))
    os.makedirs(folder, exist_ok=True)
    own = os.path.join(folder, "backup")
    if os.path.isdir(own):
        shutil.rmtree(own)
    chief = os.path.join(out, "backup")
    if os.path.isdir(chief):
        shutil.copytree(chief, own)
    return folder


def finish_worker(out):
    """On a worker other than the chief, removes its `run_folder` at the end."""
    index, _ = worker()
    if index == 0:
        return
    shutil.rmtree(os.path.join(out, "workers", str(index)), ignore_errors=True)
    with contextlib.suppress(OSError):  # the last worker out removes the parent
        os.rmdir(os.path.join(out, "workers"))


@contextlib.contextmanager
def locally(model):
    """A copy of `model` that this process runs on its own, for the block.

    Keras 3.15 cannot `predict` across JAX processes (its outputs span other
    processes' devices and cannot be fetched), so after multi-process
    training each process evaluates a local copy: the distribution is lifted
    for the block and the copy holds the trained weights. Elsewhere (one
    process, TensorFlow, PyTorch) it yields `model` itself.

    Examples:

    >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> with recipekit.distribute.locally(net) as local:
    ...     local.predict(np.ones((1, 2)), verbose=0).shape
    (1, 1)
    """
    if keras.backend.backend() != "jax" or worker()[1] == 1:
        yield model
        return
    weights = model.get_weights()  # replicated: every process holds them
    distribution = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(weights)
        yield copy
    finally:
        keras.distribution.set_distribution(distribution)


def fit_data(inputs, targets, batch_size, strategy):
    """`model.fit` arguments for arrays, on every engine `strategy()` returns.

    The arrays themselves (`x`, `y`, `batch_size`), except under TensorFlow's
    `MultiWorkerMirroredStrategy`, where Keras 3.15 cannot take NumPy
    arrays: there, a `tf.data.Dataset` of the same batches, in order, which
    each worker splits with the others (`batch_size` stays the global batch:
    every step trains on the same images as a single process would).

    Args:
        inputs: the `x` array.
        targets: the `y` array.
        batch_size: the global batch size.
        strategy: what `strategy()` returned.

    Returns:
        A dict to pass on: `model.fit(**fit_data(...), epochs=...)`; shuffle
        the arrays beforehand, and pass `shuffle=False`.

    Examples:

    >>> x, y = np.zeros((8, 2), "int32"), np.zeros(8, "int32")
    >>> sorted(recipekit.distribute.fit_data(x, y, 4, recipekit.distribute.strategy()))
    ['batch_size', 'x', 'y']
    """
    index, count = worker()
    if keras.backend.backend() == "jax" and count > 1:
        if batch_size % count:
            raise ValueError(
                f"The global batch size {batch_size} must split evenly over the "
                f"{count} processes."
            )
        local = batch_size // count
        whole = len(inputs) // batch_size * batch_size
        mine = np.arange(whole).reshape(-1, batch_size)
        mine = mine[:, index * local : (index + 1) * local].ravel()
        return {"x": inputs[mine], "y": targets[mine], "batch_size": local}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            data = tf.data.Dataset.from_tensor_slices((inputs, targets))
            data = data.batch(batch_size, drop_remainder=True)
            options = tf.data.Options()
            policy = tf.data.experimental.AutoShardPolicy.DATA
            options.experimental_distribute.auto_shard_policy = policy
            return {"x": data.with_options(options)}
    return {"x": inputs, "y": targets, "batch_size": batch_size}


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


KERAS_VARIABLES = tuple(
    f"KERAS_DISTRIBUTION_{name}"
    for name in ("JOB_ADDRESSES", "NUM_PROCESSES", "PROCESS_ID")
)


def launch_local(command, workers, env=None, **popen):
    """Starts `command` as `workers` training processes on this machine.

    The way to try a multi-worker run before a cluster: every process gets
    what a cluster would give it, for the Keras backend it runs (`env`'s
    `KERAS_BACKEND`, else this process's): on TensorFlow a `TF_CONFIG` naming
    `workers` workers on free ports of 127.0.0.1 and its own index; on JAX the
    `KERAS_DISTRIBUTION_*` variables (coordinator on 127.0.0.1, process
    count, process id). Recipes need nothing else.

    Args:
        command: the argument list, e.g. `[sys.executable,
            "recipes/cifar10_resnet.py", "--quick"]`.
        workers: how many processes (>= 1).
        env: the environment (default `os.environ`); cluster variables
            already in it are replaced.
        **popen: passed to `subprocess.Popen` (`stdout=`, `cwd=`, ...).

    Returns:
        The `subprocess.Popen` of each worker, chief first.
    """
    import socket
    import subprocess

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"Argument `workers` must be an integer >= 1; got {workers!r}")
    env = dict(os.environ if env is None else env)
    for name in ("TF_CONFIG", *KERAS_VARIABLES):
        env.pop(name, None)
    backend = env.get("KERAS_BACKEND") or keras.backend.backend()
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    processes = []
    for index in range(workers if workers > 1 else 0):
        if backend == "jax":
            own = dict(zip(KERAS_VARIABLES, (addresses[0], str(workers), str(index)),
                           strict=True))  # fmt: skip
        else:
            cluster = {"cluster": {"worker": addresses},
                       "task": {"type": "worker", "index": index}}  # fmt: skip
            own = {"TF_CONFIG": json.dumps(cluster)}
        processes.append(subprocess.Popen(command, env=dict(env, **own), **popen))
    if workers == 1:
        processes.append(subprocess.Popen(command, env=env, **popen))
    return processes


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
        device = f"CPU ({os.cpu_count()} cores)"
    return _with_workers(
        f"{device}, {type(strategy_).__name__} with {replicas} replica(s)"
    )


def _with_workers(line):
    index, count = worker()
    if count > 1:
        line += f" on {count} workers (this is worker {index}"
        line += ", the chief)" if index == 0 else ")"
    return line
