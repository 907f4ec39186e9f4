"""The ``calibrated`` backend: the wired network solved from its extracted parts.

Per programmed macro the network of ``circuits.crossbar`` (wires, driver and
sense resistance, access transistors whose curves come from ngspice) is
reduced once (``cosim.engine.dissection``); every MVM is then one dense
product, or, for the exact read of a nonlinear array, a few passes through
the kept reduction.

- Linear networks (0T1R, linear RRAM): the transfer ``I = v @ M + c`` is exact
  (to rounding; ``tests/engine/test_tile.py`` checks it against ``spice``).
- Nonlinear networks (1T1R, sinh RRAM), two read models
  (``cosim.engine.read_models``):

  * fast (the default for 1T1R cells with linear RRAM, ``exact_nonlinear`` not
    ``True``): ``u = v @ M`` of the network whose every cell is its chord
    over the read range (exact at bit-line voltages ``+-v_read_volt`` with its
    source-line node at the sense voltage), read as ``I = u + c + q2 u^2 + q3 u^3``
    per column (``read_models.ColumnCorrection``: the source lines' IR drop times
    the cells' voltage, which no affine map holds; exact on the two coherent
    inputs, two exact solves of the array per macro, made at its first MVM:
    :meth:`CalibratedBackend.correction`). The write-verify transfer reads (one row
    at a time, ``Tile``) use ``(M, c)`` alone: there ``u`` is one cell's current,
    and the correction, which grows as ``u^2``, is about ``(g_cell / g_column)^2``
    of its size on a coherent input. Contract: within ``FAST_ERROR_BOUND`` of full
    scale of the exact solution inside the range the measurements show it (below);
  * exact (``exact_nonlinear=True``, and sinh RRAM unless ``False``): every input
    vector solved to convergence (chord iterations on the same reduction,
    Newton's method where they do not contract).

Stated error. The fast model's error is data, not prose: the file
``MEASURED_ERROR_FILE`` (``cosim/engine/data/measured_error.csv``, written by
``benchmarks/bench_validated_range.py``; figures and commands in
``docs/measurements/read_models.md``) holds its maximum error, a fraction of
full scale, against the exact model, by block height, width, cell range and
read voltage, and the exact model's against ngspice. A block's stated error
(:func:`measured_error`) is the largest figure of every measured case up to the
smallest one that covers it in all four. A block whose stated error exceeds
``FAST_ERROR_BOUND``, or that no measured case covers, warns
(``OutsideValidatedRange``, once per covering case) with its figure and how to
get the exact answer.

TIA readout (``CrossbarParams.readout = "tia"``): the network solved is
``cosim.engine.readout.sense_network(p)``, each sense node held at the TIA's
``v_in0`` behind ``r_sense + r_in``; the tile turns the currents into TIA
outputs (``cosim.engine.readout``).

Transfers are kept in memory per ``CrossbarParams.digest()`` and in the
content-hash cache (``cosim.engine.cache``), keyed by that digest, the read
model and a digest of the solver's source, so a changed solver never reuses
stale matrices.

Read noise. A noisy read sees ``G' = G * F`` with ``F = 1 + A s`` (PRIME eq. 7).
Two methods (``SimOptions.read_noise_method``):

- ``"first_order"`` (default): ``I' = v @ (M * F) + c``, the first-order update
  with each cell's sensitivity taken as ``dM[r, c] / dG[r, c] = M[r, c] / G[r, c]``
  (exact without wires, where ``M = G``) and the cross terms (a cell's change
  moving the line voltages seen by the other cells) dropped: its error is the
  noise amplitude times the IR-drop coupling (``benchmarks/bench_tile.py``);
- ``"exact"``: re-extract the read model of the noisy network at every call.

The adjoint alternative (exact first-order sensitivities) needs the voltage
across every cell for every input vector, about what the exact method costs
while still being first order, so we did not take it.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from circuits.crossbar import CrossbarParams
from circuits.errors import CosimWarning
from circuits.interconnect import R_WIRE_40NM_OHM
from cosim.engine import nodal, read_models
from cosim.engine.backends.base import is_nonlinear, single_row_read, unit_reads, with_read_noise
from cosim.engine.cache import ResultCache, cache_key
from cosim.engine.read_models import BIAS_FRACTION
from cosim.engine.readout import sense_network

if TYPE_CHECKING:
    from cosim.engine.options import SimOptions
    from cosim.hardware.spec import HardwareSpec

KEPT_CORRECTIONS = 65536
"""Per-array output corrections kept (``output_correction``; two numbers a column)."""

FAST_ERROR_BOUND = 1e-5
"""The fast read model's contract: its error against the exact solution, a fraction of
full scale, wherever the measured data do not state more (module docstring)."""

MEASURED_ERROR_FILE = Path(__file__).resolve().parent.parent / "data" / "measured_error.csv"
"""The read models' measured error (``benchmarks/bench_validated_range.py`` writes it)."""

