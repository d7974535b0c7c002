"""The checks a recipe makes of its data before it builds a model, each error
naming the data and the fix."""


def check_translation(data, image_shape, pixels):
    """Refuses images too small for the recipe's random translation (pad by
    `pixels`, crop back), naming the data and the fix, before any model is
    built (the layer underneath would name its own argument, not the data)."""
    height, width = (int(d) for d in image_shape[:2])
    if min(height, width) <= pixels:
        raise ValueError(
            f"{data!r} has {height}x{width} images; this recipe shifts them by up "
            f"to {pixels} pixels (pad and crop), which needs images larger than "
            f"{pixels}x{pixels}. Use larger images, or resize them on load "
            "(recipekit.data.load_arrays(..., image_size=(32, 32)))."
        )


def steps_per_epoch(data, images, batch_size):
    """Whole batches per epoch; an error naming `data` when there is none."""
    if images // batch_size < 1:
        raise ValueError(
            f"{data!r} has {images} training images, fewer than one batch of "
            f"{batch_size}; pass a smaller --batch-size."
        )
    return images // batch_size
