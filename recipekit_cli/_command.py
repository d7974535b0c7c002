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
import signal
import sys
import threading
import zipfile

from recipekit_cli._startup import _interrupted, debug, fail, tell_user

_LONGEST = 1000  # characters of an error message shown on its one line
# A user error raised inside a tf.data function (a streamed image that does not
# decode) reaches Python as TensorFlow's InvalidArgumentError, with the inner
# error and its traceback pasted into the message.
_WRAPPED = re.compile(r"(?:ValueError|TypeError|OSError): (.*?)(?:\nTraceback|\n|$)")
# Ctrl-C in this process: whether `_on_sigint` armed `_again`, the trace
# function it replaced, and whether the interrupt reached `command` (or the
# excepthook). Until then SIGINT is sent again every `_REMIND_S` seconds.
_interrupt = {"armed": False, "previous_trace": None, "landed": False}
_REMIND_S = 1.0


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


def _landed():
    """A KeyboardInterrupt reached this module: stop raising it again."""
    if not _interrupt["landed"]:
        _interrupt["landed"] = True
        if _interrupt["armed"]:
            sys.settrace(_interrupt["previous_trace"])


def _again(frame, event, arg):
    """Trace function armed by Ctrl-C: the first line run outside the handling
    of a KeyboardInterrupt means it was swallowed, so it is raised again.

    On JAX the main thread waits for each step inside Keras's
    `pythonify_logs`, whose bare `except: pass` eats a KeyboardInterrupt
    (NumPy's `np.array` clears some errors in C too, numpy#20596): one Ctrl-C
    during training was lost and the run went on to its end.
    """
    if _interrupt["landed"]:
        return None
    if event == "line" and not _interrupted(sys.exc_info()[1]):
        raise KeyboardInterrupt  # which turns tracing off; `_remind` re-arms
    return _again


def _remind():
    """Sends SIGINT again every `_REMIND_S` until the interrupt lands: each
    one re-arms `_again`, in case a raise of it was swallowed too."""
    while not _interrupt["landed"]:
        threading.Event().wait(_REMIND_S)
        if not _interrupt["landed"]:
            os.kill(os.getpid(), signal.SIGINT)


def _on_sigint(signum, frame):
    """Python's SIGINT handler (raise KeyboardInterrupt), which also arms
    `_again` on every frame until the interrupt lands."""
    if _interrupt["landed"]:
        raise KeyboardInterrupt  # Ctrl-C again while the command ends
    if not _interrupt["armed"]:
        _interrupt["armed"] = True
        _interrupt["previous_trace"] = sys.gettrace()
        threading.Thread(target=_remind, name="ctrl-c", daemon=True).start()
    unwinding = _interrupted(sys.exc_info()[1])
    # Armed last: `_again` would trace any Python call made here.
    sys.settrace(_again)
    while frame is not None:
        frame.f_trace = _again
        frame = frame.f_back
    if not unwinding:  # one is on its way up: only arm
        raise KeyboardInterrupt


def _keep_interrupts():
    """Installs `_on_sigint` where Ctrl-C has Python's default handler (not
    where it is ignored, as in a background job, or handled by the caller)."""
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _on_sigint)


def one_line_interrupts():
    """Ctrl-C anywhere in this process (an import included) prints one line
    and exits with 130, instead of a traceback; `--debug` keeps the traceback.
    A Ctrl-C that some code swallows is raised again until it lands in
    `command` (or this excepthook): run the body with `command(main)`."""
    _keep_interrupts()
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            _landed()
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
            _landed()
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
        _landed()
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