MEASURED_FIELDS = ("model", "reference", "rows", "cols", "g_lo_us", "g_hi_us", "v_read_volt",
                   "vectors", "max_error")
"""Columns of the measured-error data."""


class OutsideValidatedRange(CosimWarning):
    """A ``calibrated`` configuration whose stated error exceeds its contract or was never
    measured.

    The results are computed all the same; the message says what was measured
    near the configuration and how to get an exact answer.
    """


@dataclass(frozen=True)
class MeasuredCase:
    """One measured case of the data file (see ``MEASURED_FIELDS``)."""

    model: str
    reference: str
    rows: int
    cols: int
    g_hi_siemens: float
    v_read_volt: float
    max_error: float


@functools.cache
def measured_cases(path: Path = MEASURED_ERROR_FILE) -> tuple[MeasuredCase, ...]:
    """Every case of the measured-error file (read once)."""
    with Path(path).open(newline="") as f:
        return tuple(MeasuredCase(model=r["model"], reference=r["reference"],
                                  rows=int(r["rows"]), cols=int(r["cols"]),
                                  g_hi_siemens=float(r["g_hi_us"]) * 1e-6,
                                  v_read_volt=float(r["v_read_volt"]),
                                  max_error=float(r["max_error"]))
                     for r in csv.DictReader(f))


def _covering(values: tuple[float, ...], x: float) -> float | None:
    """The smallest of the sorted ``values`` that covers ``x`` (to 1e-9), or ``None``."""
    return next((v for v in values if x <= v * (1 + 1e-9)), None)


_AXES: dict[tuple[int, str, str], tuple] = {}


def _measured_axes(model: str, reference: str) -> tuple[tuple[float, ...], ...]:
    """The measured rows, columns, cell maxima and read voltages of ``model`` against
    ``reference``, each sorted without repeats (kept per set of cases: a tile checks
    every macro it extracts)."""
    cases = measured_cases()
    key = (id(cases), model, reference)
    hit = _AXES.get(key)
    if hit is not None and hit[0] is cases:
        return hit[1]
    mine = [c for c in cases if (c.model, c.reference) == (model, reference)]
    axes = tuple(tuple(sorted({getattr(c, f) for c in mine}))
                 for f in ("rows", "cols", "g_hi_siemens", "v_read_volt"))
    _AXES[key] = (cases, axes)
    return axes


def covering_case(rows: int, cols: int, g_max_siemens: float, v_read_volt: float,
                  model: str = "fast", reference: str = "exact"
                  ) -> tuple[int, int, float, float] | None:
    """The smallest measured ``(rows, cols, cells up to (S), read voltage)`` covering a
    block, or ``None`` beyond the measurements in any of the four."""
    axes = _measured_axes(model, reference)
    cover = tuple(_covering(a, x) for a, x in zip(
        axes, (rows, cols, g_max_siemens, v_read_volt), strict=True))
    return None if any(v is None for v in cover) else cover


