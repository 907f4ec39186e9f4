"""Weight tuning: trained weights written into differential pairs with programming noise.

The baseline PRIME compares pruning with (Fig. 3g): a network whose weights
were trained in software is written to the array by tuning every cell's
conductance, and each write misses its target by the programming noise.

- :class:`TunedPairs` writes weight ``w`` (in the pair units of
  :class:`cosim.programming.schemes.RandomPairs`, ``g_unit = sqrt(2) x``
  forming std) as ``G+- = g_mid +- w g_unit / 2`` around the forming mean,
  clipped to ``[g_HRS, g_max]``, so it decodes with the same ``g_unit`` and
  the network's ``weight_scale`` applies unchanged.
- :class:`TuningWriter` is the programming noise of one write: a cell tuned
  to a conductance above HRS lands at ``target + sigma * g_LRS * N(0, 1)``
  (the NF code's write noise, in units of the LRS level); a cell RESET to HRS
  lands at ``g_HRS (1 + sigma N(0, 1))``. Pruning writes only RESETs, tuning
  writes every cell at an analog level: the same ``sigma`` costs them
  differently, which is Fig. 3g's point. Results are clipped to the device range.

This scheme belongs with the others in :mod:`cosim.programming.schemes`; it
lives here while the SNN is the only user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circuits.devices import TAOX_40NM, RRAMParams
from circuits.errors import ConfigError, check_range
from cosim.accounting.events import Events
from cosim.engine.noise import FORMED_TAOX, FormingNoise, WriteNoise
from cosim.programming.schemes import ProgramCells, ProgrammedWeights, ReadBack


@dataclass(frozen=True, kw_only=True)
class TuningWriter:
    """Programming noise of analog (tuned) writes and of RESETs (module docstring).

    Attributes:
        rram: the device.
        sigma: write-noise std, a fraction of ``g_lrs_siemens`` (tuned cells) or of
            ``g_hrs_siemens`` (cells RESET to HRS).
        rng: the source of the noise (advanced by each call).
    """

    rram: RRAMParams = TAOX_40NM
    sigma: float = 0.0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0),
                                     compare=False)

    def __post_init__(self) -> None:
        check_range("write noise (sigma)", self.sigma, 0.0, 10.0)

    def __call__(self, g_target_siemens: np.ndarray, /) -> np.ndarray:
        t = np.asarray(g_target_siemens, dtype=float)
        g = t.copy()
        reset = t <= self.rram.g_hrs_siemens
        if (~reset).any():
            g[~reset] = WriteNoise(sigma=self.sigma, scale="lrs", hrs_noise_free=False).apply(
                t[~reset], self.rram, self.rng)
        if reset.any():
            g[reset] = WriteNoise(sigma=self.sigma, scale="target", hrs_noise_free=False).apply(
                t[reset], self.rram, self.rng)
        return g


@dataclass(frozen=True, kw_only=True)
class TunedPairs:
    """Given weights written open loop into differential pairs (module docstring).

    Attributes:
        forming: fixes ``g_unit`` (as :class:`RandomPairs`) and the mid level ``g_mid``.
    """

    forming: FormingNoise = FORMED_TAOX
    name: str = field(default="tuned_pairs", init=False)
    n_bits: int = field(default=1, init=False)

    def program(self, w: np.ndarray | None, shape: tuple[int, int], *, rram: RRAMParams,
                write: ProgramCells, read_back: ReadBack | None) -> ProgrammedWeights:
        if w is None:
            raise ConfigError("tuned_pairs writes given weights; pass w")
        w = np.asarray(w, dtype=float)
        if w.shape != tuple(shape):
            raise ConfigError(f"weights have shape {w.shape}, the layer is {tuple(shape)}")
        g_unit = np.sqrt(2.0) * self.forming.std_siemens
        mid = self.forming.mean_siemens
        pos_t = np.clip(mid + 0.5 * w * g_unit, rram.g_hrs_siemens, rram.g_max_siemens)
        neg_t = np.clip(mid - 0.5 * w * g_unit, rram.g_hrs_siemens, rram.g_max_siemens)
        pos_a = np.asarray(write(pos_t), dtype=float)
        neg_a = np.asarray(write(neg_t), dtype=float)
        return ProgrammedWeights(
            scheme=self.name, n_bits=1, ratio=2.0, c0=1.0, offset=0.0, g_zero_siemens=0.0,
            g_unit_siemens=g_unit, weight_scale=1.0, w_target=w, g_target_siemens=pos_t,
            g_actual_siemens=pos_a, g_target_neg_siemens=neg_t, g_actual_neg_siemens=neg_a,
            events=Events(cell_writes=2 * w.size))
