"""The user's inputs and labels for an imported network, read and checked before any work.

- Inputs (``--data``): a ``.npy`` array, or an ``.npz`` archive whose member
  is named ``inputs``, after the model's input, or is its only member (an
  ``labels`` member beside it gives the labels). The first axis is the batch;
  the rest must match the model's input (dimensions it leaves free take any
  size). For a spiking network also the SNN workload's data folders
  (:func:`cosim.workloads.snn.data.load_user_data`: an N-MNIST folder, or
  images and labels as ``.npy`` or IDX files, turned into events), binned into
  ``T`` frames; their labels come with them.
- Labels (``--labels``): a ``.npy`` (or an ``.npz`` with one member or a
  ``labels`` member) of one whole number in ``0 .. classes - 1`` per input.

Every file goes through the checked readers of :mod:`circuits.files` (regular
files only, headers checked against the file's size and the machine's memory).
A failed check is one :class:`ConfigError` line naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuits.errors import ConfigError
from circuits.files import checked_npz, load_npy, regular_file
from cosim.workloads.imported.ir import TensorSpec

ARRAY_SUFFIXES = (".npy", ".npz")
WORK_BYTES_PER_VALUE = 32.0
"""Memory a deployment needs per input value beyond the array (float64 copies in the
float and hardware passes), for the memory check of the input file."""


def _npz_member(path: Path, what: str, names: tuple[str, ...]) -> tuple[np.ndarray,
                                                                        np.ndarray | None]:
    """The array of an ``.npz`` named by one of ``names`` (or its only member), and its
    ``labels`` member if there is one."""
    with checked_npz(path, what, work_bytes_per_value=WORK_BYTES_PER_VALUE) as z:
        members = list(z.files)
        data_members = [m for m in members if m != "labels"]
        pick = next((m for m in names if m in members), None)
        if pick is None and len(data_members) == 1:
            pick = data_members[0]
        if pick is None:
            raise ConfigError(f"{what} {path} holds {', '.join(members) or 'no arrays'}; name "
                              f"the inputs {' or '.join(repr(n) for n in names)}")
        try:
            x = z[pick]
            labels = z["labels"] if "labels" in members and pick != "labels" else None
        except (ValueError, OSError, EOFError) as exc:
            raise ConfigError(f"{what} {path} cannot be read: {exc}") from None
    return x, labels


def read_array(path: Path | str, what: str, names: tuple[str, ...] = ("inputs",)
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """An ``.npy`` or ``.npz`` array (module docstring) and the archive's labels, if any."""
    path = Path(path)
    if path.suffix.lower() not in ARRAY_SUFFIXES:
        raise ConfigError(f"{what} {path}: give a .npy or .npz file")
    regular_file(path, what)
    if path.suffix.lower() == ".npy":
        return load_npy(path, f"{what} {path}", work_bytes_per_value=WORK_BYTES_PER_VALUE), None
    return _npz_member(path, what, names)


