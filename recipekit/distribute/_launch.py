"""Starting a command as N local workers, to try a cluster on one machine."""

import json
import os
import subprocess

import keras

from recipekit._checks import is_integer

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

    if not is_integer(workers) or workers < 1:
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
