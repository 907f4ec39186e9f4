"""N-MNIST-style events synthesised from static digits: saccades seen by a DVS model.

N-MNIST was recorded by moving a DVS camera in front of each MNIST digit along
three saccades (Orchard et al., Front. Neurosci. 9:437, 2015): about 100 ms
each, 300 ms in all, the digit (28 x 28) shifting by up to 6 pixels inside a
34 x 34 sensor. :func:`synthesize` does the same in software:

- **motion**: the digit's top-left corner moves along the triangle
  ``(0, 0) -> (3, 6) -> (6, 0) -> (0, 0)`` pixels (x, y), one saccade per side,
  at constant speed, sampled every ``step_us``; sub-pixel positions are
  bilinear interpolation of the image. The triangle is ours (the paper
  gives the 6-pixel range and the three saccades, not the exact corners).
- **pixel** (Lichtsteiner et al., IEEE JSSC 43:566, 2008): each pixel holds the
  log intensity ``L = ln(I + eps)`` it last fired at; when ``|L - L_ref|``
  reaches its threshold the pixel emits one ON (``L`` rose) or OFF event and
  resets ``L_ref = L``. Thresholds carry per-pixel mismatch
  (``C * (1 + mismatch * N(0, 1))``, one fixed draw per sensor, ON and OFF
  apart). After an event a pixel is blind for ``refractory_us``; during that
  time its reference is held, so a change keeps building and fires when the
  pixel wakes.

All samples of a chunk advance together, one array operation per time step
(vectorised over samples and pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.workloads.snn.nmnist import EVENT_DTYPE, SENSOR, SPLITS

SACCADE_CORNERS = ((0.0, 0.0), (3.0, 6.0), (6.0, 0.0), (0.0, 0.0))
"""Top-left corner of the digit at the start and end of each saccade (x, y) in pixels."""


@dataclass(frozen=True, kw_only=True)
class DVSConfig:
    """The synthetic camera and its motion.

    Attributes:
        contrast_threshold: nominal log-intensity step that fires a pixel.
        mismatch: relative std of the per-pixel thresholds.
        refractory_us: dead time of a pixel after an event (us).
        saccade_us: duration of one saccade (us); three make a recording.
        step_us: time step of the simulation (us); events are stamped with it.
        eps: intensity offset of the log (``I`` in ``[0, 1]``), the dark level.
        seed: seed of the sensor's threshold mismatch.
    """

    contrast_threshold: float = 0.45
    mismatch: float = 0.03
    refractory_us: int = 1000
    saccade_us: int = 100_000
    step_us: int = 1000
    eps: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        check_range("contrast_threshold", self.contrast_threshold, 0.0, 10.0, lo_open=True)
        check_range("mismatch", self.mismatch, 0.0, 1.0)
        check_int("refractory_us", self.refractory_us, 0, 10**6)
        check_int("saccade_us", self.saccade_us, 1, 10**6)
        check_int("step_us", self.step_us, 1, 10**6)
        if self.saccade_us < self.step_us:
            raise ConfigError(f"saccade_us ({self.saccade_us}) must be >= step_us "
                              f"({self.step_us})")
        check_range("eps", self.eps, 0.0, 10.0, lo_open=True)
        check_int("seed", self.seed, 0, 2**63 - 1)

    @property
    def n_steps(self) -> int:
        return 3 * (self.saccade_us // self.step_us)


@dataclass(frozen=True, kw_only=True, eq=False)
class EventSet:
    """Event recordings of many samples, concatenated.

    Attributes:
        events: ``EVENT_DTYPE`` events of every sample, sample by sample, each in time order.
        offsets: ``(N + 1,)``; sample ``i`` is ``events[offsets[i]:offsets[i+1]]``.
        labels: ``(N,)`` class of each sample.
        sensor: ``(width, height)``.
    """

    events: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    sensor: tuple[int, int] = field(default=SENSOR)

    def __len__(self) -> int:
        return int(self.labels.size)

    def sample(self, i: int) -> np.ndarray:
        return self.events[self.offsets[i]:self.offsets[i + 1]]

    def subset(self, idx: np.ndarray) -> EventSet:
        """The samples ``idx`` (indices in ``0..N-1``, in that order, repeats allowed).

        Raises:
            ConfigError: an index outside the set.
        """
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise ConfigError(f"sample indices must lie in 0..{len(self) - 1}")
        # slices joined: a memory copy each, faster than gathering the records by index
        parts = [self.sample(int(i)) for i in idx]
        counts = np.array([p.size for p in parts], dtype=np.int64)
        ev = np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
        return EventSet(events=ev, offsets=np.concatenate([[0], np.cumsum(counts)]),
                        labels=self.labels[idx], sensor=self.sensor)

    def frames(self, n_frames: int, split: str = "time") -> np.ndarray:
        """Every sample binned like :func:`cosim.workloads.snn.nmnist.bin_events`:
        ``(N, T, 2, height, width)`` float32 counts."""
        t_n = check_int("frames T", n_frames, 1, 10_000)
        if split not in SPLITS:
            raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
        w, h = self.sensor
        n = len(self)
        out = np.zeros((n, t_n, 2, h, w), dtype=np.float32)
        counts = np.diff(self.offsets)
        sid = np.repeat(np.arange(n), counts)
        if sid.size == 0:
            return out
        pos = np.arange(sid.size) - self.offsets[sid]
        if split == "number":
            per = (counts // t_n)[sid]
            idx = np.where(per > 0, np.minimum(pos // np.maximum(per, 1), t_n - 1), t_n - 1)
        else:
            t = self.events["t"].astype(np.int64)
            t0 = t[self.offsets[:-1][counts > 0]]
            t1 = t[self.offsets[1:][counts > 0] - 1]
            first = np.zeros(n, np.int64)
            dt = np.zeros(n, np.int64)
            first[counts > 0] = t0
            dt[counts > 0] = (t1 - t0) // t_n
            d = dt[sid]
            idx = np.where(d > 0, np.minimum((t - first[sid]) // np.maximum(d, 1), t_n - 1),
                           t_n - 1)
        ev = self.events
        flat = np.ravel_multi_index((sid, idx, ev["p"], ev["y"], ev["x"]), out.shape)
        np.add.at(out.reshape(-1), flat, np.float32(1.0))  # one flat index: numpy's fast path
        return out


def saccade_path(cfg: DVSConfig) -> np.ndarray:
    """Top-left corner of the digit at every step, ``(n_steps + 1, 2)`` (x, y) pixels."""
    per = cfg.saccade_us // cfg.step_us
    pts = []
    for (x0, y0), (x1, y1) in zip(SACCADE_CORNERS[:-1], SACCADE_CORNERS[1:], strict=True):
        f = np.arange(per) / per
        pts.append(np.stack([x0 + f * (x1 - x0), y0 + f * (y1 - y0)], axis=1))
    pts.append(np.array([SACCADE_CORNERS[-1]]))
    return np.concatenate(pts)


def _render(img: np.ndarray, x: float, y: float, sensor: tuple[int, int]) -> np.ndarray:
    """Images ``(B, h, w)`` in ``[0, 1]`` placed with top-left corner at sub-pixel ``(x, y)``."""
    b, ih, iw = img.shape
    sw, sh = sensor
    ix, iy = int(np.floor(x)), int(np.floor(y))
    fx, fy = x - ix, y - iy
    canvas = np.zeros((b, sh + 2, sw + 2), dtype=np.float32)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            if wy * wx:
                canvas[:, iy + dy:iy + dy + ih, ix + dx:ix + dx + iw] += (wy * wx) * img
    return canvas[:, :sh, :sw]


def synthesize(images: np.ndarray, labels: np.ndarray, cfg: DVSConfig = DVSConfig(), *,
               chunk: int = 100, progress=None) -> EventSet:
    """Events of every image (module docstring).

    Args:
        images: ``(N, 28, 28)`` grayscale, ``uint8`` 0..255 or float in ``[0, 1]``.
        labels: ``(N,)`` integer classes.
        cfg: camera and motion.
        chunk: samples simulated at once (memory ~ ``chunk * 34 * 34 * 30`` bytes; the
            events do not depend on it). The default keeps a step's arrays in a core's
            cache (``docs/measurements/snn.md``).
        progress: optional callable ``progress(n_done)`` after each chunk.

    Raises:
        ConfigError: images are not ``(N, 28, 28)`` finite values in range, or
            labels do not match them.
    """
    images, labels = check_images(images, labels)
    sensor = SENSOR
    sw, sh = sensor
    rng = np.random.default_rng(cfg.seed)
    thr = cfg.contrast_threshold * (1.0 + cfg.mismatch * rng.standard_normal((2, sh, sw)))
    thr = np.maximum(thr, 0.05 * cfg.contrast_threshold).astype(np.float32)
    thr_off, thr_on = thr[0], thr[1]
    path = saccade_path(cfg)
    refr_steps = int(np.ceil(cfg.refractory_us / cfg.step_us))
    parts, counts = [], np.zeros(len(labels), dtype=np.int64)
    for start in range(0, len(labels), chunk):
        img = images[start:start + chunk]
        b = img.shape[0]
        l_ref = np.log(_render(img, *path[0], sensor) + cfg.eps).reshape(-1)
        wake = np.zeros(l_ref.size, dtype=np.int32)  # first step a pixel may fire again
        t_on = np.broadcast_to(thr_on.reshape(-1), (b, sh * sw)).reshape(-1)
        t_off = np.broadcast_to(-thr_off.reshape(-1), (b, sh * sw)).reshape(-1)
        recs = []
        for k in range(1, path.shape[0]):
            lum = np.log(_render(img, *path[k], sensor) + cfg.eps).reshape(-1)
            d = lum - l_ref
            awake = wake <= k
            on = (d >= t_on) & awake
            fired = ((d <= t_off) & awake) | on
            idx = np.flatnonzero(fired)
            if idx.size:
                recs.append((idx, on[idx], np.full(idx.size, k, dtype=np.int32)))
                l_ref[idx] = lum[idx]
                wake[idx] = k + refr_steps
        if recs:
            flat, p, k = (np.concatenate(a) for a in zip(*recs, strict=True))
        else:
            flat, p, k = np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int32)
        s, rest = np.divmod(flat, sh * sw)
        y, x = np.divmod(rest, sw)
        order = np.lexsort((x, y, k, s))  # by sample, then time
        ev = np.zeros(order.size, EVENT_DTYPE)
        ev["x"], ev["y"] = x[order], y[order]
        ev["p"], ev["t"] = p[order], k[order] * cfg.step_us
        parts.append(ev)
        counts[start:start + b] = np.bincount(s, minlength=b)
        if progress is not None:
            progress(b)
    events = np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
    return EventSet(events=events, offsets=np.concatenate([[0], np.cumsum(counts)]),
                    labels=labels.copy(), sensor=sensor)


def check_images(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 ``(N, 28, 28)`` in ``[0, 1]`` and labels as int64 ``(N,)``.

    Raises:
        ConfigError: wrong shape, non-finite or out-of-range values, labels that do
            not match the images in number or are not classes 0..9.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ConfigError(f"images must have shape (N, 28, 28), got {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ConfigError(f"labels do not match the images: {labels.shape[0] if labels.ndim else 0}"
                          f" labels for {images.shape[0]} images")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer) and
                        not np.all(np.equal(np.mod(labels, 1), 0))):
        raise ConfigError("labels must be whole numbers 0..9")
    lab = labels.astype(np.int64)
    if lab.size and (lab.min() < 0 or lab.max() > 9):
        raise ConfigError(f"labels must be classes 0..9, got {int(lab.min())}..{int(lab.max())}")
    img = images.astype(np.float32)
    if not np.all(np.isfinite(img)):
        raise ConfigError("images hold NaN or infinite values")
    if images.dtype == np.uint8 or (img.size and img.max() > 1.0):
        if img.size and (img.min() < 0 or img.max() > 255):
            raise ConfigError(f"pixel values must lie in 0..255 (or 0..1), got "
                              f"{img.min():g}..{img.max():g}")
        img = img / 255.0
    elif img.size and img.min() < 0:
        raise ConfigError(f"pixel values must lie in 0..1 (or 0..255), got min {img.min():g}")
    return img, lab
