"""Files from and for the user: regular files only on the way in, atomic writes on the way out.

Reading: every path a command reads (a config, a deck, a volume, a data set, a
manifest, a checkpoint) goes through :func:`regular_file` first. It looks at
the path with ``stat`` and never opens it, so a named pipe (which would block
the reader until someone writes into it), a device such as ``/dev/zero`` or a
socket is refused at once with one line naming the path.

Writing: every file written "atomically" goes through :func:`atomic_writer`
(or :func:`atomic_write`): the data goes into a temporary file beside the
target, is flushed and ``fsync``-ed, and only then renamed over the target;
the folder is ``fsync``-ed after the rename. If anything fails on the way (a
full disk, an interrupt), the temporary file is removed and the target is
left as it was: the complete old file or none, never half of a new one.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from circuits.errors import ConfigError, CosimError

FILE_MODE = 0o644
"""Permissions of a file written by :func:`atomic_writer` (as ``open`` gives under umask 022)."""


def regular_file(path: Path | str, what: str = "file", *,
                 error: type[CosimError] = ConfigError) -> Path:
    """``path`` if it names a regular file (symbolic links followed); never opens it.

    Args:
        path: the file to read.
        what: what the file is, for the message (``"config"``, ``"--volume"``).
        error: the error class to raise (``ConfigError``; ``NetlistError`` for decks).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        error: one line ``cannot read <what> <path>: <reason>``, the reason one
            of ``no such file``, ``it is a folder``, ``not a regular file``
            (a named pipe, a device, a socket) or the operating system's.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"cannot read {what} {path}: no such file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise error(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}"
                    ) from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"cannot read {what} {path}: it is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"cannot read {what} {path}: not a regular file")
    return path


@contextmanager
def atomic_writer(path: Path | str, mode: str = "wb", **open_kw) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit, make it ``path`` atomically.

    Usage::

        with atomic_writer(run_dir / "checkpoint.npz") as f:
            np.savez(f, **arrays)

    The temporary file (``.<name>.<random>.tmp`` in the same folder) is
    flushed and ``fsync``-ed, renamed over ``path`` (``os.replace``), and the
    folder is ``fsync``-ed. On any exception, including ``KeyboardInterrupt``
    and a full disk, the temporary file is removed and the exception goes on.

    Args:
        path: the file to write; its folder must exist.
        mode: ``"wb"`` or ``"w"`` (text, then ``open_kw`` such as ``encoding``).
    """
    path = Path(path)
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_writer writes whole files: mode 'w' or 'wb', got {mode!r}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, mode, **open_kw) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(path.parent)


def atomic_write(path: Path | str, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_writer`); returns ``path``."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode(encoding)
    with atomic_writer(path, "wb") as handle:
        handle.write(data)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the OS lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
