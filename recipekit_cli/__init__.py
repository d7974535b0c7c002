"""What runs before Keras starts: the commands' flags and the quiet start-up.

`import recipekit_cli` imports neither Keras nor recipekit, so `--help` and a
bad flag answer at once. The recipes and `recipekit-tta` parse their flags
here, then call `quiet_start()` (TensorFlow's start-up lines filtered out)
before they import recipekit. `import recipekit` itself starts nothing: a
library leaves its host program's stderr and environment alone.
"""

from recipekit_cli._augment import check_pixel_flags, pixel_layers
from recipekit_cli._command import command, one_line_interrupts
from recipekit_cli._flags import (
    config_parser,
    deferred,
    describe_interval,
    in_interval,
    parse_recipe_args,
    recipe_parser,
    updated,
)
from recipekit_cli._startup import quiet_start
from recipekit_cli._tta import TTA_MODES, parse_tta, tta

__all__ = [
    "TTA_MODES",
    "check_pixel_flags",
    "command",
    "config_parser",
    "deferred",
    "describe_interval",
    "in_interval",
    "one_line_interrupts",
    "parse_recipe_args",
    "parse_tta",
    "pixel_layers",
    "quiet_start",
    "recipe_parser",
    "tta",
    "updated",
]
