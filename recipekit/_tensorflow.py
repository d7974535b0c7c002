"""TensorFlow for the tf.data path, with an error that says what to do without it."""


def tensorflow(what):
    """Imports TensorFlow for `what`, or raises an error naming the way around it."""
    try:
        import tensorflow as tf
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"{what} is part of recipekit's tf.data path and needs TensorFlow "
            "(`pip install tensorflow`). Without it, load data with "
            "recipekit.data.load_arrays and augment on the device with "
            "recipekit.data.DeviceImages (any Keras backend)."
        ) from error
    return tf