def measured_error(rows: int, cols: int, g_max_siemens: float, v_read_volt: float,
                   model: str = "fast", reference: str = "exact") -> float | None:
    """Stated error (of full scale) of ``model`` against ``reference`` for a block of
    ``rows x cols`` physical cells up to ``g_max_siemens`` read at ``v_read_volt``: the
    largest measured figure over every case up to the covering one (module docstring);
    ``None`` where no measured case covers the block, or the covering one failed."""
    cover = covering_case(rows, cols, g_max_siemens, v_read_volt, model, reference)
    if cover is None:
        return None
    r, c, g, v = cover
    cases = [k for k in measured_cases() if (k.model, k.reference) == (model, reference)]
    if not any((k.rows, k.cols, k.v_read_volt) == (r, c, v) and
               abs(k.g_hi_siemens - g) <= 1e-9 * g for k in cases):
        return None
    return max(k.max_error for k in cases if k.rows <= r and k.cols <= c
               and k.g_hi_siemens <= g * (1 + 1e-9) and k.v_read_volt <= v * (1 + 1e-9))


def range_message(rows: int | None, cols: int | None, g_max_siemens: float | None,
                  v_read_volt: float) -> str | None:
    """Why the fast read model of such a block is outside its contract, as one line
    (its stated error exceeds ``FAST_ERROR_BOUND``, or it was never measured); ``None``
    inside. ``None`` for the block's size or cells: the smallest measured ones (what
    every array read at ``v_read_volt`` is at least)."""
    r, c, g = rows or 1, cols or 1, g_max_siemens or 0.0
    stated = measured_error(r, c, g, v_read_volt)
    if stated is not None and stated <= FAST_ERROR_BOUND:
        return None
    if rows is None:
        block = f"read voltage {v_read_volt:g} V"
    else:
        block = f"{rows} x {cols} cells up to {g * 1e6:.4g} uS read at {v_read_volt:g} V"
    if stated is None:
        what = f"never measured (data: {MEASURED_ERROR_FILE.name})"
    else:
        cr, cc, cg, cv = covering_case(r, c, g, v_read_volt)
        what = (f"measured up to {_sci(stated)} of full scale (blocks up to {cr} x {cc}, "
                f"cells up to {cg * 1e6:g} uS, reads up to {cv:g} V)")
    return (f"calibrated 1T1R fast read model outside its validated range: {block}; {what}; "
            f"validated: within {_sci(FAST_ERROR_BOUND)} of full scale of the exact solution; "
            "set exact_nonlinear=True for the exact model or check with Tile.validate()")


def _sci(x: float) -> str:
    """``1.2e-5`` rather than Python's ``1.2e-05``."""
    mant, exp = f"{x:.1e}".split("e")
    return f"{mant.removesuffix('.0')}e{int(exp)}"


def _unmeasured_kind(p: CrossbarParams) -> str | None:
    """What makes ``p`` unlike the measured arrays (1T1R, linear RRAM, the BSIM4 access
    transistor, wires of at most ``R_WIRE_40NM_OHM``), in words; ``None`` if nothing."""
    if not p.cell.access_transistor or not p.rram.iv.linear:
        return f"{p.cell.name} cells with {p.rram.iv.name} RRAM"
    if p.access.model != "bsim4":
        return f"a {p.access.model} access transistor"
    r_max = R_WIRE_40NM_OHM * (1 + 1e-9)
    if p.r_wire_bl_ohm > r_max or p.r_wire_sl_ohm > r_max:
        return (f"wires of {max(p.r_wire_bl_ohm, p.r_wire_sl_ohm):g} ohm per segment "
                f"(measured: up to {R_WIRE_40NM_OHM:g})")
    return None


