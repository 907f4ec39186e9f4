"""Where a matrix goes in the macros: IR-drop-aware placement and the attenuation map.

A row line of a macro is a resistive ladder: ``cols`` cells of mean
conductance ``g`` hang off wire segments of ``r`` ohm, so the voltage a cell
sees falls along the line roughly as ``cosh(alpha (L - x)) / cosh(alpha L)``
with ``alpha L = sqrt(r g) * cols``. At 1 ohm, 15 uS and 512 cells that is
about 2, and the far end sees about a quarter of the driven voltage. HAQ can
absorb a cell that reads low only while the bit's LRS level stays clearly
above the level it subtracts (``g_bias``): a set bit must still add weight.
The schemes decode against the block's mean attenuation
(``Placement.mean_attenuation``), so what a placement must bound is the
spread around it: it uses only as many columns of each macro (and splits the
rows over as many macros) as keep the worst cell within ``min_uniformity`` of
the mean, and says what that costs in macros.

The attenuation map is a design-time computation on the *nominal* array
(every cell at the LRS/HRS midpoint, the mean of a bit array about half set),
solved by the nodal solver (``cosim.engine.nodal``): the transfer ``M`` of the
wired network divided by the cell conductances, so 1 means the cell sees the
whole read voltage into a perfect virtual ground. It uses no programmed
conductance, only the design (cell, wires, device levels).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from circuits.cells import CellKind, cell_kind
from circuits.crossbar import CrossbarParams
from circuits.errors import ConfigError, check_int, check_range
from cosim.engine import nodal, read_models

ROW_SPLITS = (1, 2, 3, 4, 6, 8, 12, 16)
"""Into how many macros a matrix's rows may be split (evenly)."""

DEFAULT_MIN_UNIFORMITY = 0.97
"""Least ratio of the worst cell's attenuation to the block's mean a placement keeps."""


@dataclass(frozen=True, kw_only=True)
class Placement:
    """How a ``rows x cols`` cell matrix is laid out in macros.

    Attributes:
        rows: cell rows of the matrix.
        cols: physical cell columns of the matrix.
        macro_rows: rows of one physical macro.
        macro_cols: physical columns of one macro.
        rows_used: rows used per macro (``<= macro_rows``; the matrix's rows are
            split evenly over macros when that keeps more columns per macro).
        cols_used: columns used per macro (``<= macro_cols``, whole weights).
        macros: macros the matrix takes.
        macros_full: macros it would take using every column.
        min_attenuation: the worst cell's attenuation in a used block.
        mean_attenuation: the mean attenuation over a used block: the read
            gain a scheme decodes with (``cosim.programming.schemes.check_read_gain``).
    """

    rows: int
    cols: int
    macro_rows: int
    macro_cols: int
    rows_used: int
    cols_used: int
    macros: int
    macros_full: int
    min_attenuation: float
    mean_attenuation: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def nominal_array(rows: int, cols: int, *, cell: CellKind, r_wire_ohm: float, rram, access,
                  r_driver_ohm: float = 0.0, r_sense_ohm: float = 0.0) -> CrossbarParams:
    """The design's nominal block: every cell at the LRS/HRS midpoint."""
    g = np.full((rows, cols), 0.5 * (rram.g_lrs_siemens + rram.g_hrs_siemens))
    return CrossbarParams(g_siemens=g, cell=cell, r_wire_bl_ohm=r_wire_ohm,
                          r_wire_sl_ohm=r_wire_ohm, r_driver_ohm=r_driver_ohm,
                          r_sense_ohm=r_sense_ohm, rram=rram, access=access)


def attenuation_map(p: CrossbarParams, v_read_volt: float) -> np.ndarray:
    """``M / G``: each cell's share of its ideal read current in the MVM, ``(rows, cols)``;
    ``M`` as the ``calibrated`` backend computes it (its fast read model for 1T1R cells,
    ``cosim.engine.read_models.LocalSecant``)."""
    if p.cell.access_transistor and p.r_wire_bl_ohm > 0 and p.r_wire_sl_ohm > 0:
        return read_models.LocalSecant(p, v_read_volt).M / p.g_siemens
    t = nodal.transfer_matrix(p, v_read_volt=v_read_volt / 2)
    return t.M / p.g_siemens


