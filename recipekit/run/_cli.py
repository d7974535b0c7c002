"""A recipe or tool run as a command: user errors in one line, exit code 2."""

import os
import sys

from recipekit.run._folder import RunFolderError

# What a user's input or the machine can cause, and the message can explain;
# anything else is a bug and keeps its traceback.
USER_ERRORS = (RunFolderError, ValueError, OSError)


def command(function, *args, **kwargs):
    """Calls `function(*args, **kwargs)`; a user error (a refused folder, a bad
    value, a missing or unreadable file) prints `prog: error: message` on
    stderr and exits with code 2, as argparse does for bad flags. With
    `--verbose` (`RECIPEKIT_VERBOSE=1`) the traceback shows too.

    Examples:

    >>> def train():
    ...     raise ValueError("'x.npz' has 3 images; pass a smaller --batch-size.")
    >>> command(train)  # doctest: +SKIP
    cifar10_fast.py: error: 'x.npz' has 3 images; pass a smaller --batch-size.
    """
    try:
        return function(*args, **kwargs)
    except USER_ERRORS as error:
        if os.environ.get("RECIPEKIT_VERBOSE") == "1":
            raise
        prog = os.path.basename(sys.argv[0] if sys.argv else "") or "recipekit"
        print(f"{prog}: error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
