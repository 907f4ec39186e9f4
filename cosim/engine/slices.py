"""Checking one macro against ngspice column slice by column slice.

A whole 512 x 512 1T1R macro is beyond ngspice 39 without KLU (hours per
operating point), but a slice of it (every row, a few columns) runs in
seconds. A slice alone is not the macro, though: its bit lines carry the
currents of every column to their right, and their voltage at the slice's
first column depends on every column to its left. So each slice is run
with its boundary taken from the exact solution of the whole macro
(:func:`cosim.engine.nodal.bit_line_state`, the network the calibrated
backend solves, :func:`cosim.engine.readout.sense_network`):

- its first column's bit-line nodes held at the whole macro's voltages there
  (no driver: that node *is* the slice's input; the slice starting at column
  0 keeps the real inputs and driver resistance instead);
- its last column's bit-line nodes drawing what the macro's cells to the right
  draw from that row (``circuits.crossbar.crossbar(..., i_end_amp=...)``;
  none for the slice ending at the macro's last column).

Inside those boundaries ngspice solves the slice's own wires, cells,
transistors and readout (the generator's TIA netlist with a TIA readout), and
its column outputs are compared with the model's for the same columns. The
boundary is itself checked: ngspice's voltage at the slice's last bit-line
nodes against the exact solution's (``boundary_error_volt``); a wrong
boundary shows there and in the slice's outputs.

Errors are "of full scale": ``max |y_model - y_spice|`` over the slice's
columns and vectors divided by the largest ``|y_spice|`` of the whole macro
(every slice run, or the model's where not every slice is), the convention
of :func:`cosim.engine.tile.compare`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from circuits.crossbar import (
    CrossbarParams,
    batch_sweep,
    bl_node,
    crossbar,
    output_nodes,
    output_sources,
)
from circuits.errors import check_int, check_range
from circuits.runner import run
from cosim.engine.nodal import bit_line_state
from cosim.engine.readout import ColumnReadout, sense_network

DEFAULT_SLICE_COLS = 8
"""Physical columns per slice: a 512-row 1T1R slice of 8 columns (4,096 transistors)
is one ngspice run of seconds."""


@dataclass(frozen=True, kw_only=True)
class SliceCheck:
    """One column slice of one macro against ngspice.

    Attributes:
        col0, col1: the slice's physical columns ``[col0, col1)``.
        max_abs_error_a: ``max |y_model - y_spice|`` over its columns and vectors (A),
            the saturated conversions left out (0 when none is left).
        spice_max_abs_a: ``max |y_spice|`` over its columns and vectors (A).
        saturated: conversions left out: those of every vector for which the model's
            readout left its linear range at some column of the macro, or ngspice's
            at some column of the slice (a run clips and counts the saturated
            conversions; a saturated TIA no longer holds its sense node, which moves
            its neighbours' currents too, so the models state no error for the vector).
        boundary_error_volt: ``max |v_spice - v_exact|`` at its last column's
            bit-line nodes (V).
        spice_s: wall time of its ngspice run (s).
    """

    col0: int
    col1: int
    max_abs_error_a: float
    spice_max_abs_a: float
    saturated: int
    boundary_error_volt: float
    spice_s: float


def slice_bounds(cols: int, width: int = DEFAULT_SLICE_COLS, count: int = 0, *,
                 pairs: bool = False) -> list[tuple[int, int]]:
    """The column slices ``[col0, col1)`` of a macro of ``cols`` physical columns.

    Args:
        cols: physical columns.
        width: columns per slice (rounded up to even with ``pairs``, so a
            differential pair stays in one slice).
        count: how many slices to check, spread evenly from the first to the
            last; 0 checks every one.
        pairs: the columns are differential pairs.
    """
    check_int("cols", cols, 1, 10**6)
    check_int("width", width, 1, 10**6)
    check_int("count", count, 0, 10**6)
    if pairs and width % 2:
        width += 1
    bounds = [(c, min(c + width, cols)) for c in range(0, cols, width)]
    if count == 0 or count >= len(bounds):
        return bounds
    picks = np.unique(np.round(np.linspace(0, len(bounds) - 1, count)).astype(int))
    return [bounds[k] for k in picks]


def check_macro(p: CrossbarParams, v_volt: np.ndarray, y_model: np.ndarray,
                readout: ColumnReadout, bounds: list[tuple[int, int]], *,
                saturated: np.ndarray | None = None, timeout_s: float = 600.0,
                workers: int = 1) -> list[SliceCheck]:
    """Run each slice of macro ``p`` in ngspice and compare it with ``y_model``.

    Args:
        p: the macro as the tile holds it (single-ended physical columns, its readout).
        v_volt: the input voltages (V), ``(B, rows)``.
        y_model: the model's column outputs for them (A, after the readout, as
            ``ColumnReadout.outputs`` gives), ``(B, physical cols)``.
        readout: the macro's column front end.
        bounds: the slices (:func:`slice_bounds`).
        saturated: which of ``y_model`` left the readout's linear range (bool, as
            ``y_model``; default none): vectors with any such conversion, or with an
            ngspice conversion of the slice out of range, are left out and counted.
        timeout_s: limit of one ngspice run (s).
        workers: ngspice runs at a time.

    Returns:
        One :class:`SliceCheck` per slice, in the order of ``bounds``.
    """
    v = np.atleast_2d(np.asarray(v_volt, dtype=float))
    sat_model = (np.zeros(np.shape(y_model), dtype=bool) if saturated is None
                 else np.asarray(saturated, dtype=bool))
    check_range("timeout_s", timeout_s, 1.0, 86400.0)
    check_int("workers", workers, 1, 256)
    v_bl, i_cell = bit_line_state(sense_network(p), v)
    # what every row still feeds past column c: the cells of columns c+1 and on
    past = np.cumsum(i_cell[:, :, ::-1], axis=2)[:, :, ::-1]

    def one(bound: tuple[int, int]) -> SliceCheck:
        c0, c1 = bound
        ps = _slice_params(p, c0, c1)
        v_in = v if c0 == 0 else v_bl[:, :, c0]
        i_end = past[:, :, c1] if c1 < p.physical_g().shape[1] else None
        t0 = time.perf_counter()
        i, v_out, v_end = _run_slice(ps, v_in, i_end, timeout_s)
        spice_s = time.perf_counter() - t0
        y_sp, sat_sp = readout.outputs(i, v_out)
        out = np.broadcast_to((sat_sp.any(axis=1) | sat_model.any(axis=1))[:, None],
                              y_sp.shape)
        diff = np.abs(y_model[:, c0:c1] - y_sp)[~out]
        return SliceCheck(col0=c0, col1=c1,
                          max_abs_error_a=float(diff.max(initial=0.0)),
                          spice_max_abs_a=float(np.max(np.abs(y_sp))),
                          saturated=int(np.count_nonzero(out)),
                          boundary_error_volt=float(np.max(np.abs(v_end - v_bl[:, :, c1 - 1]))),
                          spice_s=spice_s)

    if workers == 1 or len(bounds) == 1:
        return [one(b) for b in bounds]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, bounds))


def _slice_params(p: CrossbarParams, c0: int, c1: int) -> CrossbarParams:
    """Columns ``[c0, c1)`` of the single-ended macro ``p``; a slice not at column 0 is
    driven at its first bit-line node directly (no driver resistance)."""
    g = p.physical_g()[:, c0:c1]
    return replace(p, g_siemens=g, g_neg_siemens=None,
                   r_driver_ohm=p.r_driver_ohm if c0 == 0 else 0.0)


def _run_slice(ps: CrossbarParams, v_in: np.ndarray, i_end: np.ndarray | None,
               timeout_s: float) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Column currents, TIA outputs (or ``None``) and the last column's bit-line voltages
    of one slice, ``(B, cols)``, ``(B, cols)``, ``(B, rows)``."""
    netlist = crossbar(ps, v_in_volt=v_in, i_end_amp=i_end)
    cols = ps.physical_g().shape[1]
    sources = output_sources(ps)
    nodes = output_nodes(ps) if ps.readout == "tia" else []
    ends = [bl_node(ps, r, cols - 1) for r in range(ps.rows)]
    save = [f"i({s})" for s in sources] + [f"v({n})" for n in nodes + sorted(set(ends))]
    result = run(netlist, batch_sweep(v_in.shape[0]), save=save, timeout_s=timeout_s)
    b = v_in.shape[0]
    i = np.column_stack([result.i(s) for s in sources]).reshape(b, cols)
    v_out = np.column_stack([result.v(n) for n in nodes]).reshape(b, cols) if nodes else None
    v_end = np.column_stack([result.v(n) for n in ends]).reshape(b, ps.rows)
    return i, v_out, v_end