@functools.lru_cache(maxsize=64)
def _attenuation(rows: int, cols: int, cell: CellKind, r_wire_ohm: float, rram, access,
                 v_read_volt: float) -> tuple[float, float]:
    """(worst, mean) attenuation of the nominal block."""
    p = nominal_array(rows, cols, cell=cell, r_wire_ohm=r_wire_ohm, rram=rram, access=access)
    a = attenuation_map(p, v_read_volt)
    return float(a.min()), float(a.mean())


def place(rows: int, cols: int, *, group: int, macro_rows: int, macro_cols: int,
          cell: CellKind,
          r_wire_ohm: float, rram, access, v_read_volt: float,
          min_uniformity: float = DEFAULT_MIN_UNIFORMITY) -> Placement:
    """The placement with the fewest macros whose blocks keep ``min_uniformity``.

    A block's uniformity is its worst cell's attenuation over the mean (the
    mean is what the schemes decode with, ``Placement.mean_attenuation``).
    Rows are split evenly over ``ROW_SPLITS`` macros, and for each split the widest
    block (whole weights) that keeps the bound is found; the split with the
    fewest macros wins (ties: fewer row splits).

    Args:
        rows, cols: the cell matrix (physical columns).
        group: columns that stay together (the bit columns of one weight).
        macro_rows, macro_cols: the physical macro.
        cell, r_wire_ohm, rram, access, v_read_volt: the read path's design.
        min_uniformity: in ``[0, 1]``; 0 takes every row and column and
            computes no map (the attenuations are reported as 1, so schemes
            decode with read gain 1).

    Raises:
        ConfigError: no split keeps ``min_uniformity`` even with one weight per macro.
    """
    for name, v in (("rows", rows), ("cols", cols), ("group", group),
                    ("macro_rows", macro_rows), ("macro_cols", macro_cols)):
        check_int(name, v, 1, 10**6)
    check_range("min_uniformity", min_uniformity, 0.0, 1.0)
    if group > macro_cols:
        raise ConfigError(f"a macro of {macro_cols} columns cannot hold one weight of "
                          f"{group} cells")
    max_groups = min(macro_cols // group, math.ceil(cols / group))
    tall = min(rows, macro_rows)

    def attenuation(block_rows: int, groups: int) -> tuple[float, float]:
        if (r_wire_ohm == 0 and not cell_kind(cell).access_transistor) or min_uniformity == 0:
            return 1.0, 1.0
        return _attenuation(block_rows, groups * group, cell, float(r_wire_ohm), rram,
                            access, float(v_read_volt))

    def uniform(block_rows: int, groups: int) -> bool:
        worst, mean = attenuation(block_rows, groups)
        return worst >= min_uniformity * mean

    best: Placement | None = None
    for split in (s for s in ROW_SPLITS if s <= tall):
        block_rows = math.ceil(tall / split)
        if not uniform(block_rows, 1):
            continue
        lo, hi = 1, max_groups
        while lo < hi:  # uniformity falls as the row line gets longer
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if uniform(block_rows, mid) else (lo, mid - 1)
        used = lo * group
        macros = math.ceil(rows / block_rows) * math.ceil(cols / used)
        if best is None or macros < best.macros:
            worst, mean = attenuation(block_rows, lo)
            best = Placement(rows=rows, cols=cols, macro_rows=macro_rows,
                             macro_cols=macro_cols, rows_used=block_rows, cols_used=used,
                             macros=macros,
                             macros_full=math.ceil(rows / macro_rows)
                             * math.ceil(cols / (macro_cols // group * group)),
                             min_attenuation=worst, mean_attenuation=mean)
    if best is None:
        fewest = math.ceil(tall / max(s for s in ROW_SPLITS if s <= tall))
        worst, mean = attenuation(fewest, 1)
        raise ConfigError(
            f"no placement keeps min_uniformity {min_uniformity}: even one weight ({group} "
            f"cells) on {fewest} rows attenuates from {mean:.3f} (mean) to "
            f"{worst:.3f} at {r_wire_ohm} ohm per segment; lower the wire resistance or "
            f"min_uniformity")
    return best
