"""Device noise hooks: write (programming) noise and read noise.

Two kinds of noise, both drawn from a ``numpy.random.Generator`` the caller owns:

- **Write noise** happens once, when a cell is programmed: the conductance it
  lands on differs from the target. ``WriteNoise`` draws it as a Gaussian whose
  standard deviation is either relative to the target (``scale="target"``) or
  fixed in normalised LRS units (``scale="lrs"``: sigma times the LRS
  conductance, the NF code's convention). Cells programmed to the HRS level or
  below can be written noise-free (``hrs_noise_free``), as in the NF code.
  The programmed conductance is then clipped to the device range: a cell cannot
  hold more than ``g_max_siemens`` or less than ``g_min_siemens``. This is
  physics of the device, not clamping of user input (targets outside the device
  range are refused before any noise is drawn).
- **Read noise** happens at every read: PRIME paper, Methods eq. 7,
  ``g_read = g * (1 + A * noise_scale)``, ``A ~ N(0, 1)`` drawn afresh for each
  read. ``read_factors`` draws the factors ``1 + A * noise_scale``.

Presets are plain instances; each names the paper its figure comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.devices import RRAMParams
from circuits.errors import check_choice, check_range

WRITE_NOISE_SCALES = ("target", "lrs")


@dataclass(frozen=True, kw_only=True)
class WriteNoise:
    """Gaussian programming noise.

    Attributes:
        sigma: standard deviation, dimensionless: a fraction of the target
            conductance (``scale="target"``) or of the LRS conductance
            (``scale="lrs"``, i.e. in normalised LRS units).
        scale: ``"target"`` (multiplicative noise) or ``"lrs"`` (additive noise
            of ``sigma * g_lrs_siemens`` siemens, whatever the target).
        hrs_noise_free: cells whose target is at or below the HRS level
            (``g_hrs_siemens``) are written exactly.
    """

    sigma: float
    scale: str = "lrs"
    hrs_noise_free: bool = True

    def __post_init__(self) -> None:
        check_range("sigma", self.sigma, 0.0, 10.0)
        check_choice("write-noise scale", self.scale, WRITE_NOISE_SCALES)

    def std_siemens(self, targets_siemens: np.ndarray, rram: RRAMParams) -> np.ndarray:
        """Standard deviation of the programmed conductance of each cell (S).

        Args:
            targets_siemens: target conductances, any shape.
            rram: the device (LRS and HRS levels).

        Returns:
            Array of the same shape as ``targets_siemens``.
        """
        t = np.asarray(targets_siemens, dtype=float)
        if self.scale == "target":
            std = self.sigma * np.abs(t)
        else:
            std = np.full(t.shape, self.sigma * rram.g_lrs_siemens)
        if self.hrs_noise_free:
            std = np.where(t <= rram.g_hrs_siemens, 0.0, std)
        return std

    def apply(self, targets_siemens: np.ndarray, rram: RRAMParams,
              rng: np.random.Generator) -> np.ndarray:
        """Conductances reached when programming ``targets_siemens`` (S).

        Draws one Gaussian per cell and clips the result to the device range
        ``[g_min_siemens, g_max_siemens]``.
        """
        t = np.asarray(targets_siemens, dtype=float)
        g = t + self.std_siemens(t, rram) * rng.standard_normal(t.shape)
        return np.clip(g, rram.g_min_siemens, rram.g_max_siemens)


NF_CODE_WRITE_NOISE = WriteNoise(sigma=0.15, scale="lrs", hrs_noise_free=True)
"""HAQ simulation noise of the NF code: std 0.15 of the normalised LRS level,
LRS cells only, HRS noise-free."""

MEASURED_LRS = WriteNoise(sigma=5.46 / 29.22, scale="lrs", hrs_noise_free=True)
"""NF paper Fig. 2a: LRS after one SET is Gaussian, 29.22 uS +- 5.46 uS (18.7 %);
with the default device (``g_lrs_siemens`` = 29.22 uS) the std is 5.46 uS."""

NO_WRITE_NOISE = WriteNoise(sigma=0.0)
"""Ideal programming."""

TYPICAL_READ_NOISE_SCALE = 0.02
"""PRIME paper, Methods eq. 7: typical noise_scale 0.01-0.03; we take the middle."""


def read_factors(shape: tuple[int, ...], noise_scale: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Factors ``1 + A * noise_scale`` of one read of each cell (PRIME eq. 7).

    Args:
        shape: shape of the conductance array being read.
        noise_scale: relative read-noise amplitude (0 gives ones and draws nothing).
        rng: source of ``A ~ N(0, 1)``.

    Returns:
        Array of ``shape`` multiplying the conductances for this read.
    """
    check_range("noise_scale", noise_scale, 0.0, 1.0)
    if noise_scale == 0.0:
        return np.ones(shape)
    return 1.0 + noise_scale * rng.standard_normal(shape)
