"""A recipe or tool run as a command: user errors in one line, Ctrl-C in one line.

This is the command line's, not the library's: recipekit raises exceptions that
name the input and the fix; here they become `prog: error: message` and an exit
status, as argparse does for bad flags. `--debug` (`RECIPEKIT_DEBUG=1`) or
`--verbose` shows the traceback instead.
"""

import errno
import os
import re
import shlex
import sys
import zipfile

from recipekit_cli._startup import debug, fail, tell_user

_LONGEST = 1000  # characters of an error message shown on its one line
# A user error raised inside a tf.data function (a streamed image that does not
# decode) reaches Python as TensorFlow's InvalidArgumentError, with the inner
# error and its traceback pasted into the message.
_WRAPPED = re.compile(r"(?:ValueError|TypeError|OSError): (.*?)(?:\nTraceback|\n|$)")


def wrapped_user_error(error):
    """The message of a user error that TensorFlow wrapped (see `_WRAPPED`),
    or None for any other error."""
    if not type(error).__module__.startswith("tensorflow"):
        return None
    text = str(error)
    if "user-defined function" not in text:
        return None
    match = _WRAPPED.search(text)
    return match.group(1) if match else None


def interrupted_line(argv=None):
    """The line Ctrl-C prints: nothing is lost, and the command that resumes."""
    argv = sys.argv if argv is None else argv
    prog = os.path.basename(argv[0]) if argv else "recipekit"
    again = shlex.join(["python", *argv]) if argv else ""
    return (
        f"{prog}: interrupted; nothing finished is lost (a run keeps its last "
        f"backup). Rerun the same command to resume: {again}"
    )


def one_line_interrupts():
    """Ctrl-C anywhere in this process (an import included) prints one line
    and exits with 130, instead of a traceback; `--debug` keeps the traceback."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt) and not debug():
            tell_user(f"\n{interrupted_line()}")
            return
        previous(kind, value, traceback)

    sys.excepthook = hook
    previous_unraisable = sys.unraisablehook

    def unraisable(info):
        # Ctrl-C while a callback runs (JAX's garbage-collection hook, say) is
        # "ignored" by Python and the program would go on: honour it instead.
        # It may come while TensorFlow's start-up lines are being captured:
        # tell_user writes past the capture, which os._exit never replays.
        if issubclass(info.exc_type, KeyboardInterrupt) and not debug():
            tell_user(f"\n{interrupted_line()}")
            os._exit(130)
        previous_unraisable(info)

    sys.unraisablehook = unraisable


def user_errors():
    """What a user's input or the machine can cause, and a message can explain:
    a refused folder, a bad value or dtype, a missing, unreadable or damaged
    file. Anything else is a bug and keeps its traceback."""
    from recipekit.run import RunFolderError

    return (RunFolderError, ValueError, TypeError, OSError, zipfile.BadZipFile)


def command(function, *args, **kwargs):
    """Calls `function(*args, **kwargs)` as a command's body.

    A user error prints `prog: error: message` (one line) on stderr and exits
    with status 2; Ctrl-C prints one line with the command that resumes and
    exits with 130. With `--debug` or `--verbose` the traceback shows too.

    Examples:

    >>> def train():
    ...     raise ValueError("'x.npz' has 3 images; pass a smaller --batch-size.")
    >>> command(train)  # doctest: +SKIP
    cifar10_fast.py: error: 'x.npz' has 3 images; pass a smaller --batch-size.
    """
    try:
        return function(*args, **kwargs)
    except KeyboardInterrupt:
        if debug():
            raise
        tell_user(f"\n{interrupted_line()}")
        raise SystemExit(130) from None
    except Exception as error:
        if debug() or not (
            isinstance(error, user_errors()) or wrapped_user_error(error)
        ):
            raise
        text = wrapped_user_error(error) or str(error)
        text = " ".join(text.split()) or type(error).__name__
        if getattr(error, "errno", None) == errno.ENOSPC and "resume" not in text:
            where = f" writing {error.filename!r}" if error.filename else ""
            text = (
                f"The disk is full{where} ({error.strerror or text}). Nothing "
                "finished is lost: free some space and rerun the same command; "
                "it resumes from the last backup."
            )
        if len(text) > _LONGEST:
            text = text[: _LONGEST - 3] + "..."
        fail(text)
