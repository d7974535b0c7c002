"""One model that averages the probabilities of several snapshots' predictions."""

import os

import keras

from recipekit._keras_utils import ends_in_softmax


def ensemble_model(model, snapshots, name="snapshot_ensemble"):
    """One Keras model that averages the softmax outputs of several snapshots.

    Each snapshot (a `.weights.h5` path or a list of weights as from
    `model.get_weights()`) is loaded into a clone of `model`; the ensemble's
    output is the mean of their probabilities. A model that outputs logits
    (no final softmax) gets a softmax on each member first, so the ensemble
    always averages probabilities. The result can be compiled, evaluated in one
    pass over the data, saved and loaded like any model.

    Args:
        model: the architecture the snapshots were taken from.
        snapshots: a list of paths or weight lists (>= 1).
        name: the ensemble model's name.

    Returns:
        A functional `keras.Model` with the same inputs as `model`.

    Examples:

    >>> ensemble = recipekit.models.ensemble_model(model, snapshots.snapshots)
    """
    if not snapshots:
        raise ValueError("ensemble_model() needs at least one snapshot.")
    members = []
    for i, snapshot in enumerate(snapshots):
        member = keras.models.clone_model(model)
        member.name = f"{name}_member_{i}"
        try:
            if isinstance(snapshot, str | os.PathLike):
                if not os.path.exists(snapshot):
                    raise FileNotFoundError(
                        f"Snapshot file {snapshot!r} does not exist."
                    )
                member.load_weights(snapshot)
            else:
                member.set_weights(snapshot)
        except (ValueError, KeyError) as error:
            raise ValueError(
                f"Snapshot {snapshot if isinstance(snapshot, str) else i!r} does not "
                f"match the model {model.name!r}: {error}"
            ) from error
        members.append(member)
    inputs = keras.Input(model.input_shape[1:], name=f"{name}_input")
    softmax = not ends_in_softmax(model)
    outputs = []
    for member in members:
        y = member(inputs)
        if softmax:
            y = keras.layers.Softmax(dtype="float32")(y)
        outputs.append(y)
    average = outputs[0] if len(outputs) == 1 else keras.layers.Average()(outputs)
    return keras.Model(inputs, average, name=name)
