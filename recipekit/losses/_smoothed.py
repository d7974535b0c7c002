"""Crossentropy with label smoothing, for integer labels or soft targets."""

import keras
from keras import ops

from recipekit._checks import check_number


@keras.saving.register_keras_serializable(package="recipekit")
class SmoothedCrossentropy(keras.losses.Loss):
    """Crossentropy against smoothed targets, from integer labels or soft ones.

    Label smoothing (Szegedy et al., 2016) trains against `(1 - e) * y + e / K`
    instead of the one-hot `y` over `K` classes. Keras 3.15's
    `CategoricalCrossentropy` smooths one-hot targets, but its
    `SparseCategoricalCrossentropy` has no `label_smoothing`: integer labels
    must be one-hot encoded first (`tests/losses/test_smoothed.py` holds
    both). This loss takes either:

    - integer labels, shape `(B,)` or `(B, 1)` (as `model.fit` gets them
      from a dataset of `(image, label)`), one-hot encoded here;
    - soft targets, shape `(B, K)` like the predictions (one-hot labels, or
      the mixed labels of MixUp and CutMix), smoothed as they are.

    With `label_smoothing=0` and integer labels it equals Keras's
    `SparseCategoricalCrossentropy`; with one-hot targets, Keras's
    `CategoricalCrossentropy(label_smoothing=...)`.

    Args:
        label_smoothing: `e` in [0, 1): the mass spread evenly over all classes.
        from_logits: the predictions are logits (recommended: the same stable
            loss on every backend), not probabilities.
        reduction: as for any Keras loss.
        name: the loss's name.
        dtype: the dtype of the loss's computations.

    Examples:

    >>> loss = SmoothedCrossentropy(label_smoothing=0.1, from_logits=True)
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]], "float32")
    >>> round(float(loss(np.array([0, 1]), logits)), 4)
    0.3729
    >>> round(float(loss(np.eye(3, dtype="float32")[[0, 1]], logits)), 4)
    0.3729
    """

    def __init__(
        self,
        label_smoothing=0.1,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="smoothed_crossentropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.label_smoothing = check_number(
            "label_smoothing", label_smoothing, "[0, 1)"
        )
        if not isinstance(from_logits, bool):
            raise ValueError(
                "Argument `from_logits` must be True or False. Received: "
                f"from_logits={from_logits!r}"
            )
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        classes = y_pred.shape[-1]
        y_true = ops.convert_to_tensor(y_true)
        soft = (
            len(y_true.shape) == len(y_pred.shape)
            and y_true.shape[-1] == classes
            and classes != 1
        )
        if soft:
            targets = ops.cast(y_true, y_pred.dtype)
        else:
            labels = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred)[:-1])
            targets = ops.one_hot(labels, classes, dtype=y_pred.dtype)
        if self.label_smoothing:
            e = self.label_smoothing
            targets = targets * (1.0 - e) + e / classes
        return ops.categorical_crossentropy(
            targets, y_pred, from_logits=self.from_logits
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            label_smoothing=self.label_smoothing, from_logits=self.from_logits
        )
        return config
