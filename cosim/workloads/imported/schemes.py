"""One imported weight matrix onto the hardware with a named scheme: HAQ, PTQ or tuned pairs.

- ``haq``, ``ptq``: :class:`cosim.programming.binary.HAQ` / ``PTQ``, ``bits``
  binary cells per weight (``amp_ratio`` the HAQ ``s``), full scale per matrix
  or per column, the hardware's write noise, HAQ's verify passes and reads;
- ``pairs``: :class:`cosim.programming.pairs.TunedPairs`, each weight a
  differential pair tuned open loop around the forming mean (the SNN's
  weight-tuning scheme), with the hardware's write noise
  (:class:`cosim.programming.pairs.TuningWriter`). Weights are written in pair
  units: the matrix is divided by ``k = max|w| / w_max`` (``w_max`` the largest
  pair weight the device range holds) and the outputs multiplied by ``k``
  digitally (one multiply per output, counted).

Every matrix is placed through :meth:`cosim.layers.analog.AnalogLayer.place`
(macros, IR-aware placement where the hardware says so, the TIA sized to the
block); its write noise comes from its own seeded stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.programming.base import BinaryCellWriter
from cosim.programming.binary import HAQ, PTQ
from cosim.programming.pairs import TunedPairs, TuningWriter

SCHEMES = ("haq", "ptq", "pairs")


@dataclass(frozen=True, kw_only=True, eq=False)
class PlacedMatrix:
    """One matrix on the hardware: ``forward(x) -> (y, events)`` in weight units.

    Attributes:
        layer: the analog layer.
        rescale: digital factor on every output (``pairs``: ``k``; else 1).
    """

    layer: AnalogLayer
    rescale: float = 1.0

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Events]:
        y, ev = self.layer.forward(x)
        if self.rescale != 1.0:
            y = y * self.rescale
            ev = ev + Events(digital_mults=int(y.size))
        return y, ev

    def weights(self) -> np.ndarray:
        """The weights the cells hold, ``(in, out)``, in the matrix's own units."""
        return self.layer.weights() * self.rescale

    @property
    def cells(self) -> int:
        pw = self.layer.programmed
        return int(pw.g_actual_siemens.size * (2 if pw.differential else 1))

    @property
    def bits(self) -> int:
        """Cells per weight."""
        pw = self.layer.programmed
        return 2 if pw.differential else int(pw.n_bits)


def pair_range(hardware: HardwareSpec) -> float:
    """The largest weight, in pair units, that a tuned pair holds on ``hardware``."""
    forming, rram = hardware.noise.forming, hardware.rram
    g_unit = np.sqrt(2.0) * forming.std_siemens
    room = min(forming.mean_siemens - rram.g_hrs_siemens, rram.g_max_siemens - forming.mean_siemens)
    if room <= 0 or g_unit <= 0:
        raise ConfigError("tuned pairs need a forming mean inside the device range and a "
                          "forming std > 0")
    return 2.0 * room / g_unit


def place_matrix(scheme: str, w: np.ndarray, hardware: HardwareSpec, sim: SimOptions, *,
                 bits: int, amp_ratio: float, scaling: str, input_scale: float,
                 rng: np.random.Generator, seed: int, read_noise_draw: str = "per_vector"
                 ) -> PlacedMatrix:
    """Place ``w (in, out)`` with ``scheme`` (module docstring)."""
    noise = hardware.noise
    if scheme in ("haq", "ptq"):
        s = (HAQ(n_bits=bits, amp_ratio=amp_ratio, scaling=scaling) if scheme == "haq"
             else PTQ(n_bits=bits, scaling=scaling))
        write = BinaryCellWriter(rram=hardware.rram, lrs_sigma=noise.write,
                                 hrs_sigma=noise.write_hrs, rng=rng)
        layer = AnalogLayer.place(s, hardware, sim, w=w, seed=seed, write=write,
                                  input_scale=input_scale, read_noise_draw=read_noise_draw)
        return PlacedMatrix(layer=layer)
    if scheme != "pairs":
        raise ConfigError(f"unknown scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    top = float(np.max(np.abs(w)))
    k = top / pair_range(hardware) if top > 0 else 1.0
    write = TuningWriter(rram=hardware.rram, sigma=noise.write, rng=rng)
    layer = AnalogLayer.place(TunedPairs(forming=noise.forming), hardware, sim, w=w / k,
                              seed=seed, write=write, input_scale=input_scale,
                              g_cell_max_siemens=hardware.rram.g_max_siemens,
                              read_noise_draw=read_noise_draw)
    return PlacedMatrix(layer=layer, rescale=k)
