"""Sparse nodal solver of the crossbar network: the ``calibrated`` backend's core.

It models exactly the network of the TOPOLOGY CONTRACT in
:mod:`circuits.crossbar`, built straight from ``CrossbarParams`` (never by
parsing a netlist), at DC:

- unknowns: bit-line nodes ``bl<r>_<c>``, source-line nodes ``sl<c>_<r>`` and,
  in 1T1R mode, the mid nodes ``m<r>_<c>`` between RRAM and access NMOS;
- fixed nodes: the inputs (``in<r>`` behind ``r_driver_ohm``) and the sense
  nodes (``sense<c>``, held at ``v_ref_volt`` behind ``r_sense_ohm``); an
  output is the current flowing into its sense node (KCL over every element
  touching it);
- a zero resistance is a direct connection: its two nodes are merged into one
  (with ``r_driver_ohm = 0`` the node ``bl<r>_0`` *is* the input; with
  ``r_sense_ohm = 0`` the last source-line node is held at ``v_ref_volt``;
  with zero wire resistance a whole line is one node). This is exact; no
  small stand-in resistance is used;
- differential pairs use physical columns ``2c`` and ``2c+1``; the logical
  output is ``I(2c) - I(2c+1)``.

Not modelled here: wire capacitance (a DC solver) and the TIA front end: the
sense node is an ideal virtual ground at ``v_ref_volt`` whatever ``readout``
says (the TIA's gain is calibrated separately).

Linear networks (0T1R, linear RRAM) are solved exactly by a sparse LU
(SuperLU). The 1T1R mid nodes are eliminated first (their block is
diagonal); the line nodes are ordered by a nested dissection of the array
(``_Topology.dissection_order``: a 512 x 512 array's 523,264 unknowns factor
in 2 to 4 s with 28 M nonzeros, against 8 to 12 s and 53 M for SuperLU's
``MMD_AT_PLUS_A``; its default COLAMD does not finish). Nonlinear networks
(sinh RRAM ``I = G V0 sinh(V / V0)``, access NMOS from :mod:`cosim.engine.mosfet`)
by Newton's method on the same system, reusing a factorisation while it
converges fast.

The transfer matrix ``I = v @ M + c`` is extracted by the nested-dissection
Kron reduction of :mod:`cosim.engine.dissection` where the wires have
resistance (``method="dissection"``); the exact block elimination column by
column (``_sweep_transfer``: each column's source line reduced to a dense
``rows x rows`` port matrix, the adjoint swept from the last column to the
drivers carrying a Norton equivalent; series resistances enter as
``(1 + r E)^-1`` factors, so zero resistances need no special case) serves
zero-resistance lines and, with ``rows`` sparse solves (``method="sparse"``),
as a cross-check. ``benchmarks/bench_nodal.py`` and
``benchmarks/bench_read_models.py`` measure them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from circuits.crossbar import CrossbarParams
from circuits.errors import ConfigError, SimulationError, check_choice
from cosim.engine import dissection
from cosim.engine.mosfet import MosCurrents, MosModel, TabulatedMos, access_model

ABS_TOL_AMP = 1e-15
"""Newton stops when every node's KCL residual is below this (A) ..."""

REL_TOL = 1e-12
"""... or below this fraction of the largest element current, ..."""

STEP_REL_TOL = 1e-13
"""... and the last step moved no node by more than this fraction of the largest input."""

MAX_NEWTON_ITER = 80
REFACTOR_RATIO = 0.25
"""Refactor the Jacobian when one step cut the residual by less than this factor."""

MAX_STEP_VOLT = 0.25
"""Largest node-voltage change Newton takes in one step (V)."""

MID_GUESS_ITER = 3
"""Bracketed Newton steps for the 1T1R mid nodes' starting voltages."""

DEFAULT_READ_VOLT = 0.1
"""Default operating point of ``transfer_matrix`` for nonlinear arrays (V on every row)."""

DISSECTION_LEAF = 16
"""Cells per block below which nested dissection stops cutting."""

RHS_CHUNK_BYTES = 256 * 2**20
"""Memory for right-hand sides solved at once (bounds peak memory of big solves)."""

TRANSFER_METHODS = ("auto", "dissection", "sweep", "sparse")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Transfer:
    """Affine map from input voltages to output currents: ``I = v @ M + c``.

    Exact for linear networks; for nonlinear ones the linearisation at
    ``v_op``.

    Attributes:
        M: (rows, cols) transfer matrix (S).
        c: (cols,) offset currents (A); zero for linear networks with ``v_ref = 0``.
        v_op: (rows,) operating point of the linearisation (V), ``None`` if exact.
    """

    M: np.ndarray
    c: np.ndarray
    v_op: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("M", "c", "v_op"):
            a = getattr(self, name)
            if a is not None:
                a = np.array(a, dtype=float)
                a.setflags(write=False)
                object.__setattr__(self, name, a)

    def apply(self, v: np.ndarray) -> np.ndarray:
        """Output currents (B, cols) for input voltages ``v`` (B, rows)."""
        return np.asarray(v, dtype=float) @ self.M + self.c


