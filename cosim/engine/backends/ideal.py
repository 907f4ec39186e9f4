"""The ``ideal`` backend: plain linear algebra, the software baseline.

``I = (V - v_ref) @ G``: no wire, driver or sense resistance, no access
transistor, a linear cell. Its difference from ``spice`` on the same
conductances is the IR-drop (and transistor) error of the real array. With a
TIA readout the sense nodes sit at the TIA's held voltage ``v_in0``
(``cosim.engine.readout.sense_voltage``; its input resistance, like every
series resistance, is left out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from circuits.crossbar import CrossbarParams
from cosim.engine.backends.base import noisy_g
from cosim.engine.readout import sense_voltage

if TYPE_CHECKING:
    from cosim.engine.cache import ResultCache
    from cosim.engine.options import SimOptions
    from cosim.hardware.spec import HardwareSpec


class IdealBackend:
    """``I = (V - v_ref) @ G`` (see the module docstring)."""

    name = "ideal"
    solves_tia = False

    def __init__(self, hardware: HardwareSpec | None = None, sim: SimOptions | None = None,
                 cache: ResultCache | None = None):
        """Nothing to configure: ``I = V @ G`` needs none of them."""

    def prepare(self, p: CrossbarParams) -> None:
        """Nothing to set up."""

    def currents(self, p: CrossbarParams, v_volt: np.ndarray,
                 factors: np.ndarray | None = None) -> np.ndarray:
        """Column currents (A), ``(B, cols)``, of ``(V - v_ref) @ (G * F)``."""
        return (np.asarray(v_volt, dtype=float) - sense_voltage(p)) @ noisy_g(p, factors)

    def output_correction(self, p: CrossbarParams) -> None:
        """None: no correction: ``linear_map`` is the whole read."""
        return None

    def linear_map(self, p: CrossbarParams) -> tuple[np.ndarray, np.ndarray]:
        """``(M, c)`` with ``I = v @ M + c``: here ``(G, -v_ref * sum_r G)``."""
        return p.g_siemens, -sense_voltage(p) * p.g_siemens.sum(axis=0)

    def read_cells(self, p: CrossbarParams, v_read_volt: float,
                   factors: np.ndarray | None = None) -> np.ndarray:
        """The conductances themselves (times the read-noise factors)."""
        return np.array(noisy_g(p, factors), dtype=float)
