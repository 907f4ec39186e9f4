"""The ``calibrated`` backend: the wired network's transfer matrix, extracted once.

Per programmed macro, ``cosim.engine.nodal.transfer_matrix`` extracts ``I = v @ M + c``
of the full network of ``circuits.crossbar`` (wires, driver and sense
resistance, access transistors whose curves come from ngspice). Every MVM is
then one dense product. For a linear network (0T1R, linear RRAM) this is
exact: it matches ``spice`` to 2-3e-10 of full scale (8 to 64 rows,
``tests/test_tile.py``, ``benchmarks/bench_tile.py``). For a nonlinear one it
is the tangent at the operating point ``v_read_volt / 2`` on every row, the
middle of the positive read range. With linear RRAM behind an access NMOS
that is close, because the transistor holds a few per cent of the cell's
voltage. With sinh RRAM it is not (8 % at 0.2 V), so there each input vector
is solved by Newton (``cosim.engine.nodal.solve``): ``exact_nonlinear`` chooses
(``None``: Newton for sinh cells only).

Validated range (``benchmarks/bench_validated_range.py``: 1T1R, BSIM4 access
NMOS, 1 ohm wire segments, signed inputs; max error as a fraction of full scale
against ``spice``, over the cases of each row count: up to 16 rows, 8 x 8,
16 x 16, 8 x 12 and 16 x 12; above, ``rows x 12`` and ``rows x 96`` columns,
whose figures were the same or up to 20 % lower). The error grows with the
rows (for cells up to 100 uS about in proportion above 16 rows): the column
wires' IR drop moves the cells' voltages away from the tangent's operating
point, where the transistors' curvature shows (Newton stays within 1e-7 of
``spice`` in most of these cases):

=====  ==========================  ======  ======  ======  ======  ======  ======
rows   tangent, cells / read (V)    0.05    0.1     0.2     0.5     1.0     2.0
=====  ==========================  ======  ======  ======  ======  ======  ======
  16   1-29.22 uS (HRS-LRS)        3.6e-6  1.2e-6  5.0e-6  1.7e-5  3.8e-5  8.0e-5
  16   1-100 uS                    1.9e-5  4.1e-5  8.6e-5  2.3e-4  4.7e-4  9.9e-4
  16   1-200 uS (device maximum)   8.0e-5  1.6e-4  3.4e-4  8.7e-4  1.9e-3  4.2e-3
  32   1-29.22 uS (HRS-LRS)        7.4e-7  3.9e-6  1.1e-5  3.2e-5  6.6e-5  1.4e-4
  32   1-100 uS                    3.4e-5  7.1e-5  1.5e-4  3.8e-4  7.8e-4  1.7e-3
  32   1-200 uS (device maximum)   1.4e-4  2.7e-4  5.5e-4  1.5e-3  3.1e-3  7.0e-3
  64   1-29.22 uS (HRS-LRS)        5.1e-6  1.3e-5  2.9e-5  7.7e-5  1.6e-4  3.3e-4
  64   1-100 uS                    7.6e-5  1.6e-4  3.2e-4  8.2e-4  1.7e-3  3.8e-3
  64   1-200 uS (device maximum)   2.6e-4  5.2e-4  1.1e-3  2.8e-3  6.0e-3  1.6e-2
 128   1-29.22 uS (HRS-LRS)        1.9e-5  4.1e-5  8.5e-5  2.2e-4  4.6e-4  9.9e-4
 128   1-100 uS                    1.7e-4  3.3e-4  6.6e-4  1.8e-3  4.0e-3  7.3e-2
 128   1-200 uS (device maximum)   4.0e-4  8.0e-4  1.7e-3  4.4e-3  1.2e-2  2.1e-1
=====  ==========================  ======  ======  ======  ======  ======  ======

(16 rows at 0.05 V, 3.6e-6, is ngspice's own tolerance: Newton differs from it
as much there.) The tangent is validated for blocks of up to
``TANGENT_ROWS_MAX`` rows with cells up to ``TANGENT_G_MAX_SIEMENS`` read at up
to ``TANGENT_V_READ_MAX_VOLT``: within ``TANGENT_ERROR_BOUND`` of full scale;
taller blocks count as inside where their measured figure is within it too
(HRS-LRS cells: up to 32 rows read at 0.1 V).
Outside, the backend warns (``OutsideValidatedRange``) with the measured figure
of the covering case (:func:`measured_tangent_error`). Newton
(``exact_nonlinear=True``) is within 2.2e-5 of full scale of ``spice`` over the
whole accepted range (up to 2 V, up to 200 uS) on up to 16 rows (2e-8 to 2e-6
in most cases); at 128 rows it reaches 3.5e-5 at 1 V and 9.2e-4 at 2 V. The
larger differences are ngspice's: with its default ``RELTOL`` of 1e-3 it stops
short of the solution (the worst 16-row case, 200 uS at 0.5 V, is 6.7e-9 from
ngspice run with ``RELTOL = 1e-9``; only that case was checked so).

TIA readout (``CrossbarParams.readout = "tia"``): the network solved is
``cosim.engine.readout.sense_network(p)``, each sense node held at the TIA's
``v_in0`` behind ``r_sense + r_in``; the tile turns the currents into TIA
outputs (``cosim.engine.readout``).

Transfers are kept in memory per ``CrossbarParams.digest()`` and in the
content-hash cache (``cosim.engine.cache``), keyed by that digest, the operating
point and a digest of the solver's source, so a changed solver never reuses
stale matrices.

Read noise. A noisy read sees ``G' = G * F`` with ``F = 1 + A s`` (PRIME eq. 7),
so the once-extracted ``M`` no longer holds exactly. Two methods
(``TileConfig.read_noise_method``):

- ``"first_order"`` (default): ``I' = v @ (M * F) + c``. This is the first-order
  update ``I' = I + sum dI/dG * dG`` with each cell's sensitivity taken as
  ``dM[r, c] / dG[r, c] = M[r, c] / G[r, c]`` (exact without wires, where
  ``M = G``) and the cross terms (a cell's change moving the line voltages
  seen by the other cells) dropped. It costs one elementwise product per
  call, so noisy MVMs run about as fast as noise-free ones. Its error is the
  noise amplitude times the IR-drop coupling, so it grows with the array.
  Measured (``benchmarks/bench_tile.py``: 1 ohm segments, conductances in
  [1, 29.22] uS, signed inputs, ``s = 0.02``, same draws for both sides),
  as a fraction of full scale: 6e-5 at 32 x 32 and 1.2e-4 at 64 x 64 against
  ``spice``; 3.5e-4 at 128, 1.6e-3 at 256 and 5.0e-3 at 512 against the exact
  method. The noise itself moves the outputs by 2-3 % of full scale, so the
  update follows 99.4 % of it at 64 x 64 and 85 % at 512 x 512.
- ``"exact"``: re-extract the transfer of the noisy network at every call
  (linear networks: exact, to rounding; nonlinear: the same tangent or Newton
  as without noise). Each call costs one extraction: milliseconds at 64 x 64,
  about 5 s at 256 and about a minute at 512 x 512 (2 shared cores).

The adjoint alternative (exact first-order sensitivities from the cached
factorisation) needs the voltage across every cell for every input vector,
one sparse solve per vector, or a dense rows x cells x cols sensitivity
tensor (1 GB at 512 x 512): it costs about what the exact method costs while
still being first order, so we did not take it.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

from circuits.crossbar import CrossbarParams
from circuits.errors import CosimWarning
from cosim.engine import nodal, read_models
from cosim.engine.backends import is_nonlinear, single_row_read, unit_reads, with_read_noise
from cosim.engine.cache import ResultCache, cache_key
from cosim.engine.readout import sense_network

TANGENT_V_READ_MAX_VOLT = 0.2
"""Largest read voltage at which the tangent transfer of 1T1R arrays is validated (V)."""

TANGENT_G_MAX_SIEMENS = 30e-6
"""Largest cell conductance at which the tangent transfer of 1T1R arrays is validated (S)."""

TANGENT_ROWS_MAX = 16
"""Most rows of a block whose tangent transfer is validated (32 rows: 1.1e-5 at 0.2 V)."""

TANGENT_ERROR_BOUND = 1e-5
"""Error of the tangent transfer against ``spice`` inside its validated range, of full
scale (measured: 5.0e-6 at most, module docstring)."""

_MEASURED_TANGENT = {  # rows up to -> cells up to (S) -> {read voltage (V): max error}
    16: {
        29.22e-6: {0.05: 3.6e-6, 0.1: 1.2e-6, 0.2: 5.0e-6, 0.5: 1.7e-5, 1.0: 3.8e-5, 2.0: 8.0e-5},
        100e-6: {0.05: 1.9e-5, 0.1: 4.1e-5, 0.2: 8.6e-5, 0.5: 2.3e-4, 1.0: 4.7e-4, 2.0: 9.9e-4},
        200e-6: {0.05: 8.0e-5, 0.1: 1.6e-4, 0.2: 3.4e-4, 0.5: 8.7e-4, 1.0: 1.9e-3, 2.0: 4.2e-3},
    },
    32: {
        29.22e-6: {0.05: 7.4e-7, 0.1: 3.9e-6, 0.2: 1.1e-5, 0.5: 3.2e-5, 1.0: 6.6e-5, 2.0: 1.4e-4},
        100e-6: {0.05: 3.4e-5, 0.1: 7.1e-5, 0.2: 1.5e-4, 0.5: 3.8e-4, 1.0: 7.8e-4, 2.0: 1.7e-3},
        200e-6: {0.05: 1.4e-4, 0.1: 2.7e-4, 0.2: 5.5e-4, 0.5: 1.5e-3, 1.0: 3.1e-3, 2.0: 7.0e-3},
    },
    64: {
        29.22e-6: {0.05: 5.1e-6, 0.1: 1.3e-5, 0.2: 2.9e-5, 0.5: 7.7e-5, 1.0: 1.6e-4, 2.0: 3.3e-4},
        100e-6: {0.05: 7.6e-5, 0.1: 1.6e-4, 0.2: 3.2e-4, 0.5: 8.2e-4, 1.0: 1.7e-3, 2.0: 3.8e-3},
        200e-6: {0.05: 2.6e-4, 0.1: 5.2e-4, 0.2: 1.1e-3, 0.5: 2.8e-3, 1.0: 6.0e-3, 2.0: 1.6e-2},
    },
    128: {
        29.22e-6: {0.05: 1.9e-5, 0.1: 4.1e-5, 0.2: 8.5e-5, 0.5: 2.2e-4, 1.0: 4.6e-4, 2.0: 9.9e-4},
        100e-6: {0.05: 1.7e-4, 0.1: 3.3e-4, 0.2: 6.6e-4, 0.5: 1.8e-3, 1.0: 4.0e-3, 2.0: 7.3e-2},
        200e-6: {0.05: 4.0e-4, 0.1: 8.0e-4, 0.2: 1.7e-3, 0.5: 4.4e-3, 1.0: 1.2e-2, 2.0: 2.1e-1},
    },
}
"""The module docstring's table; each figure rounded up (a stated bound)."""


