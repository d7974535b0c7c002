"""`pipeline()`: the tf.data input pipeline (the TensorFlow path)."""

import numpy as np

from recipekit._checks import is_integer
from recipekit._limits import memory_budget
from recipekit._tensorflow import tensorflow


def pipeline(
    dataset,
    batch_size,
    *,
    training=False,
    augment=None,
    mix=None,
    seed=None,
    shuffle_buffer=None,
    cache=True,
    drop_remainder=None,
    epochs=None,
    start_epoch=0,
):
    """Shuffles, batches and augments a dataset of `(uint8 image, label)` pairs.

    The flow is the one DESIGN.md prescribes: cache the decoded uint8 images,
    shuffle, batch, then ONE batched augmentation map over whole batches, then
    cast to float32 (values 0-255; the model normalises) and prefetch.
    `keras.utils.image_dataset_from_directory` augments per image and decodes
    every epoch; this decodes once and augments with vectorised ops.

    Args:
        dataset: a `tf.data.Dataset` of `(image, label)`, e.g. from `load()`.
        batch_size: images per batch.
        training: shuffle (reshuffled every epoch) and augment when True.
        augment: a batch transform `augment(images, seed=None) -> images`, such
            as `recipekit.augment.cifar_policy()`; used only when `training`.
        mix: a batch transform of images and labels, `mix(images, labels,
            seed=None) -> (images, targets)`, such as
            `recipekit.augment.MixUpCutMix`; applied after `augment`, only
            when `training`. The labels become float32 soft targets: train
            with a loss that takes them.
        seed: makes shuffling and augmentation repeat exactly. Each batch gets
            its own augmentation seed, new every epoch.
        shuffle_buffer: shuffle buffer size; default: the whole dataset when its
            size is known and it fits the memory budget
            (`$RECIPEKIT_MEMORY_BUDGET`, default 1 GiB), else as many images as
            fit in a quarter of it, at most 10,000.
        cache: keep the uint8 images in memory after the first pass (skipped
            for a dataset larger than the memory budget, such as a streamed
            folder).
        drop_remainder: drop the last partial batch; default `training`.
        epochs: for a run that must resume exactly: every epoch's batches in
            one dataset (train with `steps_per_epoch=len(data) // batch_size`),
            each batch's augmentation seeded by `(seed, step)`. Needs `seed`
            and `training`.
        start_epoch: with `epochs`, skip the batches of the epochs before this
            one (a resumed run: `recipekit.callbacks.backup_epoch(dir)`), so
            the stream goes on exactly where the killed run stopped; equal to
            `epochs` (training had finished) gives an empty stream.

    Returns:
        A batched `tf.data.Dataset` of `(float32 images, int64 labels)`
        (float32 soft targets with `mix`).

    Examples:

    >>> ds, names = recipekit.data.load("cifar10_sample", split="train")
    >>> train = recipekit.data.pipeline(ds, 128, training=True, seed=0,
    ...     augment=recipekit.augment.cifar_policy())
    >>> model.fit(train, epochs=10)
    """
    tf = tensorflow("recipekit.data.pipeline")

    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"Argument `batch_size` must be a positive integer. Received: "
            f"batch_size={batch_size!r}"
        )
    if augment is not None and not callable(augment):
        raise TypeError(
            "Argument `augment` must be a callable batch transform. Received: "
            f"augment={augment!r}"
        )
    if mix is not None and not callable(mix):
        raise TypeError(
            "Argument `mix` must be a callable `mix(images, labels, seed)`. "
            f"Received: mix={mix!r}"
        )
    if mix is not None and not training and epochs is None:
        raise ValueError(
            "Argument `mix` is applied to training batches only; pass "
            "training=True to train, or drop `mix`."
        )
    if augment is not None and not training and epochs is None:
        raise ValueError(
            "Argument `augment` is applied to training batches only, and "
            "training=False (the default) gives evaluation batches: unshuffled "
            "and unaugmented. Pass training=True to train, or drop `augment`."
        )
    if drop_remainder is None:
        drop_remainder = training
    size = int(dataset.cardinality())
    if drop_remainder and 0 <= size < batch_size:
        raise ValueError(
            f"The dataset has {size} elements, fewer than one batch of "
            f"{batch_size}, and the last partial batch is dropped "
            "(drop_remainder, the default with training=True): no batch would "
            "be left. Pass a smaller batch size."
        )
    if epochs is not None:
        return _all_epochs(dataset, batch_size, (augment, mix), seed, shuffle_buffer,
                           epochs, start_epoch)  # fmt: skip
    fits, buffer = memory_plan(dataset)
    if cache and fits:
        dataset = dataset.cache()
    if training:
        if shuffle_buffer is None:
            shuffle_buffer = buffer
        dataset = dataset.shuffle(
            shuffle_buffer, seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.batch(
        batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE
    )
    if training and (augment is not None or mix is not None):
        if seed is None:
            dataset = dataset.map(
                lambda x, y: _transform(augment, mix, x, y, None),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        else:
            seeds = tf.data.Dataset.random(
                seed=seed + 1, rerandomize_each_iteration=True
            ).batch(2)
            dataset = tf.data.Dataset.zip(dataset, seeds).map(
                lambda batch, s: _transform(augment, mix, *batch, s),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
    dataset = dataset.map(
        lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _transform(augment, mix, images, labels, seed):
    """`augment` then `mix` on one batch, both seeded by `seed` (each draws
    from its own stream of it)."""
    if augment is not None:
        images = augment(images) if seed is None else augment(images, seed=seed)
    if mix is not None:
        images, labels = mix(images, labels) if seed is None else mix(
            images, labels, seed=seed)  # fmt: skip
    return images, labels


def _all_epochs(dataset, batch_size, transforms, seed, shuffle_buffer, epochs, start):
    """Every epoch in one stream, resumable at any epoch, seeded by position."""
    tf = tensorflow("recipekit.data.pipeline")
    augment, mix = transforms

    if not is_integer(seed):
        raise ValueError(
            "A resumable pipeline (`epochs=`) needs an integer `seed`. Received: "
            f"seed={seed!r}"
        )
    if not isinstance(epochs, int) or not 0 <= start <= epochs:
        raise ValueError(
            f"Arguments `epochs` and `start_epoch` must be integers with 0 <= "
            f"start_epoch <= epochs. Received: epochs={epochs!r}, start_epoch={start!r}"
        )
    size = int(dataset.cardinality())
    if size < batch_size:
        raise ValueError(
            f"The dataset has {size} elements (or an unknown number), fewer than "
            f"one batch of {batch_size}; pass a smaller batch size."
        )
    steps = size // batch_size
    fits, buffer = memory_plan(dataset)
    if fits:
        dataset = dataset.cache()
    dataset = dataset.shuffle(
        shuffle_buffer or buffer, seed=seed, reshuffle_each_iteration=True
    )
    dataset = dataset.batch(batch_size, drop_remainder=True).repeat(epochs)
    dataset = dataset.enumerate().skip(start * steps)

    def augment_batch(step, batch):
        where = tf.stack([tf.constant(seed, tf.int64), step])
        x, y = _transform(augment, mix, *batch, where)
        return tf.cast(x, tf.float32), y

    dataset = dataset.map(
        augment_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def memory_plan(dataset):
    """`(fits, shuffle_buffer)`: whether the images fit the memory budget whole
    (then cache them and shuffle over all), else a bounded buffer.

    Decoded sizes come from the element spec (the image, first); an unknown
    size counts as not fitting, with a buffer of at most 10,000 images.
    """
    spec = dataset.element_spec
    image = spec[0] if isinstance(spec, tuple) else spec
    size = int(dataset.cardinality())
    shape = image.shape
    if shape.rank is None or not shape.is_fully_defined():
        return False, size if 0 < size <= 10_000 else 10_000
    element = max(1, int(np.prod(shape.as_list())) * image.dtype.size)
    if 0 < size <= memory_budget() // element:
        return True, size
    # Too big to hold: a quarter of the budget, at most 10,000 images, so the
    # buffer, tf.data's prefetching and the framework stay within it.
    return False, max(1, min(10_000, memory_budget() // 4 // element))
