"""What each worker of a multi-process run feeds and writes."""

import contextlib
import os
import shutil

import keras
import numpy as np

from recipekit.distribute._cluster import worker


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
