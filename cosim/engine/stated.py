"""The error a backend states against ngspice for one macro: what ``cosim verify``
holds each layer to.

- ``calibrated``, 0T1R: :data:`ZERO_T_ONE_R_ERROR` (a linear network solved
  exactly; agreement with ngspice to rounding, ``docs/measurements/nodal.md``).
- ``calibrated``, 1T1R: the read model's measured error for the covering case of
  the macro's height, cells and read voltage (the backend's measured-error data);
  ``inf`` where never measured.
- ``ideal``: ``inf`` (``x @ G`` models no wire, transistor or amplifier).
- ``spice``: 0 (it is the reference).
"""

from __future__ import annotations

import math

from circuits.cells import CellKind
from cosim.engine.backends.calibrated import (
    TANGENT_ERROR_BOUND,
    TANGENT_ROWS_MAX,
    measured_tangent_error,
    tangent_range_message,
)

ZERO_T_ONE_R_ERROR = 1e-12
"""Stated error of the calibrated 0T1R transfer, of full scale (exact for a linear
network; 1e-12 leaves room for large macros)."""


def stated_error(backend: str, cell: CellKind, g_max_siemens: float, v_read_volt: float,
                 rows: int, cols: int) -> tuple[float, str]:
    """The error (of full scale) ``backend`` states against ngspice for a ``rows x cols``
    macro of ``cell`` holding cells up to ``g_max_siemens`` read at ``v_read_volt``, and
    where that figure comes from."""
    if backend == "spice":
        return 0.0, "spice is the reference"
    if backend == "ideal":
        return math.inf, "the ideal backend models no circuit: no stated error"
    if not cell.access_transistor:
        return ZERO_T_ONE_R_ERROR, "0T1R transfer, exact for a linear network"
    inside = rows <= TANGENT_ROWS_MAX and tangent_range_message(g_max_siemens,
                                                                v_read_volt) is None
    if inside:
        return TANGENT_ERROR_BOUND, "1T1R tangent, validated range"
    measured = measured_tangent_error(g_max_siemens, v_read_volt, rows)
    where = f"cells up to {g_max_siemens * 1e6:.4g} uS, macros of {rows} x {cols}"
    if measured is None:
        return math.inf, f"1T1R tangent, never measured ({where}): no stated error"
    return measured, f"1T1R tangent ({where}): the backend's measured figure"
