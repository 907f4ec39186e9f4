"""Content-hash cache of SPICE results and extracted matrices.

Only pure things are cached: an entry is a function of its key, and the key is
the SHA-256 of everything the value depends on (netlist text, parameter digest,
inputs, the simulator version, an algorithm version tag). Entries are ``.npz``
files of named arrays under one folder: ``$COSIM_CACHE_DIR`` when set, else
``.cache/`` in the project root.

Writers never leave a half-written entry: a value is written through
:func:`circuits.files.atomic_writer` (a temporary file in the same folder,
``fsync``-ed, moved into place with ``os.replace``, removed on failure). Two
processes writing the same key at once both succeed and the survivor is a
complete file (both hold the same value, since the key fixes it). A file that
cannot be read (truncated by a crash of a pre-atomic writer, disk trouble)
counts as a miss.

No I/O happens until the first ``get`` or ``put``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from circuits.files import atomic_writer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_VAR = "COSIM_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$COSIM_CACHE_DIR`` if set, else ``.cache/`` in the project root."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else PROJECT_ROOT / ".cache"


def cache_key(*parts: object) -> str:
    """SHA-256 (hex) of ``parts``, each hashed with its type so ``1`` != ``"1"``.

    Accepts strings, bytes, numbers, ``None``, numpy arrays (dtype, shape and
    bytes), frozen dataclasses (their ``repr``), and tuples/lists of these.
    """
    h = hashlib.sha256()
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


def _feed(h: Any, part: object) -> None:
    if isinstance(part, np.ndarray):
        a = np.ascontiguousarray(part)
        h.update(b"A" + a.dtype.str.encode() + repr(a.shape).encode() + b":")
        h.update(a.tobytes())
    elif isinstance(part, bytes):
        h.update(b"B%d:" % len(part) + part)
    elif isinstance(part, str):
        data = part.encode()
        h.update(b"S%d:" % len(data) + data)
    elif isinstance(part, (tuple, list)):
        h.update(b"T%d:" % len(part))
        for item in part:
            _feed(h, item)
    elif part is None or isinstance(part, (bool, int, float, np.generic)):
        h.update(b"N" + repr(part).encode() + b";")
    elif dataclasses.is_dataclass(part) and not isinstance(part, type):
        h.update(b"D" + repr(part).encode() + b";")
    else:
        raise TypeError(f"cannot hash a {type(part).__name__} into a cache key")


class ResultCache:
    """A folder of ``<key>.npz`` entries, safe for concurrent writers.

    Args:
        folder: where entries live; ``None`` means ``default_cache_dir()``,
            resolved at each use.
        enabled: ``False`` makes every ``get`` a miss and every ``put`` a no-op.
    """

    def __init__(self, folder: Path | str | None = None, *, enabled: bool = True):
        self._folder = None if folder is None else Path(folder)
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    @property
    def folder(self) -> Path:
        return self._folder if self._folder is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        """File of entry ``key`` (two-letter fan-out folders keep listings short)."""
        return self.folder / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or ``None`` on a miss."""
        if not self.enabled:
            return None
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as npz:
                value = {name: npz[name] for name in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, arrays: Mapping[str, np.ndarray]) -> Path | None:
        """Store ``arrays`` under ``key`` atomically; returns the file (``None`` if disabled)."""
        if not self.enabled:
            return None
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path) as f:
            np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
        return path

    def get_or_compute(self, key: str,
                       compute: Callable[[], Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
        """``get(key)``, or compute, ``put`` and return the value on a miss."""
        value = self.get(key)
        if value is None:
            value = {k: np.asarray(v) for k, v in compute().items()}
            self.put(key, value)
        return value
