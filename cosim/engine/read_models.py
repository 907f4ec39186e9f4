"""Read models of nonlinear crossbars (1T1R cells, sinh RRAM): fast and exact.

Both replace every cell by an affine function of its own two node voltages
(bit line, source line), chosen cell by cell without solving the array (for
1T1R the mid node between RRAM and access NMOS solved for the cell alone, at
its source-line node's sense voltage): a linear network that depends on each
cell only through the cell itself, so it needs no Newton solve of the whole
array, and a changed cell changes only its own stamp
(:mod:`cosim.engine.dissection` reduces it, and updates the reduction).

- :class:`LocalSecant` (the fast model): every cell's chord over the read range
  (exact at both ends of the input range); the affine map ``I = v @ M + c`` of
  that network, by one reduction carrying one right-hand side, and a cubic in each
  column's own output (:class:`ColumnCorrection`, :func:`column_correction`) for
  what no affine map holds;
- :class:`LocalTangent`: every cell's tangent at its bias, the same way;
- :class:`ExactSolver`: the exact DC solution for each input vector, by chord
  (simplified Newton) iterations on the local tangent's network: each
  iteration evaluates every cell's real currents at the present node voltages
  and solves the linear network once more for the batch (one pass up and one
  down the dissection's kept eliminations), converging linearly to the solution
  of the nonlinear network; vectors for which it stops contracting go to
  Newton's method (:func:`cosim.engine.nodal.solve`).

They model exactly the network of :mod:`cosim.engine.nodal` (wires of non-zero
resistance; zero-resistance lines are left to it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.interpolate import CubicSpline

from circuits.crossbar import CrossbarParams
from circuits.errors import ConfigError, SimulationError
from cosim.engine import dissection, nodal
from cosim.engine.mosfet import MosModel, access_model

BIAS_FRACTION = 0.25
"""The cells' bias, a fraction of the read voltage: the bit-line node of every cell at
``BIAS_FRACTION * v_read`` (inputs span ``[-v_read, v_read]``; measured best or near best
of 0 to 0.5 by ``benchmarks/bench_validated_range.py``)."""

MAX_CHORD_ITER = 40
"""Chord iterations before the vectors not yet converged go to Newton's method."""

CHORD_REL_TOL = 1e-10
"""A vector's iterations stop when its outputs' estimated error left is below this
fraction of the array's full scale (``ExactSolver.full_scale_amp``)."""

RATE_FLOOR = 0.01
"""The least contraction rate assumed in that estimate (the rate measured from two
steps is noisy once they near rounding)."""

CHUNK_NUMBERS = 2**23
"""Node voltages held at once per batch chunk (bounds memory: about 64 MiB a copy)."""

MID_ITER = 60
"""Most Newton steps of a cell's mid node at its bias."""

BIAS_GRID_POINTS = 4097
"""Conductances at which a 1T1R cell's bias is solved, uniform over the device range
(interpolated between: within 1e-12 of a direct solve, ``tests/engine/test_read_models.py``)."""

CORRECTION_MIN_ROWS = 32
"""The fewest rows of a block whose fast model is corrected per column
(:func:`column_correction`): in shorter ones the source lines' IR drop is small, the
coherent inputs' residual is mostly each cell's own curvature (a function of each input,
not of the column's current), and the correction does not lower the error (measured by
``benchmarks/bench_validated_range.py``)."""

_BIAS_TABLES: dict[tuple, CubicSpline] = {}


def _rram_law(p: CrossbarParams, g: np.ndarray):
    """The RRAM current law of ``p`` for cells of conductances ``g``."""
    return nodal._rram_iv(p, g)