class OutsideValidatedRange(CosimWarning):
    """A ``calibrated`` configuration outside the range where it was checked against ``spice``.

    The results are computed all the same; the message says what was
    validated, what was measured near the configuration, and how to get an
    exact answer.
    """


def measured_tangent_error(g_max_siemens: float, v_read_volt: float, rows: int = 16
                           ) -> float | None:
    """Largest measured tangent error (of full scale) of a block of ``rows`` rows holding
    cells up to ``g_max_siemens`` read at ``v_read_volt``: the benchmark's case covering
    all three (the largest over every row count up to the covering one); ``None``
    beyond them all (more than 128 rows, cells above 200 uS or a read above 2 V)."""
    worst = None
    for n_rows, by_g in _MEASURED_TANGENT.items():
        err = _covering_error(by_g, g_max_siemens, v_read_volt)
        if err is None:
            return None
        worst = err if worst is None else max(worst, err)
        if rows <= n_rows:
            return worst
    return None


def _covering_error(by_g: dict[float, dict[float, float]], g_max_siemens: float,
                    v_read_volt: float) -> float | None:
    for g_hi, by_v in by_g.items():
        if g_max_siemens <= g_hi * (1 + 1e-9):
            for v, err in by_v.items():
                if v_read_volt <= v * (1 + 1e-9):
                    return err
    return None


