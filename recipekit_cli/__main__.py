"""`python -m recipekit_cli MODEL --data ...`: the same as `recipekit-tta`."""

import sys

from recipekit_cli._tta import tta

sys.exit(tta(sys.argv[1:]))