# --------------------------------------------------------------------------- topology


@dataclass(frozen=True, eq=False)
class _Topology:
    """Node numbering of one crossbar.

    Node ids: unknowns ``[0, n_x)`` (bit and source lines), ``[n_x, n_u)``
    (1T1R mid nodes), then the fixed nodes: input ``r`` at ``n_u + r`` and
    sense ``c`` at ``n_u + rows + c``.
    """

    rows: int
    cols: int  # physical columns
    n_x: int
    n_u: int
    bl: np.ndarray  # (rows, cols) node of cell (r, c) on the bit line
    sl: np.ndarray  # (rows, cols) node of cell (r, c) on the source line
    mid: np.ndarray | None  # (rows, cols) mid nodes (1T1R)
    wire_a: np.ndarray
    wire_b: np.ndarray
    wire_g: np.ndarray
    distinct_lines: bool  # every bit- and source-line node its own (no zero wire)

    @property
    def n_total(self) -> int:
        return self.n_u + self.rows + self.cols

    @property
    def sense_ids(self) -> np.ndarray:
        return self.n_u + self.rows + np.arange(self.cols)

    def dissection_order(self) -> np.ndarray | None:
        """Nested-dissection elimination order of the line nodes ``[0, n_x)``.

        The array is cut recursively across its longer side. A cut between
        columns needs only the bit-line nodes of one column as separator (the
        source line of that column then hangs on the separator alone); a cut
        between rows only the source-line nodes of one row. Parts come first,
        separators last. ``None`` when zero wire resistance merged line nodes
        (SuperLU's own ordering is used then).
        """
        if not self.distinct_lines:
            return None
        bl, sl, parts = self.bl, self.sl, []

        def cut(r0: int, r1: int, c0: int, c1: int) -> None:
            if (r1 - r0) * (c1 - c0) <= DISSECTION_LEAF:
                parts.extend([bl[r0:r1, c0:c1].ravel(), sl[r0:r1, c0:c1].ravel()])
            elif c1 - c0 >= r1 - r0:
                cm = (c0 + c1) // 2
                cut(r0, r1, c0, cm)
                cut(r0, r1, cm + 1, c1)
                parts.extend([sl[r0:r1, cm], bl[r0:r1, cm]])
            else:
                rm = (r0 + r1) // 2
                cut(r0, rm, c0, c1)
                cut(rm + 1, r1, c0, c1)
                parts.extend([bl[rm, c0:c1], sl[rm, c0:c1]])

        cut(0, self.rows, 0, self.cols)
        order = np.concatenate(parts)
        return order[order < self.n_x]


def _line_ids(n_lines: int, n_nodes: int, r_wire: float, r_end: float, end: int,
              fixed0: int) -> np.ndarray:
    """Node codes along ``n_lines`` lines of ``n_nodes`` nodes each.

    Unknowns get codes ``0, 1, ...`` (provisional); fixed nodes ``-(1 + k)``
    with ``k = fixed0 + line``. ``end`` is the node index that touches the
    fixed terminal through ``r_end``.
    """
    lines = np.arange(n_lines)[:, None]
    if r_wire > 0:
        ids = np.arange(n_lines * n_nodes).reshape(n_lines, n_nodes)
    else:
        ids = np.repeat(lines, n_nodes, axis=1)
    if r_end == 0:
        fixed = ids == ids[:, [end]]
        ids = np.where(fixed, -(1 + fixed0 + lines), ids)
    return ids


def _compact(codes: list[np.ndarray], start: int) -> tuple[list[np.ndarray], int]:
    """Renumber non-negative codes to consecutive ids from ``start``."""
    flat = np.concatenate([c.ravel() for c in codes])
    used = np.unique(flat[flat >= 0])
    out = []
    for c in codes:
        ids = np.searchsorted(used, c) + start
        out.append(np.where(c >= 0, ids, c))
    return out, start + used.size


