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

from recipekit.distribute._cluster import worker
from recipekit.distribute._launch import launch_local
from recipekit.distribute._processor import processor
from recipekit.distribute._strategy import KerasDistribution, describe, strategy
from recipekit.distribute._workers import finish_worker, fit_data, locally, run_folder

__all__ = [
    "KerasDistribution",
    "describe",
    "finish_worker",
    "fit_data",
    "launch_local",
    "locally",
    "processor",
    "run_folder",
    "strategy",
    "worker",
]
