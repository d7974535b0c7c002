"""The test-time augmentation modes: the one table, and the one check.

This module imports nothing (not even Keras): the command line loads it from
its file (`recipekit_cli._library`) to offer the same modes before Keras starts.
"""

MODES = ("none", "flip", "flip_translate", "ten_crop")
# Views each mode averages.
VIEWS = {"none": 1, "flip": 2, "flip_translate": 6, "ten_crop": 10}
# flip_translate (airbench): half the weight on the image and its mirror, half
# on both of them shifted one pixel up-left and one pixel down-right.
WEIGHTS = {"flip_translate": (0.25, 0.25, 0.125, 0.125, 0.125, 0.125)}
# Each of these modes' views begin with the previous one's (TTAViews order),
# so one pass over the last one's views scores them all (evaluate_tta).
NESTED = ("none", "flip", "flip_translate")
PAD_MODES = ("reflect", "symmetric", "constant")
AVERAGES = ("probabilities", "logits")


def check_modes(modes, argument="modes"):
    """`modes` (one mode, or a non-empty list of them) as a tuple, or a
    ValueError naming `argument` and the modes there are."""
    one = isinstance(modes, str)
    listed = isinstance(modes, list | tuple)
    values = (modes,) if one else tuple(modes) if listed else ()
    if not values or any(m not in MODES for m in values):
        what = "be one of" if one else "name some of"
        raise ValueError(
            f"Argument `{argument}` must {what} {MODES}. Received: {argument}={modes!r}"
        )
    return values
