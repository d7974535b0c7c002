import os

import pytest

from recipekit_cli import _startup

# The lines TensorFlow 2.21 printed at import and first device listing on a
# 2-core CPU machine (2026-11-30).
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are "
    "written to STDERR",
    "I0000 00:00:1796024036.429615   17522 port.cc:153] oneDNN custom operations "
    "are on. You may see slightly different numerical results ...",
    "I0000 00:00:1796024036.429970   17522 cudart_stub.cc:31] Could not find "
    "cuda drivers on your machine, GPU will not be used.",
    "I0000 00:00:1796024036.488813   17522 cpu_feature_guard.cc:227] This "
    "TensorFlow binary is optimized to use available CPU instructions in "
    "performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, "
    "rebuild TensorFlow with the appropriate compiler flags.",
]
CUINIT = (
    "E0000 00:00:1796024048.638044   17725 cuda_platform.cc:52] failed call to "
    "cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)
REAL = [
    "W0000 00:00:1796024048.638044   17725 data.cc:52] Your input ran out of data",
    "E0000 00:00:1796024048.638044   17725 kernel.cc:10] OOM when allocating tensor",
    "/x.py:3: UserWarning: something the user should read",
    "WARNING:tensorflow:a Python-side warning",
]


@pytest.mark.parametrize("line", NOISE)
def test_known_start_up_lines_are_noise(line):
    assert _startup.is_noise(line + "\n", nvidia_driver=True)


@pytest.mark.parametrize("line", REAL)
def test_real_warnings_and_errors_are_not(line):
    assert not _startup.is_noise(line + "\n", nvidia_driver=False)


def test_cuinit_failure_is_noise_only_without_an_nvidia_driver():
    assert _startup.is_noise(CUINIT, nvidia_driver=False)
    assert not _startup.is_noise(CUINIT, nvidia_driver=True)


def test_filtered_stderr_drops_noise_and_replays_the_rest_in_order(capfd):
    with _startup._filtered_stderr():
        for line in [NOISE[0], REAL[0], NOISE[2], REAL[2]]:
            os.write(2, (line + "\n").encode())  # as C++ code writes: fd 2
    err = capfd.readouterr().err
    assert err == REAL[0] + "\n" + REAL[2] + "\n"


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("1", True)])
def test_verbose_reads_recipekit_verbose(monkeypatch, value, expected):
    monkeypatch.setenv("RECIPEKIT_VERBOSE", value)
    assert _startup.verbose() is expected


def test_import_without_the_backend_names_the_extra_to_install():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'tensorflow':\n"
        "            raise ModuleNotFoundError(f'No module {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import recipekit\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: recipekit needs Keras and one Keras backend")
    assert "'tensorflow' is not installed" in last and "recipekit[jax]" in last


def _python(code, **env):
    import subprocess
    import sys

    leave = ("TF_CPP_MIN_LOG_LEVEL", "RECIPEKIT_VERBOSE")  # another test's may leak
    environ = {k: v for k, v in os.environ.items() if k not in leave}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=environ, timeout=300)  # fmt: skip