def tangent_range_message(g_max_siemens: float | None, v_read_volt: float,
                          rows: int | None = None) -> str | None:
    """Why the tangent transfer at this read voltage (cell maximum, block rows) is outside
    its validated range, as one line; ``None`` inside it."""
    high_v = v_read_volt > TANGENT_V_READ_MAX_VOLT * (1 + 1e-9)
    high_g = g_max_siemens is not None and g_max_siemens > TANGENT_G_MAX_SIEMENS
    high_rows = _rows_outside(g_max_siemens, v_read_volt, rows)
    if not (high_v or high_g or high_rows):
        return None
    what = []
    if high_v:
        what.append(f"read voltage {v_read_volt:g} V")
    if high_g:
        what.append(f"cells up to {g_max_siemens * 1e6:.4g} uS")
    if high_rows:
        what.append(f"{rows} rows")
    g_look = _g_or_lowest(g_max_siemens)
    n_rows = TANGENT_ROWS_MAX if rows is None else rows
    measured = measured_tangent_error(g_look, v_read_volt, n_rows)
    seen = "; not measured beyond 128 rows, 200 uS and 2 V" if measured is None else (
        f"; measured up to {_sci(measured)} of full scale with cells up to "
        f"{_covering_g(g_look) * 1e6:g} uS on up to {_covering_rows(n_rows)} rows")
    return (f"calibrated 1T1R tangent transfer outside its validated range: "
            f"{' and '.join(what)}; validated: up to {TANGENT_ROWS_MAX} rows, cells <= "
            f"{TANGENT_G_MAX_SIEMENS * 1e6:g} uS, read voltage <= "
            f"{TANGENT_V_READ_MAX_VOLT:g} V (within {_sci(TANGENT_ERROR_BOUND)} of full scale "
            f"of spice){seen}; set exact_nonlinear=True for Newton (within 2.2e-5 up to 2 V "
            "and 200 uS on 16 rows) or check with Tile.validate()")