def _structure_key(p: CrossbarParams) -> str:
    """``p``'s every field but its conductances (their shape instead): the arrays one
    reduction can update (``LocalSecant.reprogrammed`` checks it by the digest)."""
    rest = tuple((f.name, getattr(p, f.name)) for f in fields(p)
                 if f.init and f.name not in ("g_siemens", "g_neg_siemens"))
    return repr((p.g_siemens.shape, p.g_neg_siemens is None, rest))


def _has_wires(p: CrossbarParams) -> bool:
    return p.r_wire_bl_ohm > 0 and p.r_wire_sl_ohm > 0


def _recall(kept: OrderedDict, key: str):
    """``kept[key]`` marked as the most recently used, or ``None`` (a least-recently-used
    store: the caller evicts from the front)."""
    hit = kept.get(key)
    if hit is not None:
        kept.move_to_end(key)
    return hit


def _nbytes(t: nodal.Transfer) -> int:
    return int(t.M.nbytes + t.c.nbytes + (0 if t.v_op is None else t.v_op.nbytes))


CACHE_TAG = "nodal-transfer-v2"

KEEP_LEVELS_CELLS = 2**16
"""Arrays of up to this many cells keep their reductions for incremental updates."""

def _physical_memory_bytes() -> int:
    """This machine's memory (bytes; 8 GiB where the system does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 8 * 2**30


KEPT_REDUCTIONS_BYTES = min(8 * 2**30, _physical_memory_bytes() // 3)
"""Memory the kept reductions of one tile may hold: 8 GiB, or a third of the machine's
memory if less. An 86 x 64 block's takes about 9.7 MB, so a 512 x 512 matrix of 16-bit
weights on the realistic preset (768 such macros) keeps all of its own in about 7.4 GB
(a machine of 24 GiB or more); beyond that the pool keeps the ones it has
(``CalibratedBackend._extract``)."""

STALE_RUNS = 2
"""Kept reductions are stale once this many times as many extractions in a row as there
are kept reductions found none near enough to update (``CalibratedBackend._extract``)."""

INCREMENTAL_MAX_CHANGED = 0.5
"""Largest fraction of changed cells updated incrementally rather than reduced anew."""

NEAR_CHANGED = 0.125
"""A kept reduction differing in at most this fraction of cells is updated without
looking further through the pool (a tile reads its macros in turn, so the least recently
updated one is usually the macro's own; the numbers are the same from any base)."""

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
        hardware: the tile's hardware (its read voltage, cell and device).
        sim: ``read_noise_method`` and ``exact_nonlinear``.
        cache: content-hash cache of transfers; ``None`` keeps them in memory only.
    """

    name = "calibrated"
    solves_tia = False

    def __init__(self, hardware: HardwareSpec, sim: SimOptions,
                 cache: ResultCache | None = None):
        self.v_read_volt = hardware.readout.v_read_volt
        self.read_noise_method = sim.read_noise_method
        self.exact_nonlinear: bool | None = sim.exact_nonlinear
        self.cache = cache
        self.extractions = 0
        self._warned: set[object] = set()
        self._memo_bytes = 0
        self._memo: OrderedDict[str, nodal.Transfer] = OrderedDict()
        self._solvers: OrderedDict[str, read_models.ExactSolver] = OrderedDict()
        self._corrections: OrderedDict[str, read_models.ColumnCorrection] = OrderedDict()
        self._reductions: dict[str, list[read_models.LocalSecant]] = {}
        self._kept_bytes = 0
        self._fresh_run = 0
        self.incremental_extractions = 0
        rram, cell = hardware.cell.rram, hardware.cell.kind
        if cell.access_transistor and self.exact_nonlinear is not True and rram.iv.linear:
            # Even the smallest measured block (the lowest cells) at this read voltage.
            msg = range_message(None, None, None, self.v_read_volt)
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
            return not p.rram.iv.linear
        return bool(self.exact_nonlinear)

    def prepare(self, p: CrossbarParams) -> None:
        """Extract (or fetch) the transfer of ``p``."""
        if not self.uses_newton(p):
            self.transfer(p)

    def transfer(self, p: CrossbarParams) -> nodal.Transfer:
        """The transfer ``I = v @ M + c`` of ``p``: memory, then disk cache, then extraction
        (of ``sense_network(p)``; a memory hit needs no folding)."""
        key = p.digest()
        hit = _recall(self._memo, key)
        if hit is not None:
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
        """Warn (``OutsideValidatedRange``) when the fast read model of ``p`` (a sense
        network) is outside its contract (``range_message``), or ``p`` is not what was
        measured (other wires, transistor or RRAM law); once per covering case (a tile
        re-reads often while programming)."""
        if not is_nonlinear(p) or self.uses_newton(p):
            return
        g = p.physical_g()
        rows, cols = g.shape
        g_max = float(g.max())
        unlike = _unmeasured_kind(p)
        case = unlike or covering_case(rows, cols, g_max, self.v_read_volt)
        if case is None:
            case = ("unmeasured", rows, cols, round(g_max * 1e9))
        if case in self._warned:
            return
        self._warned.add(case)
        msg = (f"calibrated fast read model of {unlike}: never measured; set "
               "exact_nonlinear=True for the exact model" if unlike
               else range_message(rows, cols, g_max, self.v_read_volt))
        if msg is not None:
            warnings.warn(msg, OutsideValidatedRange, stacklevel=2)

    def _load_or_extract(self, p: CrossbarParams) -> nodal.Transfer:
        op = None
        if is_nonlinear(p):
            op = ("secant", self.v_read_volt) if _has_wires(p) else ("tangent", self.v_op_volt)
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

    def _extract(self, p: CrossbarParams, pool: bool = True) -> nodal.Transfer:
        """The fast read model of ``p`` (a sense network): exact for linear networks; for
        nonlinear ones with wires every cell's chord over the read range
        (``read_models.LocalSecant``), without wires the tangent at ``v_op_volt``.

        Write-verify programming reads an array again after each write step, with a
        few of its cells changed. So the reductions of recent arrays are kept
        (``KEPT_REDUCTIONS_BYTES``), and an array differing from one of them (same
        shape and circuit) in at most ``INCREMENTAL_MAX_CHANGED`` of its cells is
        reduced by updating that one where its cells changed
        (``LocalSecant.reprogrammed``: the same numbers as a whole extraction).
        ``pool=False`` (a noisy read's network) neither uses nor keeps them.

        A tile reads its macros in turn, so when they do not all fit, evicting the
        oldest would evict each one just before it is read again. A new reduction
        therefore enters a full pool only once the kept ones have stopped serving
        (``STALE_RUNS`` times as many extractions in a row without an update as are
        kept); then the oldest make room. Until then the kept ones stay, and the
        macros they belong to keep being updated."""
        self.extractions += 1
        if not (is_nonlinear(p) and _has_wires(p)):
            return nodal.transfer_matrix(p, v_read_volt=self.v_op_volt)
        keep = pool and p.g_siemens.size <= KEEP_LEVELS_CELLS
        key = _structure_key(p) if keep else None
        base = self._nearest_reduction(p, key) if keep else None
        if base is None:
            lt = read_models.LocalSecant(p, self.v_read_volt, keep=keep)
            self._fresh_run += keep
        else:
            lt = base.reprogrammed(p)
            self.incremental_extractions += 1
            self._fresh_run = 0
        if keep and self._admit(lt.nbytes, base is not None):
            self._reductions.setdefault(key, []).append(lt)
            self._kept_bytes += lt.nbytes
            self._trim_reductions()
        return nodal.Transfer(M=lt.M, c=lt.c)

    def _admit(self, nbytes: int, updated: bool) -> bool:
        """Whether a reduction of ``nbytes`` is kept (``_extract``'s docstring): an updated
        one always (it replaces its base), a new one while it fits or once the kept ones
        are stale."""
        if updated or self._kept_bytes + nbytes <= KEPT_REDUCTIONS_BYTES:
            return True
        kept = sum(len(pool) for pool in self._reductions.values())
        return self._fresh_run > STALE_RUNS * kept

    def _nearest_reduction(self, p: CrossbarParams, key: str
                           ) -> read_models.LocalSecant | None:
        """The kept reduction of the same circuit (``key``, its ``_structure_key``) whose
        cells differ least from ``p``'s, taken out of the pool, if few enough differ;
        else ``None``."""
        pool = self._reductions.get(key, [])
        if not pool:
            return None
        g = p.physical_g()
        k, fewest = 0, g.size + 1
        for i, lt in enumerate(pool):  # the least recently updated first
            d = int(np.count_nonzero(lt.p.physical_g() != g))
            if d < fewest:
                k, fewest = i, d
            if d <= NEAR_CHANGED * g.size:
                break
        if fewest > INCREMENTAL_MAX_CHANGED * g.size:
            return None
        self._kept_bytes -= pool[k].nbytes
        return pool.pop(k)

    def _trim_reductions(self) -> None:
        while self._kept_bytes > KEPT_REDUCTIONS_BYTES:
            key = next(k for k, pool in self._reductions.items() if pool)
            self._kept_bytes -= self._reductions[key].pop(0).nbytes
            if not self._reductions[key]:
                del self._reductions[key]

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
        noise, no Newton); ``None`` otherwise. For 1T1R arrays with wires the fast
        model's output is this corrected by :meth:`output_correction`."""
        if self.uses_newton(p) or self.read_noise_method != "first_order":
            return None
        t = self.transfer(p)
        return t.M, t.c

    def output_correction(self, p: CrossbarParams) -> read_models.ColumnCorrection | None:
        """The fast model's per-column correction of ``p``'s affine output
        (``read_models.ColumnCorrection``): 1T1R or sinh arrays with wires read by the
        fast model; ``None`` where the transfer is the whole model (linear networks,
        no wires) or Newton solves every read. Made on first use (two exact solves of
        the array) and kept per array."""
        if self.uses_newton(p) or not is_nonlinear(p):
            return None
        key = p.digest()
        hit = _recall(self._corrections, key)
        if hit is not None:
            return hit
        q = sense_network(p)
        if not _has_wires(q):
            return None
        t = self.transfer(p)
        hit = self._corrections[key] = read_models.column_correction(q, self.v_read_volt,
                                                                     t.M, t.c)
        while len(self._corrections) > KEPT_CORRECTIONS:
            self._corrections.popitem(last=False)
        return hit

    def currents(self, p: CrossbarParams, v_volt: np.ndarray,
                 factors: np.ndarray | None = None) -> np.ndarray:
        """Column currents (A), ``(B, cols)``."""
        v = np.asarray(v_volt, dtype=float)
        if self.uses_newton(p):
            q = with_read_noise(sense_network(p), factors)
            if not _has_wires(q):
                return nodal.solve(q, v)
            return self._exact(q, float(np.abs(v).max(initial=0.0))).currents(v)
        if factors is not None and self.read_noise_method == "exact":
            q = sense_network(p)
            self._check_range(q)
            q = with_read_noise(q, factors)
            t = self._extract(q, pool=False)
            u = v @ t.M
            if is_nonlinear(q) and _has_wires(q):
                read_models.column_correction(q, self.v_read_volt, t.M, t.c).add_to(u)
            u += t.c
            return u
        t = self.transfer(p)
        u = v @ (t.M if factors is None else t.M * factors)
        corr = self.output_correction(p)
        if corr is not None:
            corr.add_to(u)
        u += t.c
        return u

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
        if not p.cell.access_transistor:
            return nodal.solve(p, unit_reads(p.rows, v_read_volt)) / v_read_volt
        one = np.array([[v_read_volt]])
        return np.vstack([nodal.solve(single_row_read(p, r), one)
                          for r in range(p.rows)]) / v_read_volt
