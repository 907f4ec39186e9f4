"""N-MNIST event files and their binning into frames.

**Format** (Orchard et al., Front. Neurosci. 9:437, 2015; the dataset's own
``Read_Ndataset.m``): every event is 5 bytes, big-endian bit fields of one
40-bit word::

    bits 39-32  x            (8 bits, 0..33 on the 34 x 34 sensor)
    bits 31-24  y            (8 bits)
    bit  23     polarity     (1 = ON, brighter; 0 = OFF)
    bits 22-0   timestamp    (23 bits, microseconds)

**Frames**: ``bin_events`` integrates events into ``T`` frames of shape
``(2, 34, 34)``: channel 0 counts OFF events, channel 1 ON events (the
polarity bit used as the channel index), each pixel the number of events in
the bin. Two ways of splitting, as spikingjelly's
``integrate_events_by_fixed_frames_number`` does (the PRIME code reads
N-MNIST through spikingjelly):

- ``"time"``: ``T`` equal slices of ``[t_first, t_last]``; slice ``i`` holds
  ``t_first + i*dt <= t < t_first + (i+1)*dt`` with ``dt = (t_last - t_first) // T``
  and the last slice running to ``t_last`` inclusive. The PRIME code trains
  and tests with this (``split_by='time'``).
- ``"number"``: ``T`` slices of ``N // T`` consecutive events, the last one
  taking the remainder. The PRIME early-stop script uses this
  (``split_by='number'``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from circuits.errors import ConfigError, check_choice, check_int
from circuits.files import regular_file

SENSOR = (34, 34)
"""N-MNIST sensor (width x, height y)."""

EVENT_BYTES = 5
SPLITS = ("time", "number")
EVENT_DTYPE = np.dtype([("x", np.uint8), ("y", np.uint8), ("p", np.uint8), ("t", np.int64)])
"""One event: pixel ``(x, y)``, polarity ``p`` (1 ON, 0 OFF), time ``t`` in microseconds."""

MAX_FILE_BYTES = 64 * 2**20


def decode_events(data: bytes, *, sensor: tuple[int, int] = SENSOR,
                  name: str = "event data") -> np.ndarray:
    """Decode N-MNIST bytes (module docstring) into an ``EVENT_DTYPE`` array.

    Raises:
        ConfigError: the length is not a multiple of 5 (a truncated file), a
            pixel lies outside ``sensor``, or time runs backwards.
    """
    n, rest = divmod(len(data), EVENT_BYTES)
    if rest:
        raise ConfigError(f"{name}: {len(data)} bytes is not a whole number of 5-byte "
                          f"N-MNIST events ({rest} bytes left over: truncated or not "
                          "N-MNIST)")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(n, EVENT_BYTES).astype(np.int64)
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev["x"] = raw[:, 0]
    ev["y"] = raw[:, 1]
    ev["p"] = raw[:, 2] >> 7
    ev["t"] = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    w, h = sensor
    if n and (int(ev["x"].max()) >= w or int(ev["y"].max()) >= h):
        raise ConfigError(f"{name}: pixel ({int(ev['x'].max())}, {int(ev['y'].max())}) lies "
                          f"outside the {w}x{h} sensor (not N-MNIST, or a corrupt file)")
    if n > 1 and np.any(np.diff(ev["t"]) < 0):
        bad = int(np.argmax(np.diff(ev["t"]) < 0)) + 1
        raise ConfigError(f"{name}: timestamps run backwards at event {bad} "
                          f"({int(ev['t'][bad - 1])} -> {int(ev['t'][bad])} us): corrupt file")
    return ev


def read_events(path: Path | str, *, sensor: tuple[int, int] = SENSOR) -> np.ndarray:
    """Read one N-MNIST ``.bin`` recording; see :func:`decode_events`.

    Raises:
        ConfigError: the file is missing, empty, too large or not N-MNIST.
    """
    path = regular_file(path, "N-MNIST file")
    size = path.stat().st_size
    if size == 0:
        raise ConfigError(f"N-MNIST file {path} is empty")
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"N-MNIST file {path} is {size} bytes, more than one recording "
                          f"can be ({MAX_FILE_BYTES})")
    return decode_events(path.read_bytes(), sensor=sensor, name=str(path))


def encode_events(ev: np.ndarray) -> bytes:
    """The N-MNIST bytes of ``EVENT_DTYPE`` events (inverse of :func:`decode_events`)."""
    t = ev["t"].astype(np.int64)
    if ev.size and (t.min() < 0 or t.max() >= 2**23):
        raise ConfigError("timestamps must lie in 0 .. 2**23 - 1 us for N-MNIST")
    raw = np.empty((ev.size, EVENT_BYTES), dtype=np.uint8)
    raw[:, 0] = ev["x"]
    raw[:, 1] = ev["y"]
    raw[:, 2] = (ev["p"].astype(np.int64) << 7) | (t >> 16)
    raw[:, 3] = (t >> 8) & 0xFF
    raw[:, 4] = t & 0xFF
    return raw.tobytes()


def bin_events(ev: np.ndarray, n_frames: int, *, split: str = "time",
               sensor: tuple[int, int] = SENSOR) -> np.ndarray:
    """Integrate events into ``(n_frames, 2, height, width)`` counts (module docstring).

    Args:
        ev: ``EVENT_DTYPE`` events in time order.
        n_frames: ``T >= 1``.
        split: ``"time"`` or ``"number"``.
        sensor: ``(width, height)``.

    Returns:
        ``float32`` counts; an empty recording gives zeros.
    """
    t_n = check_int("frames T", n_frames, 1, 10_000)
    check_choice("split", split, SPLITS)
    w, h = sensor
    frames = np.zeros((t_n, 2, h, w), dtype=np.float32)
    n = ev.size
    if n == 0:
        return frames
    if split == "number":
        per = n // t_n
        idx = np.minimum(np.arange(n) // per, t_n - 1) if per else np.full(n, t_n - 1)
    else:
        t = ev["t"].astype(np.int64)
        dt = (int(t[-1]) - int(t[0])) // t_n
        idx = np.minimum((t - t[0]) // dt, t_n - 1) if dt else np.full(n, t_n - 1)
    flat = np.ravel_multi_index((idx, ev["p"], ev["y"], ev["x"]), frames.shape)
    np.add.at(frames.reshape(-1), flat, np.float32(1.0))  # one flat index: numpy's fast path
    return frames
