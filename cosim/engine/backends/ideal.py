"""The ``ideal`` backend: plain linear algebra, the software baseline.

``I = V @ G``: no wire, driver or sense resistance, no access transistor, a
linear cell. Its difference from ``spice`` on the same conductances is the
IR-drop (and transistor) error of the real array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from circuits.crossbar import CrossbarParams
from cosim.engine.backends import noisy_g

if TYPE_CHECKING:
    from cosim.engine.cache import ResultCache
    from cosim.engine.tile import TileConfig


class IdealBackend:
    """``I = V @ G`` (see the module docstring)."""

    name = "ideal"

    def __init__(self, config: TileConfig | None = None, cache: ResultCache | None = None):
        """Nothing to configure: ``I = V @ G`` needs neither."""

    def prepare(self, p: CrossbarParams) -> None:
        """Nothing to set up."""

    def currents(self, p: CrossbarParams, v_volt: np.ndarray,
                 factors: np.ndarray | None = None) -> np.ndarray:
        """Column currents (A), ``(B, cols)``, of ``V @ (G * F)``."""
        return np.asarray(v_volt, dtype=float) @ noisy_g(p, factors)

    def linear_map(self, p: CrossbarParams) -> tuple[np.ndarray, np.ndarray]:
        """``(M, c)`` with ``I = v @ M + c``: here ``(G, 0)``."""
        return p.g_siemens, np.zeros(p.g_siemens.shape[1])

    def read_cells(self, p: CrossbarParams, v_read_volt: float,
                   factors: np.ndarray | None = None) -> np.ndarray:
        """The conductances themselves (times the read-noise factors)."""
        return np.array(noisy_g(p, factors), dtype=float)