def _covering_g(g_siemens: float) -> float:
    by_g = _MEASURED_TANGENT[TANGENT_ROWS_MAX]
    return next((g for g in by_g if g_siemens <= g * (1 + 1e-9)), g_siemens)


def _rows_outside(g_max_siemens: float | None, v_read_volt: float, rows: int | None) -> bool:
    """Whether a block of ``rows`` rows leaves the validated range by its height: taller
    than ``TANGENT_ROWS_MAX`` and not measured within ``TANGENT_ERROR_BOUND`` there."""
    if rows is None or rows <= TANGENT_ROWS_MAX:
        return False
    measured = measured_tangent_error(_g_or_lowest(g_max_siemens), v_read_volt, rows)
    return measured is None or measured > TANGENT_ERROR_BOUND


def _g_or_lowest(g_max_siemens: float | None) -> float:
    """``g_max_siemens``, or the lowest measured cell range when the cells are not known."""
    return min(_MEASURED_TANGENT[TANGENT_ROWS_MAX]) if g_max_siemens is None else g_max_siemens


def _covering_rows(rows: int) -> int:
    return next((n for n in _MEASURED_TANGENT if rows <= n), rows)


def _sci(x: float) -> str:
    """``1.2e-5`` rather than Python's ``1.2e-05``."""
    mant, exp = f"{x:.1e}".split("e")
    return f"{mant.removesuffix('.0')}e{int(exp)}"


def _has_wires(p: CrossbarParams) -> bool:
    return p.r_wire_bl_ohm > 0 and p.r_wire_sl_ohm > 0


def _nbytes(t: nodal.Transfer) -> int:
    return int(t.M.nbytes + t.c.nbytes + (0 if t.v_op is None else t.v_op.nbytes))


CACHE_TAG = "nodal-transfer-v2"

MEASURED_FIELDS = ("model", "reference", "rows", "cols", "g_lo_us", "g_hi_us", "v_read_volt",
                   "vectors", "max_error")
"""Columns of the measured-error data (``benchmarks/bench_validated_range.py`` writes it)."""

BIAS_FRACTION = 0.25
"""The read models' cell bias, a fraction of the read voltage (the bit-line node of every
cell at ``BIAS_FRACTION * v_read_volt``; ``cosim.engine.read_models``)."""

SOLVER_BYTES = 1024 * 2**20
"""Memory the kept exact solvers may hold (their dissections; the most recent first)."""
MEMO_BYTES = 512 * 2**20
"""Memory the in-process transfers may hold (the most recent first): every macro
of a layer split over many small macros, or a few 512 x 512 ones (2 MiB each)."""