def _topology(p: CrossbarParams) -> _Topology:
    rows, cols = p.rows, p.physical_g().shape[1]
    bl = _line_ids(rows, cols, p.r_wire_bl_ohm, p.r_driver_ohm, 0, 0)  # (rows, cols)
    sl_t = _line_ids(cols, rows, p.r_wire_sl_ohm, p.r_sense_ohm, rows - 1, rows)  # (cols, rows)
    sl_t = np.where(sl_t >= 0, sl_t + bl.size, sl_t)  # keep bl and sl codes apart
    (bl, sl_t), n_x = _compact([bl, sl_t], 0)
    sl = sl_t.T
    n_u = n_x
    mid = None
    if p.cell.access_transistor:
        mid = n_x + np.arange(rows * cols).reshape(rows, cols)
        n_u = n_x + rows * cols

    def fix(ids: np.ndarray) -> np.ndarray:
        return np.where(ids < 0, n_u - 1 - ids, ids)

    bl, sl = fix(bl), fix(sl)
    inputs = n_u + np.arange(rows)
    senses = n_u + rows + np.arange(cols)
    wires = [(bl[:, :-1], bl[:, 1:], p.r_wire_bl_ohm), (sl[:-1, :], sl[1:, :], p.r_wire_sl_ohm),
             (inputs, bl[:, 0], p.r_driver_ohm), (sl[-1, :], senses, p.r_sense_ohm)]
    wires = [(a.ravel(), b.ravel(), np.full(a.size, 1.0 / r)) for a, b, r in wires
             if r > 0 and a.size]
    a, b, g = (np.concatenate([w[k] for w in wires]) if wires else np.zeros(0)
               for k in range(3))
    return _Topology(rows=rows, cols=cols, n_x=n_x, n_u=n_u, bl=bl, sl=sl, mid=mid,
                     wire_a=a.astype(np.int64), wire_b=b.astype(np.int64),
                     wire_g=g.astype(float),
                     distinct_lines=p.r_wire_bl_ohm > 0 and p.r_wire_sl_ohm > 0)


# --------------------------------------------------------------------------- cells


def is_linear(p: CrossbarParams) -> bool:
    """True for a linear network (0T1R with linear RRAM): solved exactly, no Newton."""
    return p.cell.is_linear(p.rram.iv)