def check_inputs(x: np.ndarray, spec: TensorSpec, what: str) -> np.ndarray:
    """``x`` as the model's input takes it: numeric, finite, shape ``(N, *spec.shape[1:])``.

    Returns:
        float64 (or int64 for an integer input) array.

    Raises:
        ConfigError: the wrong rank or a dimension that does not match, no inputs,
            non-numeric or non-finite values, fractions for an integer input.
    """
    x = np.asarray(x)
    want = "(" + ", ".join("N" if i == 0 else ("any" if d is None else str(d))
                           for i, d in enumerate(spec.shape)) + ")"
    if x.dtype.kind not in "biuf":
        raise ConfigError(f"{what} holds {x.dtype} values; numbers are needed")
    if spec.shape and (x.ndim != len(spec.shape)
                       or any(d is not None and x.shape[i] != d
                              for i, d in enumerate(spec.shape) if i > 0)):
        raise ConfigError(f"{what} has shape {x.shape}; the model's input {spec.name!r} takes "
                          f"{want}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ConfigError(f"{what} holds no inputs")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise ConfigError(f"{what} holds NaN or infinite values")
    if spec.dtype == "int64":
        if x.dtype.kind == "f" and not np.all(x == np.round(x)):
            raise ConfigError(f"{what}: the model's input {spec.name!r} takes integers")
        return x.astype(np.int64)
    return x.astype(np.float64)


def check_labels(labels: np.ndarray, n: int, classes: int | None, what: str) -> np.ndarray:
    """Labels ``(n,)`` of whole numbers in ``0 .. classes - 1``.

    Raises:
        ConfigError: the wrong count or shape, fractions, or a label out of range.
    """
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n:
        raise ConfigError(f"{what} has shape {y.shape}; one label per input ({n},) is needed")
    if y.dtype.kind not in "biuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise ConfigError(f"{what} must hold whole numbers (class indices)")
    y = y.astype(np.int64)
    if classes is not None and (y.min() < 0 or y.max() >= classes):
        raise ConfigError(f"{what}: labels must lie in 0..{classes - 1} (the model has "
                          f"{classes} outputs), got {int(y.min())}..{int(y.max())}")
    return y


def load_labels(path: Path | str, n: int, classes: int | None) -> np.ndarray:
    """``--labels``: checked labels (:func:`check_labels`)."""
    y, _ = read_array(path, "--labels", ("labels",))
    return check_labels(y, n, classes, f"--labels {path}")


def load_inputs(path: Path | str, spec: TensorSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """``--data``: the checked inputs (:func:`check_inputs`) and an archive's own labels."""
    x, labels = read_array(path, "--data", ("inputs", spec.name))
    return check_inputs(x, spec, f"--data {path}"), labels


def load_spiking_inputs(path: Path | str, spec: TensorSpec, timesteps: int,
                        cache_dir: Path | str | None = None
                        ) -> tuple[np.ndarray, np.ndarray | None]:
    """``--data`` of a spiking network: ``(N, T, *input)`` frames and any labels.

    An array is ``(N, T, *input)`` (its own ``T``) or ``(N, *input)`` (repeated at
    each of ``timesteps`` steps); a folder holds the SNN's data (module docstring),
    binned into ``timesteps`` frames by time.

    Raises:
        ConfigError: a bad file or folder, or frames that do not match the input.
    """
    from cosim.workloads.snn.data import load_user_data, user_data_files
    from cosim.workloads.snn.dvs import DVSConfig

    p = Path(path)
    shape = tuple(d for d in spec.shape[1:])
    size = int(np.prod(shape)) if shape else None
    if p.is_dir():
        user_data_files(p)
        es = load_user_data(p, DVSConfig(), cache_dir)
        frames = es.frames(timesteps, "time")
        frames = frames.reshape(frames.shape[0], frames.shape[1], -1)
        if size is not None and frames.shape[2] != size:
            raise ConfigError(f"--data {p}: its frames have {frames.shape[2]} values per step "
                              f"(2 x 34 x 34 events), the network's input {size}")
        return frames.reshape(frames.shape[0], timesteps, *shape).astype(np.float64), \
            es.labels.astype(np.int64)
    x, labels = read_array(p, "--data")
    x = np.asarray(x)
    what = f"--data {p}"
    if x.dtype.kind not in "biuf":
        raise ConfigError(f"{what} holds {x.dtype} values; numbers are needed")
    if x.ndim >= 1 and x.shape[1:] == shape:
        x = np.repeat(x[:, None], timesteps, axis=1)
    elif not (x.ndim >= 2 and x.shape[2:] == shape):
        want = ", ".join(map(str, shape))
        raise ConfigError(f"{what} has shape {x.shape}; the network takes (N, T, {want}) or "
                          f"(N, {want})")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ConfigError(f"{what} holds no inputs or no timesteps")
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise ConfigError(f"{what} holds NaN or infinite values")
    return x.astype(np.float64), labels
