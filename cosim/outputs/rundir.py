"""Run folders: where a command writes its tables, figures and manifest.

Every command that writes a run folder opens it with :func:`prepare_run_dir`
before any work: the folder is checked (a writable folder, empty unless the
command resumes work already there) and locked for the command's lifetime,
so two runs never write into one folder.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from circuits.errors import ConfigError
from cosim.paths import RESULTS_ROOT

LOCK_FILE = ".cosim.lock"
"""Lock file a run holds (``fcntl.flock``) in its folder while it runs; holds its pid."""

_HELD: dict[Path, int] = {}
"""Folders this process holds, with how many nested :func:`prepare_run_dir` hold each."""


def new_run_dir(name: str, root: Path = RESULTS_ROOT) -> Path:
    """A fresh, empty folder ``root/<name>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3`` ... if taken).

    The folder is created here (atomically), so two commands started in the
    same second get different folders.
    """
    base = Path(root) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output root {base.parent}: {_reason(exc)}") from None
    path, n = base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        except OSError as exc:
            raise ConfigError(f"cannot create run folder {path}: {_reason(exc)}") from None


@contextmanager
def prepare_run_dir(path: Path | str, *, resume: bool = False,
                    resumable: bool = False) -> Iterator[Path]:
    """Check, create and lock a run folder for the lifetime of the ``with`` block.

    Call it before any work, so a bad ``-o`` fails at once::

        with prepare_run_dir(run_dir) as run_dir:
            ...  # compute and write into run_dir

    The folder is created if missing. It must be empty (a lock file left by a
    run that was killed does not count) unless ``resume`` is true. While the
    block runs, ``run_dir/.cosim.lock`` is held with ``fcntl.flock`` and holds
    this process's pid; the lock goes when the block ends or the process dies.
    Nested calls on the same folder in one process (a command, then the
    library function it calls) share the outer lock.

    Args:
        path: the run folder (``-o``).
        resume: the command continues work already in the folder (``--resume``),
            so a non-empty folder is accepted.
        resumable: the command has ``--resume``; the message for a non-empty
            folder then suggests it.

    Yields:
        The folder, as a ``Path``.

    Raises:
        ConfigError: (one line) empty path; the path or one of its parents is a
            file; the folder cannot be created or written; another run holds it
            ("... is in use by another run (pid N)"); it is not empty and
            ``resume`` is false.
    """
    if path is None or not str(path).strip():
        raise ConfigError("output folder: empty path; give a folder name with -o")
    run_dir = Path(path)
    key = run_dir.resolve()
    if key in _HELD:  # nested in a block of this process that holds the folder
        if not resume:
            _check_empty(run_dir, resumable)
        _HELD[key] += 1
        try:
            yield run_dir
        finally:
            _HELD[key] -= 1
        return
    _make_dir(run_dir)
    if not resume and LOCK_FILE not in _entries(run_dir, with_lock=True):
        _check_empty(run_dir, resumable)  # refuse before writing anything there
    fd = _lock(run_dir)
    try:
        if not resume:
            _check_empty(run_dir, resumable)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except BaseException:
        _unlock(run_dir, fd)
        raise
    _HELD[key] = 1
    try:
        yield run_dir
    finally:
        del _HELD[key]
        _unlock(run_dir, fd)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _make_dir(run_dir: Path) -> None:
    for parent in [run_dir, *run_dir.parents]:
        if parent.exists() and not parent.is_dir():
            what = "is a file" if parent == run_dir else f"is under {parent}, which is a file"
            raise ConfigError(f"output folder {run_dir} {what}; choose a folder path")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output folder {run_dir}: {_reason(exc)}") from None
    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"output folder {run_dir} is not writable")


def _entries(run_dir: Path, *, with_lock: bool = False) -> list[str]:
    names = sorted(os.listdir(run_dir))
    return names if with_lock else [n for n in names if n != LOCK_FILE]


def _check_empty(run_dir: Path, resumable: bool) -> None:
    names = _entries(run_dir)
    if names:
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        hint = " or pass --resume to continue the sweep there" if resumable else ""
        raise ConfigError(f"output folder {run_dir} is not empty (holds {shown}); choose a "
                          f"new folder{hint}")


def _lock(run_dir: Path) -> int:
    """Open and lock ``run_dir/.cosim.lock``; the file descriptor holding the lock."""
    lock = run_dir / LOCK_FILE
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ConfigError(f"output folder {run_dir} is not writable: "
                              f"{_reason(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise ConfigError(f"output folder {run_dir} is in use by another run "
                                  f"(pid {pid}); choose another folder") from None
            raise ConfigError(f"cannot lock output folder {run_dir}: {_reason(exc)}") from None
        try:  # the holder we waited on may have removed the file: lock the current one
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


def _unlock(run_dir: Path, fd: int) -> None:
    try:
        os.unlink(run_dir / LOCK_FILE)  # while still locked, so no one locks a stale file
    except OSError:
        pass
    os.close(fd)