@functools.cache
def solver_digest() -> str:
    """SHA-256 of the nodal solver's source (part of every cache key)."""
    h = hashlib.sha256()
    for module in ("nodal.py", "mosfet.py", "dissection.py", "read_models.py"):
        path = Path(nodal.__file__).resolve().parent / module
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


class CalibratedBackend:
    """Dense products with extracted transfer matrices (see the module docstring).

    Args:
        config: the tile's ``TileConfig`` (``v_read_volt``, ``read_noise_method``,
            ``exact_nonlinear``).
        cache: content-hash cache of transfers; ``None`` keeps them in memory only.
    """

    name = "calibrated"
    solves_tia = False

    def __init__(self, config: object, cache: ResultCache | None = None):
        self.v_read_volt = float(getattr(config, "v_read_volt", 0.2))
        self.read_noise_method = str(getattr(config, "read_noise_method", "first_order"))
        self.exact_nonlinear: bool | None = getattr(config, "exact_nonlinear", None)
        self.cache = cache
        self.extractions = 0
        self._warned: set[tuple[float, int]] = set()
        self._memo_bytes = 0
        self._memo: OrderedDict[str, nodal.Transfer] = OrderedDict()
        self._solvers: OrderedDict[str, read_models.ExactSolver] = OrderedDict()
        rram = getattr(config, "rram", None)
        if (getattr(config, "cell", "0T1R") == "1T1R" and self.exact_nonlinear is not True
                and getattr(rram, "iv", "linear") == "linear"):
            msg = tangent_range_message(None, self.v_read_volt)
            if msg is not None:
                warnings.warn(msg, OutsideValidatedRange, stacklevel=2)

    @property
    def v_op_volt(self) -> float:
        """Row voltage of the linearisation point of nonlinear arrays without wire
        resistance (the tangent of ``cosim.engine.nodal.transfer_matrix``) (V)."""
        return self.v_read_volt / 2

    @property
    def v_bias_volt(self) -> float:
        """Bit-line voltage of the cells' bias in the read models (V)."""
        return BIAS_FRACTION * self.v_read_volt

    def uses_newton(self, p: CrossbarParams) -> bool:
        """Whether ``p`` is solved by Newton at every call (not by its transfer)."""
        if not is_nonlinear(p):
            return False
        if self.exact_nonlinear is None:
            return p.rram.iv != "linear"
        return bool(self.exact_nonlinear)

    def prepare(self, p: CrossbarParams) -> None:
        """Extract (or fetch) the transfer of ``p``."""
        if not self.uses_newton(p):
            self.transfer(p)

    def transfer(self, p: CrossbarParams) -> nodal.Transfer:
        """The transfer ``I = v @ M + c`` of ``p``: memory, then disk cache, then extraction
        (of ``sense_network(p)``; a memory hit needs no folding)."""
        key = p.digest()
        hit = self._memo.get(key)
        if hit is not None:
            self._memo.move_to_end(key)
            return hit
        p = sense_network(p)
        self._check_range(p)
        t = self._load_or_extract(p)
        self._memo[key] = t
        self._memo_bytes += _nbytes(t)
        while self._memo_bytes > MEMO_BYTES and len(self._memo) > 1:
            self._memo_bytes -= _nbytes(self._memo.popitem(last=False)[1])
        return t

    def _check_range(self, p: CrossbarParams) -> None:
        """Warn (``OutsideValidatedRange``) when ``p``'s tangent transfer holds cells
        above ``TANGENT_G_MAX_SIEMENS`` or more rows than measured within the bound
        (``_rows_outside``); once per measured case (a tile re-reads often while
        programming)."""
        if p.cell != "1T1R" or not is_nonlinear(p):
            return
        g_max = float(p.g_siemens.max())
        if p.g_neg_siemens is not None:
            g_max = max(g_max, float(p.g_neg_siemens.max()))
        high_g = g_max > TANGENT_G_MAX_SIEMENS
        rows = p.rows if _rows_outside(g_max, self.v_read_volt, p.rows) else None
        if not (high_g or rows):
            return
        case = (_covering_g(g_max) if high_g else 0.0, _covering_rows(rows or 0))
        if case in self._warned:
            return
        self._warned.add(case)
        msg = tangent_range_message(g_max if high_g else None, self.v_read_volt, rows)
        if msg is not None:
            warnings.warn(msg, OutsideValidatedRange, stacklevel=2)

    def _load_or_extract(self, p: CrossbarParams) -> nodal.Transfer:
        op = None
        if is_nonlinear(p):
            op = ("bias", self.v_bias_volt) if _has_wires(p) else ("tangent", self.v_op_volt)
        key = cache_key(CACHE_TAG, solver_digest(), p.digest(), op)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return nodal.Transfer(M=hit["M"], c=hit["c"],
                                      v_op=hit["v_op"] if "v_op" in hit else None)
        t = self._extract(p)
        if self.cache is not None:
            arrays = {"M": t.M, "c": t.c}
            if t.v_op is not None:
                arrays["v_op"] = t.v_op
            self.cache.put(key, arrays)
        return t

    def _extract(self, p: CrossbarParams) -> nodal.Transfer:
        """The fast read model of ``p`` (a sense network): exact for linear networks; for
        nonlinear ones with wires every cell's tangent at its own bias
        (``read_models.LocalTangent``), without wires the tangent at ``v_op_volt``."""
        self.extractions += 1
        if is_nonlinear(p) and _has_wires(p):
            lt = read_models.LocalTangent(p, self.v_bias_volt)
            return nodal.Transfer(M=lt.M, c=lt.c)
        return nodal.transfer_matrix(p, v_read_volt=self.v_op_volt)

    def _exact(self, p: CrossbarParams, v_abs_max_volt: float) -> read_models.ExactSolver:
        """The exact solver of ``p`` (a sense network with wires), kept while memory allows."""
        key = p.digest()
        hit = self._solvers.get(key)
        if hit is not None and hit.v_abs_max_volt >= v_abs_max_volt:
            self._solvers.move_to_end(key)
            return hit
        solver = read_models.ExactSolver(p, self.v_bias_volt,
                                         max(v_abs_max_volt, self.v_read_volt))
        self._solvers[key] = solver
        while sum(s.nbytes for s in self._solvers.values()) > SOLVER_BYTES \
                and len(self._solvers) > 1:
            self._solvers.popitem(last=False)
        return solver

    def linear_map(self, p: CrossbarParams) -> tuple[np.ndarray, np.ndarray] | None:
        """``(M, c)`` with ``I = v @ M + c`` when noisy reads use it (first-order
        noise, no Newton); ``None`` otherwise."""
        if self.uses_newton(p) or self.read_noise_method != "first_order":
            return None
        t = self.transfer(p)
        return t.M, t.c

    def currents(self, p: CrossbarParams, v_volt: np.ndarray,
                 factors: np.ndarray | None = None) -> np.ndarray:
        """Column currents (A), ``(B, cols)``."""
        v = np.asarray(v_volt, dtype=float)
        if self.uses_newton(p):
            q = with_read_noise(sense_network(p), factors)
            if not _has_wires(q):
                return nodal.solve(q, v)
            return self._exact(q, float(np.abs(v).max(initial=0.0))).currents(v)
        if factors is None:
            return self.transfer(p).apply(v)
        if self.read_noise_method == "exact":
            p = sense_network(p)
            self._check_range(p)
            return self._extract(with_read_noise(p, factors)).apply(v)
        t = self.transfer(p)
        return v @ (t.M * factors) + t.c

    def read_cells(self, p: CrossbarParams, v_read_volt: float,
                   factors: np.ndarray | None = None) -> np.ndarray:
        """Conductance (S) of each cell read alone, ``(rows, cols)``.

        Linear 0T1R arrays read row ``r`` alone, so the reads are the rows of
        the transfer matrix: ``M`` itself (``M * F`` or the noisy network's
        ``M`` with read noise). Nonlinear arrays are solved exactly at
        ``v_read_volt``: 0T1R all rows in one batch, 1T1R as one-row networks
        (only the read row's word line on, ``single_row_read``).
        """
        p = sense_network(p)
        if not is_nonlinear(p):
            return self.currents(p, unit_reads(p.rows, v_read_volt), factors) / v_read_volt
        p = with_read_noise(p, factors)
        if p.cell == "0T1R":
            return nodal.solve(p, unit_reads(p.rows, v_read_volt)) / v_read_volt
        one = np.array([[v_read_volt]])
        return np.vstack([nodal.solve(single_row_read(p, r), one)
                          for r in range(p.rows)]) / v_read_volt
