"""The pixel-value steps a policy may add: an automatic policy, Cutout and
random erasing."""

from recipekit import _random
from recipekit._checks import check_number
from recipekit.augment._auto import auto_unit_op, parse_auto
from recipekit.augment._auto_layers import auto_augment_layer
from recipekit.augment._erasing import cutout_unit, erase_unit
from recipekit.augment._erasing_layers import Cutout, RandomErasing

# Random erasing at the paper's ranges and fill (Zhong et al., 2020).
_ERASING = {"scale": (0.02, 0.4), "ratio": (0.3, 1 / 0.3), "value": "random"}


class PixelSteps:
    """The steps a policy may add to the pixel values: an automatic policy
    (before color) and Cutout and random erasing (after it)."""

    def __init__(self, config, auto, erasing, cutout):
        if auto is not None:
            parse_auto(auto)
        self.auto = auto
        self.erasing = check_number("erasing", erasing, "[0, 1]")
        self.cutout = check_number("cutout", cutout, "[0, inf)", integer=True)
        self.value_range = config["value_range"]
        config.update(auto=auto, erasing=self.erasing, cutout=self.cutout)

    def auto_op(self):
        return None if self.auto is None else auto_unit_op(self.auto)

    def erase_op(self):
        if not (self.erasing or self.cutout):
            return None
        gray = sum(self.value_range) / 2

        def op(ops, x, key):
            if self.cutout:
                x = cutout_unit(
                    ops,
                    x,
                    self.cutout,
                    gray,
                    self.value_range,
                    _random.subkey(ops, key, 0),
                )
            if self.erasing:
                args = (_ERASING["scale"], _ERASING["ratio"], _ERASING["value"])
                key = _random.subkey(ops, key, 1)
                x = erase_unit(ops, x, self.erasing, *args, self.value_range, key)
            return x

        return op

    def auto_layers(self, seed):
        if self.auto is None:
            return []
        return [auto_augment_layer(self.auto, self.value_range, seed)]

    def erase_layers(self, seed):
        out = []
        if self.cutout:
            out.append(Cutout(self.cutout, value_range=self.value_range, seed=seed))
        if self.erasing:
            out.append(
                RandomErasing(
                    self.erasing, **_ERASING, value_range=self.value_range, seed=seed
                )
            )
        return out