@pytest.mark.needs_jax
def test_import_recipekit_does_nothing_but_import():
    # No TensorFlow under JAX, no environment change, no stderr capture: a
    # line written to fd 2 during the import goes straight through.
    done = _python(
        "import os, sys; import keras; os.write(2, b'before\\n'); "
        "before = dict(os.environ); import recipekit; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
        "assert dict(os.environ) == before, 'environment changed'",
        KERAS_BACKEND="jax",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.startswith("before\n")


def test_quiet_start_is_the_commands_own_call():
    done = _python("import recipekit_cli; recipekit_cli.quiet_start(); import os; "
                   "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])")  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "1"
    assert "oneDNN" not in done.stderr and "cuda drivers" not in done.stderr


def test_ctrl_c_in_a_finalizer_during_the_capture_still_reaches_the_user():
    # Seen in CI: Ctrl-C while TensorFlow starts (its stderr captured) came as
    # an "unraisable" KeyboardInterrupt; the hook printed into the capture and
    # exited 130, so the user saw nothing at all.
    done = _python(
        "import sys\n"
        "from recipekit_cli import _startup\n"
        "from recipekit_cli._command import one_line_interrupts\n"
        "one_line_interrupts()\n"
        "class Finalizer:\n"
        "    def __del__(self):\n"
        "        raise KeyboardInterrupt\n"
        "with _startup._filtered_stderr():\n"
        "    Finalizer()\n"
        "print('went on')\n"
    )
    assert done.returncode == 130 and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted; nothing finished is lost" in lines[0]


def test_ctrl_c_while_a_backend_initialises_is_an_interrupt(monkeypatch):
    # A C extension interrupted in its start-up raises ImportError
    # ("initialization failed") from the KeyboardInterrupt: that is Ctrl-C,
    # not a broken backend.
    import builtins

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "keras":
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as error:
                raise ImportError("initialization failed") from error
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    monkeypatch.delenv("RECIPEKIT_DEBUG", raising=False)
    monkeypatch.delenv("RECIPEKIT_VERBOSE", raising=False)
    with pytest.raises(KeyboardInterrupt):
        _startup._import_keras()


def test_a_broken_backend_is_still_one_line(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "keras":
            raise ImportError("initialization failed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    monkeypatch.delenv("RECIPEKIT_DEBUG", raising=False)
    monkeypatch.delenv("RECIPEKIT_VERBOSE", raising=False)
    with pytest.raises(SystemExit) as stop:
        _startup._import_keras()
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "cannot start the backend" in err and "(initialization failed)" in err


# A child that Ctrl-C's itself inside `try: ... except: pass`, as Keras's
# `pythonify_logs` (where JAX waits for each step) eats a KeyboardInterrupt.
_SWALLOWED = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal\n"
    "from recipekit_cli._command import command, one_line_interrupts\n"
    "one_line_interrupts()\n"
    "def swallow():\n"
    "    try:\n"
    "        os.kill(os.getpid(), signal.SIGINT)\n"
    "        time.sleep(5)\n"
    "    except:  # noqa: E722\n"
    "        print('swallowed', flush=True)\n"
    "    print('went on', flush=True)\n"
    "def main():\n"
    "{body}"
    "command(main)\n"
)


def test_a_swallowed_ctrl_c_is_raised_again_at_the_next_line():
    done = _python(_SWALLOWED.format(body="    swallow()\n    time.sleep(30)\n"))
    assert done.returncode == 130, (done.stdout, done.stderr[-2000:])
    assert done.stdout == "swallowed\n"  # the except block ran; nothing after it
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted; nothing finished is lost" in lines[0]


def test_an_interrupt_swallowed_twice_is_sent_again_within_a_second():
    # The second swallow eats the trace function's own raise, which turns
    # tracing off: SIGINT comes again (`_remind`) and ends the sleep.
    body = (
        "    try:\n"
        "        try:\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "            time.sleep(5)\n"
        "        except:  # noqa: E722\n"
        "            print('swallowed', flush=True)\n"
        "        print('went on', flush=True)  # raised again here, and eaten\n"
        "    except:  # noqa: E722\n"
        "        print('swallowed again', flush=True)\n"
        "    started = time.perf_counter()\n"
        "    try:\n"
        "        time.sleep(30)\n"
        "    finally:\n"
        "        print(f'{time.perf_counter() - started < 3}', flush=True)\n"
    )
    done = _python(_SWALLOWED.format(body=body))
    assert done.returncode == 130, (done.stdout, done.stderr[-2000:])
    assert done.stdout == "swallowed\nswallowed again\nTrue\n"


def test_cleanup_on_the_way_up_is_not_cut_and_the_next_ctrl_c_still_counts():
    # The interrupt's own unwinding (finally, except ... raise) runs whole;
    # once it has landed, tracing is off and a further Ctrl-C is plain.
    body = (
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(5)\n"
        "    finally:\n"
        "        time.sleep(0.1)\n"
        "        print('cleaned up', flush=True)\n"
    )
    code = _SWALLOWED.format(body=body).replace(
        "command(main)\n",
        "try:\n"
        "    command(main)\n"
        "except SystemExit as end:\n"
        "    print(end.code, sys.gettrace(), flush=True)\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(5)\n"
        "    except KeyboardInterrupt:\n"
        "        print('plain', flush=True)\n",
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "cleaned up\n130 None\nplain\n"


def test_ctrl_c_ignored_by_the_parent_stays_ignored():
    # A job started in the background gets SIGINT ignored: that is kept.
    done = _python(
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "from recipekit_cli._command import one_line_interrupts\n"
        "one_line_interrupts()\n"
        "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n"
    )
    assert done.returncode == 0 and done.stdout == "True\n", done.stderr