def _mos_currents(mos: MosModel, vd: np.ndarray, vs: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    fast = getattr(mos, "currents", None)
    if fast is not None:
        return fast(vd, vs)
    m = mos.evaluate(vd, vs)
    return m.i_d, m.i_s


@dataclass(frozen=True, eq=False)
class _Bias:
    """Every cell at its read bias: currents and small-signal figures (flat arrays)."""

    v_x: float
    v_s: float
    v_m: np.ndarray | None    # mid nodes (1T1R)
    i_r: np.ndarray           # RRAM current, bit line -> mid (or source) node
    i_d: np.ndarray | None    # transistor currents (1T1R)
    i_s: np.ndarray | None
    g_r: np.ndarray           # RRAM conductance dI/dV at the bias
    a: np.ndarray | None      # dI_d/dV_m, dI_d/dV_s, dI_s/dV_m, dI_s/dV_s
    b: np.ndarray | None
    c: np.ndarray | None
    d: np.ndarray | None

    def stamps(self, shape: tuple[int, int]) -> dissection.CellStamps:
        if self.a is None:
            g = self.g_r.reshape(shape)
            return dissection.CellStamps.resistors(g)
        den = self.g_r + self.a
        xx = self.g_r * self.a / den
        xs = self.g_r * self.b / den
        sx = -self.c * self.g_r / den
        ss = self.c * self.b / den - self.d
        return dissection.CellStamps(*(q.reshape(shape) for q in (xx, xs, sx, ss)))


class _Cells:
    """The cells of one array (or of the flat indices ``cells`` of it): their real
    currents and their bias, each cell's from its own conductance alone."""

    def __init__(self, p: CrossbarParams, v_abs_max_volt: float,
                 cells: np.ndarray | None = None, mos: MosModel | None = None):
        if not nodal._has_wires(p):
            raise ConfigError("the read models need bit- and source-line wires of non-zero "
                              "resistance")
        if nodal.is_linear(p):
            raise ConfigError("the read models are for nonlinear arrays (1T1R or sinh RRAM)")
        self.p = p
        self.shape = p.physical_g().shape
        self.g = p.physical_g().ravel()
        if cells is not None:  # only these cells (flat indices), as a flat array
            self.g = self.g[cells]
            self.shape = self.g.shape
        self.rram = nodal._rram_iv(p, self.g)
        self.mos = None
        if p.cell.access_transistor:
            self.mos = mos if mos is not None else access_model(
                p.access, max(v_abs_max_volt, abs(p.v_ref_volt)))

    def bias(self, v_bias_volt: float) -> _Bias:
        """Every cell with its bit-line node at ``v_bias_volt`` and its source-line node
        at the sense voltage (1T1R: the mid node solved cell by cell).

        A 1T1R cell's bias depends only on its conductance: it is solved once on a
        grid of ``BIAS_GRID_POINTS`` conductances over the device range and
        interpolated (cubic splines; ``_bias_table``), so an array costs no solve.
        """
        n = self.g.size
        v_s = self.p.v_ref_volt
        if self.mos is None:
            vx, vs = np.full(n, float(v_bias_volt)), np.full(n, v_s)
            i, g_r = self.rram(vx - vs)
            return _Bias(v_x=float(v_bias_volt), v_s=v_s, v_m=None, i_r=i, i_d=None, i_s=None,
                         g_r=np.asarray(g_r, dtype=float) + 0.0, a=None, b=None, c=None,
                         d=None)
        table = _bias_table(self, float(v_bias_volt), v_s)
        vm, i_r, i_d, i_s, g_r, a, b, c, d = table(self.g).T
        return _Bias(v_x=float(v_bias_volt), v_s=v_s, v_m=vm, i_r=i_r, i_d=i_d, i_s=i_s,
                     g_r=g_r, a=a, b=b, c=c, d=d)

    def _bias_of(self, g: np.ndarray, v_x: float, v_s: float) -> np.ndarray:
        """(len(g), 9) bias figures of 1T1R cells of conductances ``g``: mid-node voltage,
        RRAM and transistor currents, RRAM conductance and the transistor's derivatives."""
        vx, vs = np.full(g.size, v_x), np.full(g.size, v_s)
        rram = _rram_law(self.p, g)
        g0 = rram(np.zeros_like(vx))[1]
        g_on = self.mos.evaluate(vs, vs).did_dvd  # the transistor at Vds = 0
        vm = vs + (vx - vs) * g0 / np.maximum(g0 + g_on, 1e-30)  # a series divider
        lo = np.minimum(vx, vs) - 0.05
        hi = np.maximum(vx, vs) + 0.05
        tol = 1e-15 * max(1.0, abs(v_x), abs(v_s))
        for _ in range(MID_ITER):
            i_r, g_r = rram(vx - vm)
            m = self.mos.evaluate(vm, vs)
            excess = i_r - m.i_d  # decreases with vm
            lo = np.where(excess > 0, vm, lo)
            hi = np.where(excess > 0, hi, vm)
            slope = -(g_r + m.did_dvd)
            step = vm - excess / np.where(slope < 0, slope, -1.0)
            inside = (slope < 0) & (step > lo) & (step < hi)
            new = np.where(inside, step, 0.5 * (lo + hi))
            done = np.abs(new - vm).max(initial=0.0) <= tol
            vm = new
            if done:
                break
        else:
            raise SimulationError("the cells' mid nodes did not converge at their bias")
        i_r, g_r = rram(vx - vm)
        m = self.mos.evaluate(vm, vs)
        return np.column_stack([vm, i_r, m.i_d, m.i_s, np.broadcast_to(g_r, vm.shape),
                                m.did_dvd, m.did_dvs, m.dis_dvd, m.dis_dvs])


def _bias_table(cells: _Cells, v_x: float, v_s: float) -> CubicSpline:
    """The bias figures of ``_Cells._bias_of`` as cubic splines in the conductance, over
    the device range (kept per transistor model, RRAM and bias)."""
    rram = cells.p.rram
    # The transistor model is fixed by its parameters and its table's span.
    key = (type(cells.mos).__name__, cells.p.access, getattr(cells.mos, "span_volt", None),
           rram, v_x, v_s)
    table = _BIAS_TABLES.get(key)
    if table is None:
        if len(_BIAS_TABLES) >= 64:
            _BIAS_TABLES.clear()
        g = np.linspace(rram.g_min_siemens, rram.g_max_siemens, BIAS_GRID_POINTS)
        table = _BIAS_TABLES[key] = CubicSpline(g, cells._bias_of(g, v_x, v_s), axis=0)
    return table


def _network(p: CrossbarParams, stamps: dissection.CellStamps) -> dissection.GridNetwork:
    return dissection.GridNetwork(cells=stamps, g_bl_siemens=1.0 / p.r_wire_bl_ohm,
                                  g_sl_siemens=1.0 / p.r_wire_sl_ohm,
                                  r_driver_ohm=p.r_driver_ohm, r_sense_ohm=p.r_sense_ohm)


def _constants(b: _Bias, st: dissection.CellStamps, vx: np.ndarray, vs: np.ndarray,
               i_r: np.ndarray, i_d: np.ndarray | None, i_s: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Constant terms ``k`` of the chord model ``out = stamp @ (V'_x, V'_s) + k`` of every
    cell, around present voltages ``vx, vs`` where the cell carries ``i_r`` (RRAM) and
    ``i_d, i_s`` (transistor): currents out of its bit- and source-line node."""
    xx, xs, sx, ss = st.xx, st.xs, st.sx, st.ss  # flat, one per cell
    if b.a is None:
        k_x = i_r - xx * vx - xs * vs
        return k_x, -i_r - sx * vx - ss * vs
    den = b.g_r + b.a
    k_x = (b.a * i_r + b.g_r * i_d) / den - xx * vx - xs * vs
    k_s = -(i_s + b.c * (i_r - i_d) / den) - sx * vx - ss * vs
    return k_x, k_s


class _LocalLinear:
    """An affine read model ``I = v @ M + c`` of a network whose every cell is replaced by
    an affine function of its own two node voltages, chosen per cell without solving the
    array (subclasses say which)."""

    def __init__(self, p: CrossbarParams, v_volt: float, *, keep: bool = False):
        self.p = p
        self.v_volt = float(v_volt)
        net, rhs = self._network(p)
        self._d = dissection.Dissection(net, keep_factors=False, rhs=rhs, keep_levels=keep)
        self._rhs = rhs
        self._finish()

    def _cell_models(self, p: CrossbarParams, cells: np.ndarray | None = None
                     ) -> tuple[dissection.CellStamps, np.ndarray, np.ndarray]:
        """Every cell's (or the flat indices ``cells``') stamps and constant currents
        ``k``: currents out of its bit- and source-line node ``= stamps @ (V_x, V_s) + k``
        (flat arrays). A cell's model depends on its own conductance alone."""
        raise NotImplementedError

    def _network(self, p: CrossbarParams) -> tuple[dissection.GridNetwork, tuple]:
        shape = p.physical_g().shape
        flat, k_x, k_s = self._cell_models(p)
        st = dissection.CellStamps(*(q.reshape(shape) for q in
                                     (flat.xx, flat.xs, flat.sx, flat.ss)))
        return _network(p, st), (-k_x.reshape(shape), -k_s.reshape(shape))

    def _network_near(self, p: CrossbarParams) -> tuple[dissection.GridNetwork, tuple]:
        """``_network(p)`` for ``p`` this array with other conductances: the models of the
        cells whose conductance changed are computed anew, the others' kept (a cell's
        model depends on its own conductance alone, so these are ``_network``'s numbers)."""
        g = p.physical_g()
        cells = np.flatnonzero(g != self.p.physical_g())
        flat, k_x, k_s = self._cell_models(p, cells)
        st = self._d.net.cells
        new = []
        for q, q_new in ((st.xx, flat.xx), (st.xs, flat.xs), (st.sx, flat.sx),
                         (st.ss, flat.ss)):
            q = q.copy()
            q.flat[cells] = q_new
            new.append(q)
        rhs = []
        for r, k in zip(self._rhs, (k_x, k_s), strict=True):
            r = r.copy()
            r.flat[cells] = -k
            rhs.append(r)
        return _network(p, dissection.CellStamps(*new)), tuple(rhs)

    def _finish(self) -> None:
        self.M = self._d.transfer()
        self.c = self._d.offset(self.p.v_ref_volt)

    @property
    def nbytes(self) -> int:
        """Memory of the kept reduction (bytes)."""
        return self._d.nbytes

    def reprogrammed(self, p: CrossbarParams) -> _LocalLinear:
        """This model for ``p``, the same array with other conductances: only the blocks
        of the reduction that hold a cell whose model changed are merged again (so the
        cost follows the change), and the result equals a new model of ``p``. This
        object's kept reduction moves to the result (it is updated in place).

        Raises:
            ConfigError: ``p`` differs in more than its conductances, or no levels kept.
        """
        if replace(p, g_siemens=self.p.g_siemens, g_neg_siemens=self.p.g_neg_siemens) \
                .digest() != self.p.digest():
            raise ConfigError("reprogrammed() needs the same array with other conductances")
        net, rhs = self._network_near(p)
        old = self._d.net.cells
        changed = ((net.cells.xx != old.xx) | (net.cells.xs != old.xs)
                   | (net.cells.sx != old.sx) | (net.cells.ss != old.ss)
                   | (rhs[0] != self._rhs[0]) | (rhs[1] != self._rhs[1]))
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.p, out._rhs = p, rhs
        out._d, self._d = self._d, None
        out._d.update(net, rhs, changed)
        out._finish()
        return out


class LocalTangent(_LocalLinear):
    """Every cell replaced by its tangent at its own bias: bit-line node at ``v_bias_volt``,
    source-line node at the sense voltage (the chord iteration matrix of
    :class:`ExactSolver`).

    Args:
        p: the array (physical columns; its sense network, see ``sense_network``).
        v_bias_volt: the bit-line voltage of every cell's bias (V).
        keep: keep the reduction's levels, so that :meth:`reprogrammed` can update it.
    """

    def __init__(self, p: CrossbarParams, v_bias_volt: float, *, keep: bool = False):
        super().__init__(p, v_bias_volt, keep=keep)

    @property
    def v_bias_volt(self) -> float:
        return self.v_volt

    def _cell_models(self, p, cells=None):
        cells = _Cells(p, abs(self.v_volt), cells)
        b = cells.bias(self.v_volt)
        st = b.stamps(cells.shape)
        flat = dissection.CellStamps(*(q.ravel() for q in (st.xx, st.xs, st.sx, st.ss)))
        n = cells.g.size
        k_x, k_s = _constants(b, flat, np.full(n, b.v_x), np.full(n, b.v_s), b.i_r, b.i_d,
                              b.i_s)
        return flat, k_x, k_s


class LocalSecant(_LocalLinear):
    """The fast read model: every cell replaced by its chord over the read range.

    With its source-line node at the sense voltage ``v_ref``, a cell's currents are
    exact at bit-line voltages ``-v_read_volt`` and ``+v_read_volt`` (the ends of the
    input range) and linear between; their slopes in the source-line voltage are the
    tangent's at zero cell voltage (``V_x = V_s = v_ref``). Against a tangent at one
    bias this spreads the cell's curvature (the access transistor's, with its jump at
    ``Vds = 0``) over the whole input range: measured, about half the largest error
    (``benchmarks/bench_validated_range.py``).

    The affine map ``(M, c)`` of that network is the model's first part; its output
    ``u + c`` (``u = v @ M``) is then corrected per column by a cubic in ``u``
    (:meth:`correction`, :class:`ColumnCorrection`), exact on the two coherent inputs:
    :meth:`currents` is the whole model. The correction costs two exact solves of the
    array, made on first use (not by :meth:`reprogrammed`); blocks of fewer than
    ``CORRECTION_MIN_ROWS`` rows have none.

    Args:
        p: the array (physical columns; its sense network, see ``sense_network``).
        v_read_volt: the input range's end (V), the DAC's full scale.
        keep: keep the reduction's levels, so that :meth:`reprogrammed` can update it.
    """

    def __init__(self, p: CrossbarParams, v_read_volt: float, *, keep: bool = False):
        self._correction: ColumnCorrection | None = None
        super().__init__(p, v_read_volt, keep=keep)

    def reprogrammed(self, p: CrossbarParams) -> LocalSecant:
        out = super().reprogrammed(p)
        out._correction = None
        return out

    def correction(self) -> ColumnCorrection:
        """The columns' second-order part (:func:`column_correction`), made on first use."""
        if self._correction is None:
            self._correction = column_correction(self.p, self.v_volt, self.M, self.c)
        return self._correction

    def currents(self, v_in: np.ndarray) -> np.ndarray:
        """The fast model's output currents (B, cols) (A) for inputs (B, rows) (V):
        ``u + c + correction(u)``, ``u = v @ M``."""
        u = self.correction().add_to(np.asarray(v_in, dtype=float) @ self.M)
        u += self.c
        return u

    def _cell_models(self, p, cells=None):
        v, v_ref = self.v_volt, p.v_ref_volt
        # An update's cells use the transistor model of the model it updates.
        cells = _Cells(p, v + abs(v_ref), cells, mos=getattr(self, "_mos", None))
        self._mos = cells.mos
        hi, lo, mid = cells.bias(v), cells.bias(-v), cells.bias(v_ref)
        # Currents out of the bit-line node (the RRAM's) and into the source-line node.
        ix_hi, ix_lo = hi.i_r, lo.i_r
        is_hi, is_lo = (hi.i_r, lo.i_r) if hi.i_s is None else (hi.i_s, lo.i_s)
        tan = mid.stamps(cells.shape)
        xx = (ix_hi - ix_lo) / (2.0 * v)
        sx = -(is_hi - is_lo) / (2.0 * v)
        xs, ss = tan.xs.ravel(), tan.ss.ravel()
        # Through the point at V_x = -v, V_s = v_ref.
        k_x = ix_lo + xx * v - xs * v_ref
        k_s = -is_lo + sx * v - ss * v_ref
        return dissection.CellStamps(xx=xx, xs=xs, sx=sx, ss=ss), k_x, k_s


@dataclass(frozen=True, eq=False)
class ColumnCorrection:
    """The fast model's second-order part: column ``j`` reads
    ``y_j = u_j + c_j + q2_j u_j^2 + q3_j u_j^3``, with ``u = v @ M`` the affine model's
    input-driven current (A).

    Why: a cell's current depends on the product of its own voltage and its access
    transistor's source voltage, which the source line's IR drop moves with the current
    of every cell of the column; no affine map holds that, and it is largest where the
    whole column drives the same way. Most of it is a function of the column's own
    current: with ``q2, q3`` set so the model is exact on the two coherent inputs (every
    row at ``+v_read`` and at ``-v_read``; :func:`column_correction`), the error left on
    the others is measured in ``benchmarks/bench_validated_range.py`` (the data the
    ``calibrated`` backend states).

    Attributes:
        q2: (cols,) second-order coefficients (1/A).
        q3: (cols,) third-order coefficients (1/A^2).
    """

    q2: np.ndarray
    q3: np.ndarray

    def of(self, u: np.ndarray) -> np.ndarray:
        """The correction (A) for affine input currents ``u`` (B, cols) (A)."""
        t = u * self.q3
        t += self.q2
        t *= u
        t *= u
        return t

    def add_to(self, u: np.ndarray) -> np.ndarray:
        """``u + of(u)``, in place in ``u`` (a float array, B x cols) (A)."""
        u += self.of(u)
        return u


def column_correction(p: CrossbarParams, v_read_volt: float, m: np.ndarray,
                      c: np.ndarray) -> ColumnCorrection:
    """The :class:`ColumnCorrection` of the affine model ``(m, c)`` of ``p`` (a sense
    network with wires) read over ``[-v_read_volt, v_read_volt]``: per column the
    cubic ``q2 u^2 + q3 u^3`` through the exact model's (:class:`ExactSolver`) residual
    on the two coherent inputs (every row at ``+-v_read_volt``), where ``u`` is
    ``+-u_1`` (``u_1 = v_read_volt * sum_r m[r]``): two exact solves of the array.
    A column with ``u_1 = 0`` gets no correction, nor does a block of fewer than
    ``CORRECTION_MIN_ROWS`` rows (no solve)."""
    v = float(v_read_volt)
    rows = m.shape[0]
    if rows < CORRECTION_MIN_ROWS:
        zero = np.zeros(m.shape[1])
        return ColumnCorrection(q2=zero, q3=zero)
    coherent = np.vstack([np.full(rows, v), np.full(rows, -v)])
    y = ExactSolver(p, BIAS_FRACTION * v, v).currents(coherent)
    u = coherent[0] @ m
    r_pos, r_neg = y[0] - (c + u), y[1] - (c - u)
    ok = u != 0.0
    u = np.where(ok, u, 1.0)
    q2 = np.where(ok, (r_pos + r_neg) / (2.0 * u * u), 0.0)
    q3 = np.where(ok, (r_pos - r_neg) / (2.0 * u * u * u), 0.0)
    return ColumnCorrection(q2=q2, q3=q3)


class ExactSolver:
    """Exact DC output currents of a nonlinear array for batches of input vectors.

    Chord iterations on the network of every cell's tangent at its bias (module
    docstring). The first solve (from the bias, whose injections are the same for
    every vector and condensed once) needs only the pass down the kept eliminations;
    each iteration after it evaluates the cells, condenses their injections (the pass
    up) and reads the outputs there. A vector is done when its output error left,
    estimated from its last two output changes (``d_k * r / (1 - r)``, ``r =
    d_k / d_(k-1)`` at least ``RATE_FLOOR``: a linear contraction), is below ``rel_tol``
    of the array's full scale (``full_scale_amp``); the others go on (down, cells, up)
    without it.

    Args:
        p: the array (physical columns; its sense network).
        v_bias_volt: the bit-line voltage of the cells' bias (V).
        v_abs_max_volt: the largest input magnitude to be solved (V), for the
            access transistor's table span.
        rel_tol: the output tolerance, a fraction of the full scale.
    """

    def __init__(self, p: CrossbarParams, v_bias_volt: float, v_abs_max_volt: float,
                 rel_tol: float = CHORD_REL_TOL):
        self.p = p
        self.v_abs_max_volt = float(v_abs_max_volt)
        self.cells = _Cells(p, max(abs(v_bias_volt), v_abs_max_volt))
        bias = self.cells.bias(v_bias_volt)
        st = bias.stamps(self.cells.shape)
        self.dissection = dissection.Dissection(_network(p, st), keep_factors=True)
        self.rel_tol = rel_tol
        self.iterations = 0
        self.newton_vectors = 0
        # Every cell's figures as columns, in the dissection's cell order (no gathers).
        order = self._order = self.dissection.cell_order
        b = bias

        def col(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.ascontiguousarray(
                np.broadcast_to(a, order.shape)[order])[:, None]

        self._b = _Bias(v_x=b.v_x, v_s=b.v_s, **{f: col(getattr(b, f)) for f in (
            "v_m", "i_r", "i_d", "i_s", "g_r", "a", "b", "c", "d")})
        self._flat = dissection.CellStamps(*(col(q.ravel()) for q in (st.xx, st.xs, st.sx,
                                                                       st.ss)))
        self._rram = _rram_law(p, col(self.cells.g))
        n = order.size
        if b.a is not None:  # the chord's per-cell factors (mid node eliminated)
            bb = self._b
            den = bb.g_r + bb.a
            self._pa, self._pg, self._pc = bb.a / den, bb.g_r / den, bb.c / den
            self._qi, self._qb = 1.0 / den, bb.b / den
        k_x, k_s = _constants(self._b, self._flat, np.full((n, 1), b.v_x),
                              np.full((n, 1), b.v_s), self._b.i_r, self._b.i_d, self._b.i_s)
        self._bias_up = self.dissection.condense(-k_x, -k_s, 1)
        g = p.physical_g()
        self.full_scale_siemens = float(g.sum(axis=0).max())
        """The largest column conductance: times the read voltage, the full scale (S)."""

    @property
    def nbytes(self) -> int:
        """Memory held by the kept eliminations and the cells' figures (bytes)."""
        cells = [a for a in (*vars(self._b).values(), *vars(self._flat).values(),
                             *(getattr(self, f, None) for f in ("_pa", "_pg", "_pc", "_qi",
                                                                "_qb")))
                 if isinstance(a, np.ndarray)]
        kept = sum(y.nbytes for ys in self._bias_up.kept for y in ys)
        return self.dissection.nbytes + kept + sum(a.nbytes for a in cells)

    def full_scale_amp(self, v_abs_volt: float) -> float:
        """The output scale of reads up to ``v_abs_volt`` (A): the largest column
        conductance times the largest input or sense voltage (1 mV at least)."""
        return self.full_scale_siemens * max(v_abs_volt, abs(self.p.v_ref_volt), 1e-3)

    def currents(self, v_in: np.ndarray) -> np.ndarray:
        """(B, physical cols) currents into the sense nodes (A) for inputs (B, rows) (V)."""
        return self._solve(v_in)[0]

    def cell_state(self, v_in: np.ndarray) -> tuple[np.ndarray, ...]:
        """Each cell at the solution for inputs ``v_in`` (B, rows) (V), one step past the
        outputs' convergence: ``(v_x, v_s, i_r, i_s)``, (B, rows * physical cols) bit-
        and source-line node voltages (V), RRAM current and the current into the
        source-line node (A), cells row-major.

        Raises:
            SimulationError: a vector needed Newton's method (no cell state kept).
        """
        return self._solve(v_in, state=True)[1]

    def _solve(self, v_in: np.ndarray, state: bool = False) -> tuple[np.ndarray, list]:
        v_in = np.atleast_2d(np.asarray(v_in, dtype=float))
        n = self._order.size
        step = max(1, CHUNK_NUMBERS // (3 * n))
        out, states = [], []
        for i in range(0, v_in.shape[0], step):
            y, sts = self._chunk(v_in[i:i + step], state)
            out.append(y)
            states.append(sts)
        cells = []
        if state:
            inv = np.empty_like(self._order)
            inv[self._order] = np.arange(self._order.size)
            cells = [np.vstack([c[k] for c in states])[:, inv] for k in range(4)]
        return np.vstack(out), cells

    def _chunk(self, v_in: np.ndarray, state: bool) -> tuple[np.ndarray, list]:
        b, p, d = self._b, self.p, self.dissection
        n_b = v_in.shape[0]
        tol = self.rel_tol * self.full_scale_amp(float(np.abs(v_in).max(initial=0.0)))
        st = _State(vx=np.full((1, 1), b.v_x), vs=np.full((1, 1), b.v_s), vm=b.v_m,
                    i_r=b.i_r, i_d=b.i_d, i_s=b.i_s)
        up = self._bias_up
        x_top, prev = d.terminals(up, v_in, p.v_ref_volt)
        i_out = np.empty((n_b, d.cols))
        cells = [np.empty((n_b, b.i_r.size)) for _ in range(4)] if state else []
        active = np.arange(n_b)
        last = np.full(n_b, np.inf)
        for it in range(MAX_CHORD_ITER):
            self._down(d.expand(up, x_top), st)
            up = d.condense(*self._injections(st), active.size)
            x_top, now = d.terminals(up, v_in[active], p.v_ref_volt)
            self.iterations += 1
            delta = np.abs(now - prev).max(axis=1)
            rate = delta / np.maximum(last, 1e-300)
            r = np.clip(rate, RATE_FLOOR, 0.5)
            done = (it >= 1) & (rate < 1.0) & (delta * r / (1.0 - r) <= tol)
            bad = np.zeros_like(done)
            if it >= 2:
                bad = ~done & (delta > last)  # not contracting: Newton takes over
            if it >= 8:
                # Contracting too slowly to reach the tolerance in the iterations left.
                needed = np.log(tol / np.maximum(delta, 1e-300)) / np.log(
                    np.clip(rate, 1e-300, 1 - 1e-12))
                bad |= ~done & (needed > MAX_CHORD_ITER - it)
            if it == MAX_CHORD_ITER - 1:
                bad = ~done
            if done.any():
                self._check_span(st, done)
                i_out[active[done]] = now[done]
                if state:  # one more step down for them: the state of their outputs
                    sub = st.subset(done)
                    self._down(d.expand(up.take(done), x_top[:, done]), sub)
                    for k, a in enumerate((sub.vx, sub.vs, sub.i_r, sub.i_s)):
                        cells[k][active[done]] = a.T
            if bad.any():
                # Far from the bias (large reads of high conductances, strong IR drop) the
                # chord contracts slowly or not at all: those vectors go to Newton's method
                # with its own starting point and step control (cosim.engine.nodal.solve).
                if state:
                    raise SimulationError("the chord iterations did not converge")
                self.newton_vectors += int(bad.sum())
                i_out[active[bad]] = nodal.solve(p, v_in[active[bad]])
            keep = ~(done | bad)
            if not keep.any():
                break
            if not keep.all():
                active, now, delta = active[keep], now[keep], delta[keep]
                up, x_top = up.take(keep), x_top[:, keep]
                st.take(keep)
            prev, last = now, delta
        return i_out, cells

    def _check_span(self, st: _State, sel: np.ndarray) -> None:
        lo, hi = getattr(self.cells.mos, "span_volt", (-np.inf, np.inf))
        if not np.isfinite(lo) and not np.isfinite(hi):
            return
        for a in (st.vx, st.vs, st.vm):
            if a is not None:
                a = a[:, sel]
                if a.min() < lo or a.max() > hi:
                    raise ConfigError(f"node voltages [{a.min():.3g}, {a.max():.3g}] V leave "
                                      f"the BSIM4 table range [{lo:g}, {hi:g}] V")

    def _injections(self, st: _State) -> tuple[np.ndarray, np.ndarray]:
        """Currents injected into every cell's bit- and source-line node by the chord model
        at state ``st`` (``-k`` of ``_constants``, with its factors kept)."""
        f = self._flat
        inj_x = f.xx * st.vx
        tmp = np.multiply(f.xs, st.vs)
        inj_x += tmp
        inj_s = f.sx * st.vx
        np.multiply(f.ss, st.vs, out=tmp)
        inj_s += tmp
        if st.i_d is None:
            inj_x -= st.i_r
            inj_s += st.i_r
            return inj_x, inj_s
        np.multiply(self._pa, st.i_r, out=tmp)
        inj_x -= tmp
        np.multiply(self._pg, st.i_d, out=tmp)
        inj_x -= tmp
        inj_s += st.i_s
        np.subtract(st.i_r, st.i_d, out=tmp)
        tmp *= self._pc
        inj_s += tmp
        return inj_x, inj_s

    def _down(self, nodes: tuple[np.ndarray, np.ndarray], st: _State) -> None:
        """Moves the state ``st`` to the node voltages ``nodes`` (the mid nodes by their
        chord step) and evaluates the cells' currents there."""
        nx, ns = nodes
        if st.vm is not None:
            # vm += (i_r - i_d + g_r dx - b ds) / (g_r + a)
            step = np.subtract(nx, st.vx)
            step *= self._pg
            tmp = np.subtract(ns, st.vs)
            tmp *= self._qb
            step -= tmp
            np.subtract(st.i_r, st.i_d, out=tmp)
            tmp *= self._qi
            step += tmp
            st.vm = st.vm + step
        st.vx, st.vs = nx, ns
        if st.vm is None:
            st.i_r = self._rram(st.vx - st.vs)[0]
        else:
            st.i_r = self._rram(st.vx - st.vm)[0]
            st.i_d, st.i_s = _mos_currents(self.cells.mos, st.vm, st.vs)


@dataclass
class _State:
    """Node voltages of every cell for a batch, (cells, B) in the dissection's cell
    order, and the cells' currents there."""

    vx: np.ndarray
    vs: np.ndarray
    vm: np.ndarray | None
    i_r: np.ndarray
    i_d: np.ndarray | None
    i_s: np.ndarray | None

    def take(self, sel: np.ndarray) -> None:
        """Keeps only the vectors ``sel`` (booleans)."""
        for f in ("vx", "vs", "vm", "i_r", "i_d", "i_s"):
            a = getattr(self, f)
            if a is not None:
                setattr(self, f, a[:, sel])

    def subset(self, sel: np.ndarray) -> _State:
        """A copy holding only the vectors ``sel`` (booleans)."""
        out = _State(**vars(self))
        out.take(sel)
        return out
