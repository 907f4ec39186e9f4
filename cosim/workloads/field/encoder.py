"""Input encodings of the neural field; the Gaussian one on RRAM random pairs.

Every encoding maps voxel coordinates ``x`` in ``[-1, 1]^3`` to features. The
Fourier encodings are ``[x, sin(2 pi B x), cos(2 pi B x)]`` (Tancik et al. 2020,
NF paper Fig. 4b), ``3 + 2 m`` values for ``m`` rows of ``B``:

- ``gaussian`` (GE): ``B = sigma * W^T`` where ``W`` (3 x m) is the matrix of
  *differential pairs* of formed cells (:class:`cosim.programming.pairs.RandomPairs`:
  ``w = (G+ - G-) / (sqrt 2 * forming std)``, about ``N(0, 1)``), so ``B`` is
  Gaussian with std ``sigma``. The projection ``W^T x`` runs
  through an :class:`cosim.layers.analog.AnalogLayer` (tile read path: DAC,
  read noise, wires if any, ADC) and is scaled by ``sigma`` digitally; sin and
  cos run in the digital core as fixed-point CORDIC (:mod:`.cordic`). The
  software model uses ``B`` as the cells hold it (``layer.weights()``) with
  numpy's sin and cos.
- ``positional``: ``B`` holds one axis per row with frequencies
  ``sigma**(j / (m/3))``, ``j = 0 .. m/3 - 1``, cycling over x, y, z (Tancik's
  positional encoding; ``m = 64`` as in the NF paper), computed digitally.
- ``basic``: ``B = I`` (3 x 3): ``[x, sin(2 pi x), cos(2 pi x)]``, 9 values.
- ``none``: ``x`` alone, 3 values.

Scale: ``sigma`` is in cycles per unit of ``x``; ``x`` spans 2 units per axis, so
``sigma`` here is Tancik's ``sigma`` (coordinates in ``[0, 1)``) divided by 2, and
a frequency ``f`` gives ``2 f`` periods across the volume (Nyquist of ``n``
voxels: ``n / 4``). Each Fourier encoding has its own default scale
(:data:`DEFAULT_SCALES`), as Tancik et al. tune ``sigma`` per encoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circuits.errors import ConfigError, check_choice, check_int, check_range
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.layers.averaging import MAX_READS, averaged_read
from cosim.programming.pairs import RandomPairs
from cosim.workloads.field.cordic import CordicConfig, cordic_steps, sincos_turns

ENCODINGS = ("gaussian", "positional", "basic", "none")

ONE_READ_CALIBRATION = {"calibration_reads": 1}
"""The calibration of a stored config that names none: one read of each one-hot input,
the ``B`` a model stored without the key was trained on (defaults under a stored
config's own keys)."""

DEFAULT_SCALES = {"gaussian": 2.0, "positional": 32.0}
"""Each Fourier encoding's scale when ``sigma`` is not given, from a sweep of the
scales (:mod:`.encodings`; figures in ``docs/measurements/field.md``). Gaussian: 2
(the NF code's is 4; 2 fits the default phantom better after the default
training, and keeps HAQ within the field's targets). Positional: 32, top
frequency 27 per unit, the largest base whose top frequency stays below the
in-plane Nyquist of the default 128 x 128 slices (32 per unit)."""


@dataclass(frozen=True, kw_only=True)
class EncoderConfig:
    """Which encoding, and its size.

    Attributes:
        kind: one of ``ENCODINGS``.
        n_frequencies: rows ``m`` of ``B`` (gaussian, positional); NF paper 64.
        sigma: std of the Gaussian ``B``, or the top-frequency base of the
            positional encoding, in cycles per unit of ``x``; ``None`` for the
            encoding's own default (:data:`DEFAULT_SCALES`).
        cordic: the digital core's CORDIC for the deployed sin/cos.
        reads: analog reads of the Gaussian projection averaged per input (1 to
            :data:`cosim.layers.averaging.MAX_READS`); the read noise of ``B x`` falls as
            ``1 / sqrt(reads)``, and every read is counted in the events (its
            cells, DACs, ADCs) with ``reads - 1`` digital additions per output.
        calibration_reads: reads of each one-hot input averaged when the chip
            measures the ``B`` its cells compute (once, before training; 1 to
            :data:`cosim.layers.averaging.MAX_READS`): the training's ``B`` is off by
            the calibration's read noise divided by ``sqrt(calibration_reads)``.
    """

    kind: str = "gaussian"
    n_frequencies: int = 64
    sigma: float | None = None
    cordic: CordicConfig = field(default_factory=CordicConfig)
    reads: int = 1
    calibration_reads: int = 256

    def __post_init__(self) -> None:
        check_choice("encoding", self.kind, ENCODINGS)
        check_int("encoder frequencies", self.n_frequencies, 1, 4096)
        check_int("encoder reads", self.reads, 1, MAX_READS)
        check_int("encoder calibration reads", self.calibration_reads, 1, MAX_READS)
        if self.sigma is None:
            return
        if not np.isfinite(self.sigma):
            raise ConfigError(f"encoder sigma must be a finite number > 0, got {self.sigma!r}")
        check_range("encoder sigma", self.sigma, 0.0, 1e4, lo_open=True)

    @property
    def scale(self) -> float:
        """The scale used: ``sigma``, or the encoding's default (1 where it has none)."""
        return self.sigma if self.sigma is not None else DEFAULT_SCALES.get(self.kind, 1.0)

    @property
    def n_features(self) -> int:
        """Values the encoding gives per voxel."""
        return {"none": 3, "basic": 9}.get(self.kind, 3 + 2 * self.n_frequencies)


def positional_matrix(m: int, sigma: float) -> np.ndarray:
    """``B`` of the positional encoding, ``(m, 3)`` (module docstring)."""
    per_axis = -(-m // 3)
    j = np.arange(m) // 3
    b = np.zeros((m, 3))
    b[np.arange(m), np.arange(m) % 3] = sigma ** (j / per_axis)
    return b


def fourier_features(x: np.ndarray, proj_turns: np.ndarray, *, cordic: CordicConfig | None = None
                     ) -> np.ndarray:
    """``[x, sin(2 pi p), cos(2 pi p)]`` for projections ``p`` in turns; CORDIC if given."""
    if cordic is None:
        s, c = np.sin(2 * np.pi * proj_turns), np.cos(2 * np.pi * proj_turns)
    else:
        s, c = sincos_turns(proj_turns, cordic)
    return np.concatenate([x, s, c], axis=1)


@dataclass(frozen=True, kw_only=True, eq=False)
class Encoder:
    """An encoding ready to use; the Gaussian one owns its analog layer.

    Attributes:
        config: the encoding.
        b: the matrix ``B`` the software model uses, ``(m, 3)`` (``None`` for ``none``).
        layer: the analog layer holding the random pairs (gaussian only).
    """

    config: EncoderConfig
    b: np.ndarray | None
    layer: AnalogLayer | None = None

    def software(self, x: np.ndarray) -> np.ndarray:
        """Features with exact arithmetic (numpy), ``(N, n_features)``."""
        x = np.asarray(x, dtype=float)
        if self.b is None:
            return x.copy()
        return fourier_features(x, x @ self.b.T)

    def deployed(self, x: np.ndarray) -> tuple[np.ndarray, Events, int]:
        """Features as the hardware computes them, the layer's events and CORDIC steps.

        Gaussian: ``B x`` through the analog layer (the mean of
        ``config.reads`` reads), CORDIC sin/cos. Other encodings have no analog
        part: ``B x`` digitally (counted as one multiply per nonzero of ``B`` per
        voxel), CORDIC sin/cos.
        """
        x = np.asarray(x, dtype=float)
        if self.b is None:
            return x.copy(), Events(), 0
        if self.layer is not None:
            y, ev = averaged_read(self.layer, x, self.config.reads)
            proj = self.config.scale * y
            ev = ev + Events(digital_mults=int(y.size))  # the sigma scaling
        else:
            proj = x @ self.b.T
            ev = Events(digital_mults=int(len(x) * np.count_nonzero(self.b)))
        feats = fourier_features(x, proj, cordic=self.config.cordic)
        return feats, ev, cordic_steps(proj.size, self.config.cordic)


def build_encoder(cfg: EncoderConfig, hardware: HardwareSpec, sim: SimOptions, *,
                  rng: np.random.Generator, seed: int = 0) -> Encoder:
    """The encoder of ``cfg``; the Gaussian one forms ``3 x m`` random pairs placed on the
    hardware, its TIA sized for a formed cell 4 standard deviations above the forming
    mean (51 uS with the default device; the LRS level would leave a column of 3 formed
    cells saturated half the time).

    Args:
        cfg: the encoding.
        hardware: where the Gaussian encoder's cells live.
        sim: how their tile computes.
        rng: the source of the forming draws.
        seed: seed of the tile's read-noise stream.
    """
    if cfg.kind == "none":
        return Encoder(config=cfg, b=None)
    if cfg.kind == "basic":
        return Encoder(config=cfg, b=np.eye(3))
    if cfg.kind == "positional":
        return Encoder(config=cfg, b=positional_matrix(cfg.n_frequencies, cfg.scale))
    layer = AnalogLayer.place(RandomPairs(forming=hardware.noise.forming, rng=rng), hardware,
                              sim, shape=(3, cfg.n_frequencies), seed=seed)
    return Encoder(config=cfg, b=cfg.scale * layer.weights().T, layer=layer)
