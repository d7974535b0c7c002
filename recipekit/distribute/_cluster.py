"""Where this process stands: JAX's processes, TF_CONFIG's workers, a TPU."""

import json
import os

import keras


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
