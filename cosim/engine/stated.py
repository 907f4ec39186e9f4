"""The error a backend states against ngspice for one macro: what ``cosim verify``
holds each layer to.

- ``calibrated``, 0T1R: :data:`ZERO_T_ONE_R_ERROR` (a linear network solved
  exactly; agreement with ngspice to rounding, ``docs/measurements/nodal.md``).
- ``calibrated``, 1T1R: measured data, the calibrated backend's
  (``cosim/engine/data/measured_error.csv``, ``benchmarks/bench_validated_range.py``):
  the fast read model's largest error against the exact model for every measured
  case up to the one covering the macro's height, width, cells and read voltage
  (:func:`cosim.engine.backends.calibrated.measured_error`), plus the exact model's
  largest error against ngspice at its default tolerances (what ``cosim verify``
  runs) for cells and reads up to that case (which those measurements must
  reach). It bounds the exact model too (its own part alone). ``inf`` where
  never measured.
- ``ideal``: ``inf`` (``x @ G`` models no wire, transistor or amplifier).
- ``spice``: 0 (it is the reference).
"""

from __future__ import annotations

import math

from circuits.cells import CellKind
from cosim.engine.backends import calibrated

ZERO_T_ONE_R_ERROR = 1e-12
"""Stated error of the calibrated 0T1R transfer, of full scale (exact for a linear
network; 1e-12 leaves room for large macros)."""

SPICE_REFERENCE = "spice-default-tol"
"""The reference of the measured data ``cosim verify`` compares with: ngspice at its
default tolerances."""


def fast_model_error(rows: int, cols: int, g_max_siemens: float, v_read_volt: float,
                     reference: str = SPICE_REFERENCE) -> float | None:
    """The calibrated 1T1R fast read model's measured error (of full scale) for a
    ``rows x cols`` block of cells up to ``g_max_siemens`` read at ``v_read_volt``
    against ``reference``: ``"exact"`` (the exact read model), ``"spice"`` (ngspice at
    tight tolerances) or ``"spice-default-tol"`` (module docstring); ``None`` where
    not measured."""
    fast = calibrated.measured_error(rows, cols, g_max_siemens, v_read_volt)
    if fast is None or reference == "exact":
        return fast
    _, _, g, v = calibrated.covering_case(rows, cols, g_max_siemens, v_read_volt)
    tol = 1 + 1e-9
    cases = [k for k in calibrated.measured_cases() if (k.model, k.reference) ==
             ("exact", reference)]
    if not any(k.g_hi_siemens * tol >= g for k in cases) or \
            not any(k.v_read_volt * tol >= v for k in cases):
        return None  # the exact model never measured against it so far out
    return fast + max(k.max_error for k in cases
                      if k.g_hi_siemens <= g * tol and k.v_read_volt <= v * tol)


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
    where = f"cells up to {g_max_siemens * 1e6:.4g} uS, macros of {rows} x {cols}"
    measured = fast_model_error(rows, cols, g_max_siemens, v_read_volt)
    if measured is None:
        return math.inf, f"1T1R read model, never measured ({where}): no stated error"
    return measured, f"1T1R read model ({where}): the backend's measured figure"
