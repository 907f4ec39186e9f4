"""Files from and for the user: regular files only on the way in, atomic writes on the way out.

Reading: every path a command reads (a config, a deck, a volume, a data set, a
manifest, a checkpoint) goes through :func:`regular_file` first. It looks at
the path with ``stat`` and never opens it, so a named pipe (which would block
the reader until someone writes into it), a device such as ``/dev/zero`` or a
socket is refused at once with one line naming the path.

Arrays: :func:`load_npy` and :func:`checked_npz` read a NumPy file's header
first and refuse, before anything is allocated, an array the file cannot hold
(a header announcing 4096^3 values in a 1 KB file) or one too large for this
machine's memory (with the estimate, as :func:`circuits.errors.check_memory`).

Writing: every file written "atomically" goes through :func:`atomic_writer`
(or :func:`atomic_write`): the data goes into a temporary file beside the
target, is flushed and ``fsync``-ed, and only then renamed over the target;
the folder is ``fsync``-ed after the rename. If anything fails on the way (a
full disk, an interrupt), the temporary file is removed and the target is
left as it was: the complete old file or none, never half of a new one.
"""

from __future__ import annotations

import math
import os
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from circuits.errors import ConfigError, CosimError, check_memory, format_bytes

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


def read_regular(path: Path | str, what: str, limit: int, *,
                 error: type[CosimError] = ConfigError) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them, checked on the open file too.

    :func:`regular_file` looks at the path; this opens it without blocking
    (``O_NONBLOCK``) and checks the opened file again, so a file swapped for a
    named pipe between the look and the open is refused, not waited on.

    Raises:
        error: as :func:`regular_file`, or ``more than <limit> bytes``.
    """
    path = regular_file(path, what, error=error)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error(f"cannot read {what} {path}: not a regular file")
        try:
            blob = handle.read(limit + 1)
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(blob) > limit:
        raise error(f"cannot read {what} {path}: more than the {limit} bytes allowed")
    return blob


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


def npy_header(handle: IO[bytes], what: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data bytes)`` of the ``.npy`` array whose header starts ``handle``.

    Raises:
        ConfigError: not a ``.npy`` header, an object (pickled) array, or a
            header version this reader does not know.
    """
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ConfigError(f"{what}: .npy format version {version} is not read here "
                              f"(1.0 and 2.0 are)")
    except (ValueError, EOFError, OSError) as exc:
        raise ConfigError(f"{what} cannot be read: not a NumPy array file "
                          f"({_first_line(exc)})") from None
    if dtype.hasobject:
        raise ConfigError(f"{what}: holds Python objects (pickled data), which are not read")
    return tuple(shape), dtype, math.prod(shape) * dtype.itemsize


def _check_array(what: str, shape: tuple[int, ...], dtype: np.dtype, nbytes: int,
                 available: int, work_bytes_per_value: float) -> None:
    check_memory(f"{what} (an array of shape {shape}, {dtype})",
                 nbytes + work_bytes_per_value * math.prod(shape),
                 hint="check the file, or use a smaller array")
    if nbytes > available:
        raise ConfigError(f"{what}: its header announces shape {shape} of {dtype} "
                          f"({format_bytes(nbytes)}), but the file holds "
                          f"{format_bytes(available)} of data (truncated or corrupt)")


def load_npy(path: Path | str, what: str, *, work_bytes_per_value: float = 0.0) -> np.ndarray:
    """A ``.npy`` array, its header checked against the file's size and this machine's memory.

    Args:
        path: the ``.npy`` file.
        what: the file, for messages (``"--volume 'v.npy'"``).
        work_bytes_per_value: memory the caller needs per value beyond the array
            itself (e.g. 24 for three float64 copies), counted in the estimate.

    Raises:
        ConfigError: not a regular file, not a ``.npy`` array, an array larger
            than the file or than this machine's memory.
    """
    path = regular_file(path, what)
    try:
        with path.open("rb") as handle:
            shape, dtype, nbytes = npy_header(handle, what)
            available = path.stat().st_size - handle.tell()
    except OSError as exc:
        raise ConfigError(f"{what} cannot be read: {exc.strerror or exc}") from None
    _check_array(what, shape, dtype, nbytes, available, work_bytes_per_value)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ConfigError(f"{what} cannot be read: {_first_line(exc)}") from None


@contextmanager
def checked_npz(path: Path | str, what: str, *, work_bytes_per_value: float = 0.0
                ) -> Iterator[np.lib.npyio.NpzFile]:
    """Open an ``.npz`` archive (``np.load``) once every member's header has been checked.

    Each member's array must fit in that member's stored size, and all of
    them together in this machine's memory, before any is read.

    Raises:
        ConfigError: not a regular file or not an ``.npz`` archive, or a member
            as :func:`load_npy` refuses it.
    """
    path = regular_file(path, what)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{what} cannot be read: {_first_line(exc)}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ConfigError(f"{what}: not an .npz archive")
    with archive:
        total, values = 0, 0
        for info in archive.zip.infolist():
            name = f"{what} member {info.filename!r}"
            try:
                with archive.zip.open(info) as member:
                    shape, dtype, nbytes = npy_header(member, name)
                    available = info.file_size - member.tell()
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise ConfigError(f"{name} cannot be read: {_first_line(exc)}") from None
            _check_array(name, shape, dtype, nbytes, available, 0.0)
            total, values = total + nbytes, values + math.prod(shape)
        check_memory(f"{what} ({format_bytes(total)} of arrays)",
                     total + work_bytes_per_value * values,
                     hint="check the file, or use a smaller array")
        yield archive


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