def _rram_iv(p: CrossbarParams, g: np.ndarray
             ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """RRAM current and conductance as functions of the voltage across it."""
    law = p.rram.iv
    return lambda v: law.current(v, g)


@dataclass(frozen=True)
class _CellState:
    """Branch currents of every cell (flattened over rows x cols) and their derivatives.

    ``i_x``: current out of the bit-line node into the cell (in 1T1R mode the
    RRAM current, bit line -> mid node); ``i_s``: current out of the cell into
    the source-line node; ``g_r``: the RRAM's differential conductance;
    ``mos``: the access transistor's currents (1T1R mode).
    """

    i_x: np.ndarray
    i_s: np.ndarray
    g_r: np.ndarray  # dI_rram / dV across the RRAM
    mos: MosCurrents | None


class _Network:
    """A crossbar's topology with its device models: residuals and Jacobians."""

    def __init__(self, p: CrossbarParams, v_abs_max_volt: float = 0.0):
        self.p = p
        self.topo = _topology(p)
        self.g = p.physical_g().ravel()
        self.rram = _rram_iv(p, self.g)
        self.mos: MosModel | None = None
        if p.cell.access_transistor:
            self.mos = access_model(p.access, max(v_abs_max_volt, abs(p.v_ref_volt)))
        t = self.topo
        n = t.n_total
        self.wires = _laplacian(t.wire_a, t.wire_b, t.wire_g, n)
        self.x_ids, self.s_ids = t.bl.ravel(), t.sl.ravel()
        self.m_ids = None if t.mid is None else t.mid.ravel()
        self.order = t.dissection_order()

    def fixed_voltages(self, v_in: np.ndarray) -> np.ndarray:
        """Voltages of the fixed nodes, (B, rows + cols)."""
        b = v_in.shape[0]
        return np.hstack([v_in, np.full((b, self.topo.cols), self.p.v_ref_volt)])

    def cells(self, v: np.ndarray) -> _CellState:
        """Cell currents at node voltages ``v`` (n_total,)."""
        vx, vs = v[self.x_ids], v[self.s_ids]
        if self.m_ids is None:
            i, gr = self.rram(vx - vs)
            return _CellState(i_x=i, i_s=i, g_r=gr, mos=None)
        vm = v[self.m_ids]
        i, gr = self.rram(vx - vm)
        mos = self.mos.evaluate(vm, vs)
        return _CellState(i_x=i, i_s=mos.i_s, g_r=gr, mos=mos)

    def net_current(self, v: np.ndarray, st: _CellState) -> np.ndarray:
        """Current flowing out of every node into the elements, (n_total,)."""
        n = self.topo.n_total
        out = self.wires @ v
        out += np.bincount(self.x_ids, st.i_x, n) - np.bincount(self.s_ids, st.i_s, n)
        if self.m_ids is not None:
            out += np.bincount(self.m_ids, st.mos.i_d - st.i_x, n)
        return out

    def current_scale(self, v: np.ndarray, st: _CellState) -> float:
        """Largest current in any element (A), the scale of the relative tolerance."""
        t = self.topo
        iw = np.abs(t.wire_g * (v[t.wire_a] - v[t.wire_b]))
        return float(max(iw.max(initial=0.0), np.abs(st.i_x).max(initial=0.0),
                         np.abs(st.i_s).max(initial=0.0)))

    def jacobian(self, st: _CellState) -> sp.csr_matrix:
        """d(net current) / d(node voltage), (n_total, n_total)."""
        n = self.topo.n_total
        x, s = self.x_ids, self.s_ids
        if self.m_ids is None:
            gr = np.asarray(st.g_r, dtype=float)
            cells = _laplacian(x, s, gr, n)
            return (self.wires + cells).tocsr()
        m, mos = self.m_ids, st.mos
        rram = _laplacian(x, m, np.asarray(st.g_r, dtype=float), n)
        rows = np.concatenate([m, m, s, s])
        cols = np.concatenate([m, s, m, s])
        vals = np.concatenate([mos.did_dvd, mos.did_dvs, -mos.dis_dvd, -mos.dis_dvs])
        fet = sp.coo_matrix((vals, (rows, cols)), shape=(n, n))
        return (self.wires + rram + fet).tocsr()

    def initial_guess(self, vf: np.ndarray) -> np.ndarray:
        """Node voltages (n_total,) ignoring wire drops: lines at their source's voltage."""
        t = self.topo
        v = np.zeros(t.n_total)
        rows_v = np.broadcast_to(vf[: t.rows, None], t.bl.shape)
        v[t.bl.ravel()] = rows_v.ravel()
        v[t.sl.ravel()] = self.p.v_ref_volt
        v[t.n_u:] = vf  # merged fixed nodes keep their own value
        if self.m_ids is not None:
            v[self.m_ids] = self._mid_guess(v[self.x_ids], v[self.s_ids])
        return v

    def _mid_guess(self, vx: np.ndarray, vs: np.ndarray) -> np.ndarray:
        """Mid-node voltages balancing RRAM and transistor currents (bracketed Newton)."""
        lo = np.minimum(vx, vs) - 0.05
        hi = np.maximum(vx, vs) + 0.05
        g_r = self.rram(np.zeros_like(vx))[1]
        g_on = self.mos.evaluate(vs, vs).did_dvd  # transistor conductance at Vds = 0
        vm = vs + (vx - vs) * g_r / np.maximum(g_r + g_on, 1e-30)  # a series divider
        for _ in range(MID_GUESS_ITER):
            i_r, g_r = self.rram(vx - vm)
            mos = self.mos.evaluate(vm, vs)
            excess = i_r - mos.i_d  # decreases with vm
            lo = np.where(excess > 0, vm, lo)
            hi = np.where(excess > 0, hi, vm)
            slope = -(g_r + mos.did_dvd)
            step = vm - excess / np.where(slope < 0, slope, -1.0)
            inside = (slope < 0) & (step > lo) & (step < hi)
            vm = np.where(inside, step, 0.5 * (lo + hi))
        return vm


def _laplacian(a: np.ndarray, b: np.ndarray, g: np.ndarray, n: int) -> sp.csr_matrix:
    """Conductance (Laplacian) matrix of two-terminal conductances ``g`` between ``a`` and ``b``."""
    rows = np.concatenate([a, b, a, b])
    cols = np.concatenate([a, b, b, a])
    vals = np.concatenate([g, g, -g, -g])
    return sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()


# --------------------------------------------------------------------------- linear system


class LinearSystem:
    """A sparse LU of a nodal matrix over the unknown nodes, reusable for many solves.

    The 1T1R mid nodes couple only to their own cell's two line nodes, so
    their block is diagonal: they are eliminated exactly before the LU
    (Schur complement), leaving one unknown per bit- and source-line node.
    Those are ordered by ``order`` (a fill-reducing permutation, e.g. the
    crossbar's nested dissection, ``_Topology.dissection_order``) or, without
    one, by SuperLU's ``MMD_AT_PLUS_A`` (the default COLAMD ordering does not
    finish on a 512 x 512 array).

    Args:
        matrix: (n, n) sparse matrix; unknowns ``[n_x, n)`` (mid nodes) may
            couple only to themselves on the diagonal.
        n_x: unknowns kept in the LU.
        order: permutation of ``range(n_x)``, eliminated first to last.

    Attributes:
        n: number of unknowns (rows of ``rhs``).
        n_x: unknowns kept in the LU (bit- and source-line nodes).
    """

    def __init__(self, matrix: sp.spmatrix, n_x: int, order: np.ndarray | None = None):
        a = sp.csr_matrix(matrix)
        self.n = a.shape[0]
        self.n_x = n_x
        a_xx = a[:n_x, :n_x]
        if n_x < self.n:
            self._a_xm = a[:n_x, n_x:].tocsr()
            self._a_mx = a[n_x:, :n_x].tocsr()
            d = a[n_x:, n_x:].diagonal().copy()
            d[d == 0.0] = 1.0  # an isolated mid node: its row reads 0 = 0; keep it still
            self._d_mm = d
            a_xx = a_xx - self._a_xm @ sp.diags(1.0 / d) @ self._a_mx
        self._order = order
        self._lu = None
        if n_x > 0:
            spec = "MMD_AT_PLUS_A"
            if order is not None:
                a_xx, spec = a_xx[order][:, order], "NATURAL"
            self._lu = spla.splu(sp.csc_matrix(a_xx), permc_spec=spec, diag_pivot_thresh=0.1,
                                 options={"SymmetricMode": True})

    @property
    def nnz_factor(self) -> int:
        """Nonzeros in the L and U factors."""
        return 0 if self._lu is None else int(self._lu.L.nnz + self._lu.U.nnz)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A x = rhs`` for ``rhs`` of shape (n,) or (n, k)."""
        rhs = np.asarray(rhs, dtype=float)
        if rhs.shape[0] != self.n:
            raise ConfigError(f"rhs has {rhs.shape[0]} rows, the system {self.n} unknowns")
        if rhs.ndim == 2 and rhs.shape[1] > 1:
            step = max(1, RHS_CHUNK_BYTES // (8 * max(self.n, 1)))
            return np.hstack([self._solve(rhs[:, i:i + step])
                              for i in range(0, rhs.shape[1], step)])
        return self._solve(rhs)

    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        n_x = self.n_x
        r_x, r_m = rhs[:n_x], rhs[n_x:]
        if n_x < self.n:
            d = self._d_mm if rhs.ndim == 1 else self._d_mm[:, None]
            r_x = r_x - self._a_xm @ (r_m / d)
        x_x = r_x
        if self._lu is not None:
            if self._order is None:
                x_x = self._lu.solve(np.ascontiguousarray(r_x))
            else:
                x_x = np.empty_like(r_x)
                x_x[self._order] = self._lu.solve(np.ascontiguousarray(r_x[self._order]))
        if n_x == self.n:
            return x_x
        x_m = (r_m - self._a_mx @ x_x) / d
        return np.concatenate([x_x, x_m])


# --------------------------------------------------------------------------- solving


def _check_inputs(p: CrossbarParams, v: np.ndarray, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[1] != p.rows:
        raise ConfigError(f"{name} must have shape (B, {p.rows}), got {np.shape(v)}")
    if not np.all(np.isfinite(v)):
        raise ConfigError(f"{name} holds NaN or infinite values")
    return v


def _logical(p: CrossbarParams, i_phys: np.ndarray) -> np.ndarray:
    """Logical outputs from physical columns (differential pairs subtracted)."""
    if not p.differential:
        return i_phys
    return i_phys[..., 0::2] - i_phys[..., 1::2]


def solve(p: CrossbarParams, v_in: np.ndarray) -> np.ndarray:
    """Output currents of the crossbar for a batch of input voltages.

    Exact (one sparse LU) for linear networks; Newton's method to a KCL
    residual below ``ABS_TOL_AMP`` or ``REL_TOL`` of the largest element
    current for nonlinear ones, each input vector on its own.

    Args:
        p: the array.
        v_in: (B, rows) input voltages (V); a (rows,) vector is taken as B = 1.

    Returns:
        (B, cols) output currents (A), positive into the sense nodes.

    Raises:
        ConfigError: bad input shape or values.
        SimulationError: Newton did not converge.
    """
    v_in = _check_inputs(p, v_in, "v_in")
    if is_linear(p):
        return linear_response(p).currents(v_in)
    net = _Network(p, float(np.abs(v_in).max(initial=0.0)))
    state = _NewtonState()
    out = np.empty((v_in.shape[0], net.topo.cols))
    for k, row in enumerate(v_in):
        vf = net.fixed_voltages(row[None, :])[0]
        v = _newton(net, vf, state)
        out[k] = -net.net_current(v, net.cells(v))[net.topo.sense_ids]
    return _logical(p, out)


def bit_line_state(p: CrossbarParams, v_in: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact solution along every bit line, for a batch of input vectors.

    Args:
        p: the array.
        v_in: (B, rows) input voltages (V).

    Returns:
        ``(v_bl, i_cell)``, each ``(B, rows, physical cols)``: the voltage (V) of
        every bit-line node ``bl<r>_<c>`` and the current (A) every cell draws
        from it. Row ``r``'s current past column ``c`` is ``i_cell[:, r, c+1:].sum(-1)``.

    Raises:
        ConfigError: bad input shape or values.
        SimulationError: Newton did not converge.
    """
    v_in = _check_inputs(p, v_in, "v_in")
    net = _Network(p, float(np.abs(v_in).max(initial=0.0)))
    t = net.topo
    state = _NewtonState()
    v_bl = np.empty((v_in.shape[0], *t.bl.shape))
    i_cell = np.empty_like(v_bl)
    for k, row in enumerate(v_in):
        v = _newton(net, net.fixed_voltages(row[None, :])[0], state)
        v_bl[k] = v[t.bl]
        i_cell[k] = net.cells(v).i_x.reshape(t.bl.shape)
    return v_bl, i_cell


@dataclass
class _NewtonState:
    """A Jacobian factorisation carried between Newton steps and input vectors."""

    system: LinearSystem | None = None
    factorisations: int = 0
    iterations: int = 0


def _newton(net: _Network, vf: np.ndarray, state: _NewtonState,
            v0: np.ndarray | None = None) -> np.ndarray:
    """Node voltages (n_total,) solving KCL at every unknown node.

    Converged when the KCL residual is below ``ABS_TOL_AMP`` or ``REL_TOL`` of
    the largest element current, and the last step moved no node by more
    than ``STEP_REL_TOL`` of the largest fixed voltage (or the steps stopped
    shrinking: rounding noise).
    """
    t = net.topo
    v = net.initial_guess(vf) if v0 is None else v0.copy()
    v[t.n_u:] = vf
    step_tol = STEP_REL_TOL * max(float(np.abs(vf).max(initial=0.0)), 1e-3)
    f_prev, step, step_prev = np.inf, np.nan, np.nan  # nan: no step taken yet
    for _ in range(MAX_NEWTON_ITER):
        st = net.cells(v)
        f = net.net_current(v, st)[: t.n_u]
        f_norm = float(np.abs(f).max(initial=0.0))
        f_tol = max(ABS_TOL_AMP, REL_TOL * net.current_scale(v, st))
        if f_norm == 0.0 or (f_norm <= f_tol and (step <= step_tol or step >= step_prev)):
            _check_table_range(net, v)
            return v
        if state.system is None or (f_norm > f_tol and f_norm > REFACTOR_RATIO * f_prev):
            state.system = LinearSystem(net.jacobian(st)[: t.n_u, : t.n_u], t.n_x, net.order)
            state.factorisations += 1
        dv = -state.system.solve(f)
        big = float(np.abs(dv).max(initial=0.0))
        if big > MAX_STEP_VOLT:
            dv *= MAX_STEP_VOLT / big
        v[: t.n_u] += dv
        f_prev, step_prev, step = f_norm, step, min(big, MAX_STEP_VOLT)
        state.iterations += 1
    raise SimulationError(f"nodal Newton did not converge in {MAX_NEWTON_ITER} iterations "
                          f"(KCL residual {f_norm:.3g} A)")


def _check_table_range(net: _Network, v: np.ndarray) -> None:
    if isinstance(net.mos, TabulatedMos):
        lo, hi = net.mos.span_volt
        if v.min() < lo or v.max() > hi:
            raise ConfigError(f"node voltages [{v.min():.3g}, {v.max():.3g}] V leave the "
                              f"BSIM4 table range [{lo:g}, {hi:g}] V")


# --------------------------------------------------------------------------- linearisation


class _Linearised:
    """A network and one solution of it to linearise about.

    For a nonlinear network the operating point ``v_op`` (by Newton); for a
    linear one all nodes at 0 V with all sources at 0 V (any solution serves).
    """

    def __init__(self, p: CrossbarParams, v_op: np.ndarray | None):
        self.p = p
        if is_linear(p):
            self.net = _Network(p)
            self.v = np.zeros(self.net.topo.n_total)  # all nodes at 0 V is a solution
            self.v_op = None
        else:
            self.v_op = v_op
            self.net = _Network(p, float(np.abs(v_op).max(initial=0.0)))
            vf = self.net.fixed_voltages(v_op[None, :])[0]
            self.v = _newton(self.net, vf, _NewtonState())
        self.cells = self.net.cells(self.v)
        self.i_op = -self.net.net_current(self.v, self.cells)[self.net.topo.sense_ids]


class LinearResponse:
    """A factorised (linearised) crossbar: output currents for many input batches.

    Exact for linear networks; otherwise the tangent at the operating point.
    Made by ``linear_response``. Attributes:
        system: the ``LinearSystem`` (sparse LU) over the unknown nodes.
    """

    def __init__(self, lin: _Linearised):
        t = lin.net.topo
        self._t = t
        self._lin = lin
        jac = lin.net.jacobian(lin.cells)
        self._j_uf = jac[: t.n_u, t.n_u:].tocsr()
        self._j_ou = jac[t.sense_ids][:, : t.n_u].tocsr()
        self._j_of = jac[t.sense_ids][:, t.n_u:].tocsr()
        self.system = LinearSystem(jac[: t.n_u, : t.n_u], t.n_x, lin.net.order)

    def currents(self, v_in: np.ndarray) -> np.ndarray:
        """Output currents (B, cols) for inputs (B, rows), differential pairs subtracted."""
        lin, t = self._lin, self._t
        v_in = _check_inputs(lin.p, v_in, "v_in")
        dvf = lin.net.fixed_voltages(v_in) - lin.v[t.n_u:]
        return _logical(lin.p, lin.i_op + self._response(dvf.T).T)

    def transfer_physical(self) -> np.ndarray:
        """(rows, physical cols) d(output)/d(input) by one sparse solve per row."""
        t = self._t
        e = np.zeros((t.rows + t.cols, t.rows))
        e[np.arange(t.rows), np.arange(t.rows)] = 1.0
        return self._response(e).T

    def _response(self, dvf: np.ndarray) -> np.ndarray:
        """Output changes (physical cols, k) for fixed-node voltage changes (fixed, k).

        Solved ``RHS_CHUNK_BYTES`` of right-hand sides at a time, so a big batch
        never holds more than that in node voltages.
        """
        step = max(1, RHS_CHUNK_BYTES // (8 * max(self.system.n, 1)))
        out = np.empty((self._t.cols, dvf.shape[1]))
        for i in range(0, dvf.shape[1], step):
            d = dvf[:, i:i + step]
            x = self.system.solve(-(self._j_uf @ d))
            out[:, i:i + step] = -(self._j_ou @ x + self._j_of @ d)
        return out


def linear_response(p: CrossbarParams, v_op: np.ndarray | None = None, *,
                    v_read_volt: float = DEFAULT_READ_VOLT) -> LinearResponse:
    """Factorise the array once for many solves (``.currents(v)``, ``.system.solve(rhs)``).

    For a linear network the answer is exact and ``v_op`` is ignored; for a
    nonlinear one it is the linearisation at ``v_op`` (default ``v_read_volt``
    on every row).
    """
    return LinearResponse(_Linearised(p, _operating_point(p, v_op, v_read_volt)))


def _operating_point(p: CrossbarParams, v_op: np.ndarray | None,
                     v_read_volt: float) -> np.ndarray | None:
    if is_linear(p):
        return None
    if v_op is None:
        return np.full(p.rows, float(v_read_volt))
    v = _check_inputs(p, v_op, "v_op")
    if v.shape[0] != 1:
        raise ConfigError(f"v_op must be one vector of {p.rows} voltages, got {np.shape(v_op)}")
    return v[0]


# --------------------------------------------------------------------------- transfer matrix


def transfer_matrix(p: CrossbarParams, v_op: np.ndarray | None = None, *,
                    v_read_volt: float = DEFAULT_READ_VOLT,
                    method: str = "auto") -> Transfer:
    """Transfer matrix and offset, ``I = v @ M + c``.

    Exact for linear networks (``c = -v_ref * M.sum(0)``, zero when
    ``v_ref = 0``). For nonlinear ones the linearisation at ``v_op``
    (default: ``v_read_volt`` on every row): ``M = dI/dv`` there and
    ``c = I(v_op) - v_op @ M``.

    Args:
        p: the array.
        v_op: (rows,) operating point (V), nonlinear networks only.
        v_read_volt: the default operating point's voltage on every row (V).
        method: ``"dissection"`` (nested-dissection Kron reduction,
            :mod:`cosim.engine.dissection`; wires of non-zero resistance only),
            ``"sweep"`` (block elimination by columns), ``"sparse"`` (one sparse
            solve per row, a cross-check) or ``"auto"``: the dissection where it
            applies, else the sweep.
    """
    check_choice("transfer method", method, TRANSFER_METHODS)
    if method == "auto":
        method = "dissection" if _has_wires(p) else "sweep"
    if method == "dissection" and not _has_wires(p):
        raise ConfigError("the dissection needs bit- and source-line wires of non-zero "
                          f"resistance, got {p.r_wire_bl_ohm:g} and {p.r_wire_sl_ohm:g} ohm")
    lin = _Linearised(p, _operating_point(p, v_op, v_read_volt))
    if method == "sparse":
        m_phys = LinearResponse(lin).transfer_physical()
    elif method == "dissection":
        m_phys = dissection.transfer(grid_network(p, _cell_coefficients(lin)))
    else:
        m_phys = _sweep_transfer(p, _cell_coefficients(lin))
    if lin.v_op is None:
        c_phys = -p.v_ref_volt * m_phys.sum(axis=0)
    else:
        c_phys = lin.i_op - lin.v_op @ m_phys
    return Transfer(M=_logical(p, m_phys), c=_logical(p, c_phys), v_op=lin.v_op)


def _has_wires(p: CrossbarParams) -> bool:
    return p.r_wire_bl_ohm > 0 and p.r_wire_sl_ohm > 0


def grid_network(p: CrossbarParams, cf: _CellCoefficients) -> dissection.GridNetwork:
    """The linear(ised) network of ``p`` with cell two-ports ``cf``, for the dissection."""
    cells = dissection.CellStamps(xx=cf.alpha, xs=cf.beta, sx=-cf.alpha_s, ss=-cf.beta_s)
    return dissection.GridNetwork(cells=cells, g_bl_siemens=1.0 / p.r_wire_bl_ohm,
                                  g_sl_siemens=1.0 / p.r_wire_sl_ohm,
                                  r_driver_ohm=p.r_driver_ohm, r_sense_ohm=p.r_sense_ohm)


@dataclass(frozen=True)
class _CellCoefficients:
    """Small-signal two-port of every cell (rows, physical cols), mid node eliminated.

    ``di_x = alpha dv_x + beta dv_s`` (out of the bit line) and
    ``di_s = alpha_s dv_x + beta_s dv_s`` (into the source line).
    """

    alpha: np.ndarray
    beta: np.ndarray
    alpha_s: np.ndarray
    beta_s: np.ndarray


def _cell_coefficients(lin: _Linearised) -> _CellCoefficients:
    shape = lin.net.topo.bl.shape
    st = lin.cells
    gr = np.broadcast_to(np.asarray(st.g_r, dtype=float), (shape[0] * shape[1],))
    if st.mos is None:
        g = gr.reshape(shape)
        return _CellCoefficients(alpha=g, beta=-g, alpha_s=g, beta_s=-g)
    mos = st.mos
    a, b = mos.did_dvd, mos.did_dvs
    den = gr + a
    safe = np.where(den == 0.0, 1.0, den)
    k = np.where(den == 0.0, 0.0, 1.0 / safe)
    alpha = gr * a * k
    beta = gr * b * k
    alpha_s = mos.dis_dvd * gr * k
    beta_s = mos.dis_dvs - mos.dis_dvd * b * k
    return _CellCoefficients(*(x.reshape(shape) for x in (alpha, beta, alpha_s, beta_s)))


def _column_ports(cf: _CellCoefficients, c: int, r_sl: float, r_sense: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Reduce physical column ``c``'s source line onto its bit-line ports.

    Returns ``K`` (rows, rows) with ``di_x = K dv_x`` (currents out of the
    bit-line nodes into the column) and ``w`` (rows,) with ``dI_out = w . dv_x``.
    """
    al, be = cf.alpha[:, c], cf.beta[:, c]
    al_s, be_s = cf.alpha_s[:, c], cf.beta_s[:, c]
    rows = al.size
    k = np.diag(al)
    w = al_s.copy()
    if r_sl > 0:
        n = rows if r_sense > 0 else rows - 1  # unknown source-line nodes
        if n == 0:
            return k, w
        g = 1.0 / r_sl
        j = np.arange(n)
        diag = g * ((j > 0).astype(float) + (j < rows - 1)) - be_s[:n]
        if r_sense > 0:
            diag[rows - 1] += 1.0 / r_sense
        ab = np.zeros((3, n))
        ab[0, 1:] = -g
        ab[1] = diag
        ab[2, :-1] = -g
        rhs = np.zeros((n, rows))
        rhs[j, j] = al_s[:n]
        h = sla.solve_banded((1, 1), ab, rhs, check_finite=False)  # dv_s = h dv_x
        k[:n] += be[:n, None] * h
        w += h.T @ be_s[:n]
        return k, w
    if r_sense == 0:
        return k, w
    a = 1.0 / r_sense - be_s.sum()  # the one merged source-line node
    h = al_s / a
    k += np.outer(be, h)
    w += h * be_s.sum()
    return k, w


def _sweep_transfer(p: CrossbarParams, cf: _CellCoefficients) -> np.ndarray:
    """(rows, physical cols) transfer matrix by block elimination over columns.

    Solves the adjoint of the bit-line system reduced onto the columns' port
    matrices ``K_c``: sweeping from the last column to the drivers, the part
    of the array to the right of a wire segment is a Norton equivalent
    ``i = E v - J`` (``J`` one column per output); a series resistance ``r``
    maps it to ``(1 + r E)^-1 (E, J)``. At the drivers, ``J`` is ``M``.
    """
    rows, cols = cf.alpha.shape
    e = np.zeros((rows, rows))
    j = np.zeros((rows, cols), order="F")  # j[:, c:] stays contiguous for LAPACK
    eye = np.eye(rows)
    # 0T1R cells are reciprocal: every E is symmetric positive semi-definite and
    # 1 + r E positive definite, so Cholesky (15 % faster) applies.
    factor, solve = (sla.cho_factor, sla.cho_solve) if not p.cell.access_transistor else \
        (sla.lu_factor, sla.lu_solve)
    for c in range(cols - 1, -1, -1):
        k, w = _column_ports(cf, c, p.r_wire_sl_ohm, p.r_sense_ohm)
        e += k.T
        j[:, c] = w
        r_series = p.r_wire_bl_ohm if c > 0 else p.r_driver_ohm
        if r_series > 0:
            fac = factor(eye + r_series * e, overwrite_a=True, check_finite=False)
            if c > 0:
                e = solve(fac, e, check_finite=False)
            j[:, c:] = solve(fac, j[:, c:], check_finite=False)
    return j
