"""One recorded layer's macros against ngspice, by column slices.

For a :class:`cosim.layers.record.LayerRecord` (the tile's hardware and
options, its programmed array, some of its inputs), each macro is read by
the recorded backend (:meth:`cosim.engine.tile.Tile.macro_reads`: analog
column outputs, no read noise, no ADC) and by ngspice slice by slice
(:func:`cosim.engine.slices.check_macro`), on the same input voltages: the
recorded vectors and the two full-drive ones (every row at ``+1`` and at ``-1``,
the coherent inputs the stated error was measured with). The macro's error is
``max |y_model - y_spice|`` over the checked slices divided by the largest
``|y_model|`` of the whole macro over those vectors, at most the TIA's linear
limit ("of full scale", the measured data's own normalisation), held to the
error the backend states for such a macro
(:func:`cosim.engine.stated.stated_error`). Vectors for which a TIA of the
macro left its linear range (a run clips and counts those conversions as
saturated, and a saturated TIA no longer holds its sense node, so no model
states an error for the vector) are left out of both and counted
(:func:`cosim.engine.slices.check_macro`); a macro with no conversion left has
no error figure and fails.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.engine.readout import ColumnReadout
from cosim.engine.slices import DEFAULT_SLICE_COLS, check_macro, slice_bounds
from cosim.engine.stated import stated_error
from cosim.layers.record import LayerRecord


@dataclass(frozen=True, kw_only=True)
class CheckOptions:
    """How much of each layer to check.

    Attributes:
        vectors: recorded input vectors read (at most what was recorded).
        slice_cols: physical columns per ngspice slice.
        slices: slices per macro, spread from the first column to the last; 0: all.
        slice_workers: ngspice runs at a time within one macro.
        timeout_s: limit of one ngspice run (s).
    """

    vectors: int = 4
    slice_cols: int = DEFAULT_SLICE_COLS
    slices: int = 4
    slice_workers: int = 1
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        check_int("vectors", self.vectors, 1, 1000)
        check_int("slice_cols", self.slice_cols, 1, 512)
        check_int("slices", self.slices, 0, 10**5)
        check_int("slice_workers", self.slice_workers, 1, 256)
        check_range("timeout_s", self.timeout_s, 1.0, 86400.0)


@dataclass(frozen=True, kw_only=True)
class MacroCheck:
    """One macro of one layer against ngspice.

    Attributes:
        layer: the layer's name.
        macro: the macro's index in the layer's block order.
        rows, cols: the macro's rows and physical columns.
        cell: the cell kind's name.
        backend: the backend checked.
        g_max_siemens: its largest programmed conductance (S).
        vectors: input vectors read (the recorded ones and the two full-drive ones).
        slices: the columns checked, ``"c0-c1"`` joined by spaces.
        full_scale_a: the largest ``|y_model|`` of the macro over those vectors (A),
            at most the TIA's linear limit (``TIAParams.i_linear_max_a``).
        max_rel_error: ``max |y_model - y_spice|`` / ``full_scale_a`` over the slices
            (infinite when every conversion saturated).
        saturated: conversions left out (of vectors that saturated a TIA of the macro).
        stated_error: what the backend states for such a macro (of full scale).
        stated_source: where that figure comes from.
        boundary_error_volt: largest ngspice-vs-exact voltage at a slice's last
            bit-line nodes (V).
        model_s, spice_s: time of the model's reads and of the ngspice runs (s).
    """

    layer: str
    macro: int
    rows: int
    cols: int
    cell: str
    backend: str
    g_max_siemens: float
    vectors: int
    slices: str
    full_scale_a: float
    max_rel_error: float
    saturated: int
    stated_error: float
    stated_source: str
    boundary_error_volt: float
    model_s: float
    spice_s: float

    @property
    def within(self) -> bool:
        """The error is within a stated (finite) error."""
        return math.isfinite(self.stated_error) and self.max_rel_error <= self.stated_error

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "within": self.within}


def macros_of(rec: LayerRecord) -> int:
    """How many macros the recorded layer spans."""
    return len(rec.array.blocks)


def check_macro_of(rec: LayerRecord, macro: int, options: CheckOptions = CheckOptions()
                   ) -> MacroCheck:
    """Check macro ``macro`` of the recorded layer ``rec`` against ngspice (module docstring).

    Raises:
        ConfigError: the macro does not exist, the layer recorded no inputs, or it
            ran on the spice backend (nothing to check).
    """
    check_int("macro", macro, 0, macros_of(rec) - 1)
    if rec.sim.backend == "spice":
        raise ConfigError(f"layer {rec.name} ran on ngspice itself: nothing to check")
    if rec.inputs.shape[0] == 0:
        raise ConfigError(f"layer {rec.name} recorded no inputs")
    hw = rec.hardware
    tile = rec.tile()
    drive = np.ones((1, rec.inputs.shape[1]))
    a = np.vstack([rec.inputs[:options.vectors], drive, -drive])
    t0 = time.perf_counter()
    p, v, y, sat = tile.macro_reads(a)[macro]
    model_s = time.perf_counter() - t0
    g = p.physical_g()
    cols = g.shape[1]
    bounds = slice_bounds(cols, options.slice_cols, options.slices,
                          pairs=rec.array.differential)
    readout = ColumnReadout(kind=hw.readout.kind, tia=hw.readout.tia)
    t0 = time.perf_counter()
    checks = check_macro(p, v, y, readout, bounds, saturated=sat,
                         timeout_s=options.timeout_s, workers=options.slice_workers)
    spice_s = time.perf_counter() - t0
    full_scale = float(np.abs(y).max(initial=0.0))
    if readout.kind == "tia":
        full_scale = min(full_scale, readout.tia.i_linear_max_a)
    compared = sum(v.shape[0] * (c.col1 - c.col0) - c.saturated for c in checks)
    error = (max(c.max_abs_error_a for c in checks) / max(full_scale, 1e-30) if compared
             else math.inf)
    g_max = float(g.max(initial=0.0))
    bound, source = stated_error(rec.sim.backend, hw.cell.kind, g_max,
                                 hw.readout.v_read_volt, p.rows, cols)
    return MacroCheck(
        layer=rec.name, macro=macro, rows=p.rows, cols=cols, cell=hw.cell.kind.name,
        backend=rec.sim.backend, g_max_siemens=g_max, vectors=int(a.shape[0]),
        slices=" ".join(f"{c.col0}-{c.col1}" for c in checks), full_scale_a=full_scale,
        max_rel_error=error, saturated=sum(c.saturated for c in checks),
        stated_error=bound, stated_source=source,
        boundary_error_volt=max(c.boundary_error_volt for c in checks),
        model_s=model_s, spice_s=spice_s)
