"""A run's output folder: claimed, locked, checked against its flags, finished."""

import contextlib
import datetime
import fcntl
import json
import os
import shutil
import socket

from recipekit._io import strict_json, write_json
from recipekit.callbacks import BackupAndRestore, backup_epoch
from recipekit.data import load_arrays
from recipekit.run._data_checks import check_translation

MARK = ".recipekit-run.json"  # this folder holds a recipekit run: whose, with what
LOCK = ".recipekit-lock"  # held (flock) while a run writes here
METRICS = "metrics.json"
BACKUP = "backup"
_OURS = {MARK, LOCK, "workers"}  # `workers/`: other processes of the same run


class RunFolderError(RuntimeError):
    """A run refused to start, or stopped, without losing anything; the
    message says why and what to do."""


def _plain(value):
    """A config value as JSON gives it back (tuples as lists)."""
    return json.loads(json.dumps(strict_json(value)))


class RunFolder:
    """The output folder of one recipe run, used as a context manager.

    On entry it:
    - creates the folder and takes its lock (`.recipekit-lock`, an OS lock
      that dies with the process, so a killed run's lock is free at once); a
      second run on the same folder is refused, naming the holder;
    - refuses a folder that holds files no recipekit run wrote (so a run never
      overwrites or removes a user's `model.keras` or `backup/`), and marks a
      new one as this run's (`.recipekit-run.json`: recipe and settings);
    - refuses to resume a run whose settings differ from the ones given now,
      naming each flag, unless `force_resume` (the mark then keeps the old
      settings until the forced run finishes); a folder whose run never made
      a backup or finished (a failed start) binds nothing.

    Then `finished` holds the metrics of a run that is already done (nothing
    to train), `resume_epoch` the epoch the backup resumes at, `finish`
    writes `metrics.json` and removes the backup (the run's own, only), and
    `stop` records a run that stopped early (non-finite loss), keeping its
    backup.

    Args:
        path: the folder (`--out`).
        recipe: the recipe's name, kept in the mark.
        config: the run's settings (a dict of JSON values).
        free: settings that may change between a run and its resume (the
            folder itself, say, or where to stop).
        force_resume: resume even when settings differ.
        check: False on a worker that mirrors the chief's run (the chief
            checks).

    Examples:

    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> with RunFolder(out, "demo", {"seed": 0, "epochs": 2}) as run:
    ...     print(run.finished, run.resume_epoch)
    ...     metrics = run.finish({"accuracy": 0.5})
    None 0
    >>> with RunFolder(out, "demo", {"seed": 1, "epochs": 2}):  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    ...
    recipekit.run._folder.RunFolderError: ... holds a finished run of demo with
    other settings: --seed 1 here, 0 there. Pass another --out.
    """

    def __init__(self, path, recipe, config, *, free=("out",), force_resume=False,
                 check=True):  # fmt: skip
        if not isinstance(path, str) or not path:
            raise ValueError(
                f"Argument `path` must be a folder path. Received: {path!r}"
            )
        self.path = path
        self.recipe = recipe
        self.config = {k: _plain(v) for k, v in config.items() if k not in free}
        self.force_resume = force_resume
        self.check = check
        self.backup_dir = os.path.join(path, BACKUP)
        self.metrics_path = os.path.join(path, METRICS)
        self.finished = None
        self.resume_epoch = 0
        self._lock = None
        self._forced = False
        self.class_names = None

    def __enter__(self):
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise RunFolderError(f"{self.path!r} is a file; pass a folder as --out.")
        os.makedirs(self.path, exist_ok=True)
        self._take_lock()
        try:
            if self.check:
                self._claim()
            self.finished = self._finished()
            if self.finished is None:
                BackupAndRestore.recover(self.backup_dir)  # a write cut by a kill
                self.resume_epoch = backup_epoch(self.backup_dir)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc):
        self._release()
        return False

    @property
    def resuming(self):
        """A line for the run's header, or None for a fresh start."""
        if self.resume_epoch:
            return f"resuming from {self.backup_dir} at epoch {self.resume_epoch}"
        return None

    def _take_lock(self):
        path = os.path.join(self.path, LOCK)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 4096).decode("utf-8", "replace").strip()
            os.close(fd)
            try:
                who = json.loads(holder)
                who = (f"pid {who['pid']} on {who['host']}, started "
                       f"{who['started']}")  # fmt: skip
            except (ValueError, KeyError, TypeError):
                who = "another process"
            raise RunFolderError(
                f"{self.path!r} is in use by another run ({who}). Wait for it to "
                "end, or pass another --out."
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._lock = fd

    def _release(self):
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None

    def _claim(self):
        mark = os.path.join(self.path, MARK)
        if not os.path.exists(mark):
            strangers = sorted(set(os.listdir(self.path)) - _OURS)
            if strangers:
                shown = ", ".join(strangers[:4]) + (", ..." * (len(strangers) > 4))
                raise RunFolderError(
                    f"{self.path!r} already holds files that no recipekit run wrote "
                    f"({shown}); a run there could overwrite or delete them. Pass an "
                    "empty or new folder as --out."
                )
            self._write_mark()
            return
        try:
            with open(mark) as f:
                theirs = json.load(f)
            their_recipe, their_config = theirs["recipe"], theirs["config"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RunFolderError(
                f"{mark!r} is unreadable ({error}); pass another --out."
            ) from error
        if their_recipe != self.recipe:
            raise RunFolderError(
                f"{self.path!r} holds a run of {their_recipe}, not {self.recipe}; "
                "pass another --out."
            )
        unknown = sorted(set(their_config) - set(self.config))
        changed = [f"--{key.replace('_', '-')} {_show(value)} here, "
                   f"{_show(their_config.get(key))} there"
                   for key, value in sorted(self.config.items())
                   if value != their_config.get(key)]  # fmt: skip
        if not changed and not unknown:
            return
        trained = os.path.isdir(self.backup_dir) or os.path.exists(self.metrics_path)
        if not trained:  # a start that failed before its first backup binds nothing
            self._write_mark()
            return
        if unknown:  # edited by hand, or written by another version
            shown = ", ".join(unknown)
            raise RunFolderError(f"{mark!r} names settings that {self.recipe} does "
                                 f"not have ({shown}): it was edited or written by "
                                 "another version. Pass another --out.")  # fmt: skip
        summary = "; ".join(changed)
        if os.path.exists(self.metrics_path) and not os.path.isdir(self.backup_dir):
            raise RunFolderError(
                f"{self.path!r} holds a finished run of {self.recipe} with other "
                f"settings: {summary}. Pass another --out."
            )
        if not self.force_resume:
            raise RunFolderError(
                f"{self.path!r} holds a run of {self.recipe} with other settings: "
                f"{summary}. Pass the same flags to resume it, --force-resume to "
                "continue it with these, or another --out."
            )
        # Forced: the mark keeps the old settings until this run finishes, so a
        # forced start that fails leaves the original command working.
        self._forced = True

    def load_arrays(self, source, translate=0):
        """The run's data, both splits, checked: `(x_train, y_train), (x_test,
        y_test), class_names`, decoded once (`recipekit.data.load_arrays`).

        The test split is read with the training split's class names, so a test
        label the training set lacks is refused before any training; the data
        is recorded in the run's mark (`check_data`: a resume on other data is
        refused); with `translate`, images too small to be shifted that many
        pixels are refused (`check_translation`), naming the data.

        Examples:

        >>> import tempfile
        >>> with RunFolder(tempfile.mkdtemp(), "demo", {}) as run:
        ...     (x, y), (x_test, y_test), names = run.load_arrays("cifar10_sample")
        >>> x.shape, x_test.shape, len(names)
        ((5000, 32, 32, 3), (1000, 32, 32, 3), 10)
        """
        x_train, y_train, class_names = load_arrays(source, "train")
        x_test, y_test, _ = load_arrays(source, "test", class_names=class_names)
        self.check_data(class_names, len(x_train))
        if translate:
            check_translation(source, x_train.shape[1:], translate)
        return (x_train, y_train), (x_test, y_test), class_names

    def check_data(self, class_names, train_images):
        """Records the run's data in its mark (class names, training images)
        and refuses to resume on other data: a class added, removed or
        reordered, or another training set, would resume a backup whose
        weights do not fit it (or silently mean other classes).

        `finish` writes the class names into `metrics.json`, so whoever scores
        the saved model (`recipekit-tta`) can check its data's classes.
        """
        data = {"class_names": [str(c) for c in class_names],
                "train_images": int(train_images)}  # fmt: skip
        self.class_names = data["class_names"]
        if not self.check:
            return
        path = os.path.join(self.path, MARK)
        with open(path) as f:
            mark = json.load(f)
        theirs = mark.get("data")
        trained = os.path.isdir(self.backup_dir) or os.path.exists(self.metrics_path)
        if theirs is not None and trained and theirs != data:
            said = []
            if theirs["class_names"] != data["class_names"]:
                said.append(f"classes {theirs['class_names']} then, "
                            f"{data['class_names']} now")  # fmt: skip
            if theirs["train_images"] != data["train_images"]:
                said.append(f"{theirs['train_images']} training images then, "
                            f"{data['train_images']} now")  # fmt: skip
            raise RunFolderError(
                f"The data changed since {self.path!r} was trained: "
                f"{'; '.join(said)}. Resume with the data it was trained on, or "
                "pass another --out to train afresh."
            )
        if theirs != data:
            mark["data"] = data
            write_json(path, mark)

    def _write_mark(self):
        path = os.path.join(self.path, MARK)
        written = datetime.datetime.now().isoformat(timespec="seconds")
        mark = {"recipe": self.recipe, "config": self.config, "written": written}
        with contextlib.suppress(OSError, ValueError, AttributeError):
            with open(path) as f:
                data = json.load(f).get("data")  # kept: the data does not change
            if data is not None:
                mark["data"] = data
        write_json(path, mark)

    def _finished(self):
        if os.path.isdir(self.backup_dir) or not os.path.exists(self.metrics_path):
            return None
        with open(self.metrics_path) as f:
            metrics = json.load(f)
        if metrics.get("status", "finished") != "finished":
            return None
        return metrics

    def finish(self, metrics):
        """Writes `metrics.json` (status "finished"), then removes the backup."""
        metrics = {"status": "finished", **metrics}
        if self.class_names is not None:
            metrics.setdefault("class_names", self.class_names)
        write_json(self.metrics_path, metrics)
        if self._forced:
            self._write_mark()
        if os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)  # ours: the mark was checked on entry
        return metrics

    def stop(self, reason, config):
        """Records a run that stopped early; keeps its backup; raises."""
        write_json(self.metrics_path, {"status": "stopped", "reason": reason,
                                       "config": config})  # fmt: skip
        raise RunFolderError(
            f"Training stopped: {reason}. Nothing was saved from the bad steps "
            f"({self.metrics_path} says so). Lower the learning rate, or check "
            "the data, and pass another --out."
        )


def save_model(model, path):
    """`model.save(path)`, atomically: a full disk or a kill mid-write leaves
    the previous file (or none), never a truncated one.

    The model is saved to a hidden file beside `path`, then renamed over it.
    A failed write says which file, and that the run's backup (kept until
    `metrics.json` is written) resumes it.

    Examples:

    >>> import tempfile
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> save_model(model, path)
    >>> sorted(os.listdir(os.path.dirname(path)))
    ['model.keras']
    """
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.partial-{os.getpid()}.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except OSError as error:
        raise OSError(
            f"Could not write {path!r} ({error.strerror or error}); nothing was "
            "lost: free some space and rerun the same command, which resumes from "
            "the run's backup."
        ) from error
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _show(value):
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def one_process_only(recipe, why):
    """Refuses to start a recipe as one of N workers (TF_CONFIG, JAX's
    processes): it would train alone in each process and every process would
    write the same files. `why` says what keeps it on one process."""
    from recipekit.distribute import worker

    index, count = worker()
    if count > 1:
        raise RunFolderError(
            f"{recipe} runs on one process, and this is worker {index} of {count} "
            f"({why}). Start it without TF_CONFIG or KERAS_DISTRIBUTION_*; "
            "cifar10_resnet.py is the recipe that trains on N workers."
        )


def resume_or_train(recipe, config, train, *, free=("out", "force_resume"),
                    path=None, check=True):  # fmt: skip
    """A recipe's `main`: its folder claimed and locked, then `train(run)`,
    unless the folder holds the same run finished (its metrics, untouched).

    Args:
        recipe: the recipe's name.
        config: its settings, a dataclass with `out` and `force_resume`.
        train: called as `train(run)` with the open `RunFolder`; returns the
            metrics.
        free: settings a resumed run may change.
        path: the folder, if not `config.out` (another worker's, say).
        check: False on a worker that mirrors the chief's run.
    """
    import dataclasses

    settings = dataclasses.asdict(config)
    folder = RunFolder(path or config.out, recipe, settings, free=free,
                       force_resume=config.force_resume, check=check)  # fmt: skip
    with folder as run:
        if run.finished:
            print(f"{config.out} holds a finished run; nothing to do.")
            return run.finished
        return train(run)
