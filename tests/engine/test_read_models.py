"""The read models of nonlinear arrays (cosim.engine.read_models) against independent solutions.

Independent references: the fast model against a dense nodal solve built here from
every cell's tangent, taken by finite differences of the cell solved on its own
(``scipy.optimize.brentq`` on the mid node, the transistor model evaluated
directly); the exact model against Newton's method of ``cosim.engine.nodal``
(sparse LU, itself checked against a dense MNA in ``tests/engine/test_nodal.py``) and,
marked ``ngspice``, against ngspice run with tight tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from circuits.crossbar import CrossbarParams, batch_sweep, crossbar, output_sources
from circuits.devices import AccessParams, RRAMParams
from circuits.errors import ConfigError
from circuits.runner import run
from cosim.engine import nodal, read_models
from cosim.engine.backends.calibrated import CalibratedBackend, measured_error
from tests.hardware_helpers import tile as make_tile

LEVEL1 = AccessParams(model="level1")


def _array(rng: np.random.Generator, rows: int, cols: int, g_hi: float = 29.22e-6,
           **kw) -> CrossbarParams:
    kw.setdefault("r_wire_bl_ohm", 1.06)
    kw.setdefault("r_wire_sl_ohm", 1.06)
    kw.setdefault("cell", "1T1R")
    return CrossbarParams(g_siemens=rng.uniform(1e-6, g_hi, size=(rows, cols)), **kw)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


# --------------------------------------------------------------------------- fast model


def _cell_current(p: CrossbarParams, mos, g: float, vx: float, vs: float) -> tuple[float, float]:
    """(current out of the bit-line node, current into the source-line node) of one 1T1R
    cell, its mid node solved alone."""
    def excess(vm: float) -> float:
        return g * (vx - vm) - float(mos.evaluate(np.array(vm), np.array(vs)).i_d)
    lo, hi = min(vx, vs) - 0.05, max(vx, vs) + 0.05
    vm = brentq(excess, lo, hi, xtol=1e-16, rtol=1e-15, maxiter=500)
    return g * (vx - vm), float(mos.evaluate(np.array(vm), np.array(vs)).i_s)


def _tangent_cell(p, mos, g, v_bias, h=1e-5):
    """(currents out of the bit-line and into the source-line node at the bias, their
    derivatives by V_x and by V_s, V_x of the bias) of the cell's tangent at its bias,
    by central differences."""
    f = lambda vx, vs: np.array(_cell_current(p, mos, g, vx, vs))  # noqa: E731
    i0 = f(v_bias, p.v_ref_volt)
    dx = (f(v_bias + h, p.v_ref_volt) - f(v_bias - h, p.v_ref_volt)) / (2 * h)
    ds = (f(v_bias, p.v_ref_volt + h) - f(v_bias, p.v_ref_volt - h)) / (2 * h)
    return i0, dx, ds, v_bias


def _secant_cell(p, mos, g, v_read, h=1e-5):
    """The cell's chord over bit-line voltages +-v_read (source line at v_ref), with the
    tangent's slope in V_s at zero cell voltage: the same 4-tuple as ``_tangent_cell``."""
    f = lambda vx, vs: np.array(_cell_current(p, mos, g, vx, vs))  # noqa: E731
    lo, hi = f(-v_read, p.v_ref_volt), f(v_read, p.v_ref_volt)
    v0 = p.v_ref_volt
    ds = (f(v0, v0 + h) - f(v0, v0 - h)) / (2 * h)
    return lo, (hi - lo) / (2 * v_read), ds, -v_read


def _dense_linear_network(p: CrossbarParams, cell_model, v: np.ndarray) -> np.ndarray:
    """Outputs (B, cols) of the network whose every cell is the affine model
    ``cell_model(p, mos, g) -> (i0, d/dV_x, d/dV_s, V_x0)`` (currents out of the bit
    line and into the source line, about ``(V_x0, v_ref)``), by one dense solve (every
    bit- and source-line node an unknown)."""
    mos = read_models.access_model(p.access, 1.0)
    g = p.physical_g()
    rows, cols = g.shape
    n = 2 * rows * cols
    bl = np.arange(rows * cols).reshape(rows, cols)
    sl = rows * cols + bl
    a = np.zeros((n, n))
    k = np.zeros(n)  # constant currents out of each node into the cells
    for r in range(rows):
        for c in range(cols):
            i0, dx, ds, vx0 = cell_model(p, mos, g[r, c])
            x, s = bl[r, c], sl[r, c]
            a[x, x] += dx[0]
            a[x, s] += ds[0]
            a[s, x] -= dx[1]
            a[s, s] -= ds[1]
            k[x] += i0[0] - dx[0] * vx0 - ds[0] * p.v_ref_volt
            k[s] -= i0[1] - dx[1] * vx0 - ds[1] * p.v_ref_volt

    def wire(i: int, j: int, r_ohm: float) -> None:
        gw = 1.0 / r_ohm
        a[i, i] += gw
        a[j, j] += gw
        a[i, j] -= gw
        a[j, i] -= gw

    for r in range(rows):
        for c in range(cols - 1):
            wire(bl[r, c], bl[r, c + 1], p.r_wire_bl_ohm)
    for c in range(cols):
        for r in range(rows - 1):
            wire(sl[r, c], sl[r + 1, c], p.r_wire_sl_ohm)
    g_d, g_s = 1.0 / p.r_driver_ohm, 1.0 / p.r_sense_ohm
    for r in range(rows):
        a[bl[r, 0], bl[r, 0]] += g_d
    for c in range(cols):
        a[sl[-1, c], sl[-1, c]] += g_s
    out = []
    for row in np.atleast_2d(v):
        b = -k.copy()
        b[bl[:, 0]] += g_d * row
        b[sl[-1, :]] += g_s * p.v_ref_volt
        volts = np.linalg.solve(a, b)
        out.append(g_s * (volts[sl[-1, :]] - p.v_ref_volt))
    return np.array(out)


def _small_array(rng: np.random.Generator) -> CrossbarParams:
    return _array(rng, 5, 4, access=LEVEL1, r_driver_ohm=20.0, r_sense_ohm=30.0,
                  v_ref_volt=0.01, r_wire_bl_ohm=3.0, r_wire_sl_ohm=4.0)


def test_fast_model_is_the_network_of_every_cell_chord(rng: np.random.Generator) -> None:
    """``LocalSecant`` (the fast model) against a dense solve of the cells' chords over
    the read range (level-1 transistor, driver and sense resistance, a sense voltage
    off 0 V); it stays near the exact solution (within the cells' curvature)."""
    p = _small_array(rng)
    v = rng.uniform(-0.1, 0.1, size=(4, 5))
    fast = read_models.LocalSecant(p, 0.1)
    y = v @ fast.M + fast.c
    assert _rel(y, _dense_linear_network(p, lambda p, m, g: _secant_cell(p, m, g, 0.1), v)) \
        < 1e-8
    assert _rel(y, nodal.solve(p, v)) < 1e-3


def test_local_tangent_is_the_network_of_every_cell_tangent(rng: np.random.Generator) -> None:
    """``LocalTangent`` (the exact model's iteration matrix) against a dense solve of the
    cells' finite-difference tangents at their bias."""
    p = _small_array(rng)
    v = rng.uniform(-0.1, 0.1, size=(4, 5))
    lt = read_models.LocalTangent(p, 0.025)
    ref = _dense_linear_network(p, lambda p, m, g: _tangent_cell(p, m, g, 0.025), v)
    assert _rel(v @ lt.M + lt.c, ref) < 1e-8


def test_cell_bias_table_matches_a_direct_solve(rng: np.random.Generator) -> None:
    """The bias figures interpolated over the conductance equal a direct mid-node solve."""
    p = _array(rng, 6, 7, g_hi=200e-6, access=LEVEL1)
    cells = read_models._Cells(p, 0.5)
    b = cells.bias(0.05)
    direct = cells._bias_of(cells.g, 0.05, 0.0)
    table = np.column_stack([b.v_m, b.i_r, b.i_d, b.i_s, b.g_r, b.a, b.b, b.c, b.d])
    assert (np.abs(table - direct).max(axis=0) / np.abs(direct).max(axis=0)).max() < 1e-11


def test_reprogrammed_fast_model_equals_a_whole_extraction(rng: np.random.Generator) -> None:
    p = _array(rng, 12, 20, access=LEVEL1, r_sense_ohm=5.0)
    fast = read_models.LocalSecant(p, 0.1, keep=True)
    for k in (0, 1, 30, 240):
        g = p.g_siemens.copy()
        g.flat[rng.choice(g.size, k, replace=False)] = rng.uniform(1e-6, 29e-6, k)
        p = CrossbarParams(**{f: getattr(p, f) for f in (
            "cell", "r_wire_bl_ohm", "r_wire_sl_ohm", "r_driver_ohm", "r_sense_ohm", "access")},
            g_siemens=g)
        fast = fast.reprogrammed(p)
        whole = read_models.LocalSecant(p, 0.1)
        assert _rel(fast.M, whole.M) < 1e-12 and _rel(fast.c, whole.c) < 1e-12
    with pytest.raises(ConfigError, match="same array"):
        fast.reprogrammed(_array(rng, 12, 20, access=LEVEL1, r_sense_ohm=6.0))


def _dense_affine_map(p: CrossbarParams, model: read_models.LocalSecant
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(M, c)`` of ``I = v @ M + c`` for the network of ``model``'s cells (their stamps
    and constant currents, ``_cell_models``), solved densely here: every bit- and
    source-line node an unknown, the first column's bit-line nodes held at the inputs
    where the driver resistance is 0."""
    st, k_x, k_s = model._cell_models(p)
    g = p.physical_g()
    rows, cols = g.shape
    bl = np.arange(rows * cols).reshape(rows, cols)
    sl = rows * cols + bl
    n = 2 * rows * cols
    a = np.zeros((n, n))
    k = np.zeros(n)
    x, s = bl.ravel(), sl.ravel()
    a[x, x] += st.xx
    a[x, s] += st.xs
    a[s, x] += st.sx
    a[s, s] += st.ss
    k[x] += k_x
    k[s] += k_s
    for (i, j, r_ohm) in ([(bl[r, c], bl[r, c + 1], p.r_wire_bl_ohm) for r in range(rows)
                          for c in range(cols - 1)]
                          + [(sl[r, c], sl[r + 1, c], p.r_wire_sl_ohm) for c in range(cols)
                             for r in range(rows - 1)]):
        a[[i, j], [i, j]] += 1.0 / r_ohm
        a[[i, j], [j, i]] -= 1.0 / r_ohm
    g_s = 1.0 / p.r_sense_ohm
    a[sl[-1], sl[-1]] += g_s
    rhs = np.zeros((n, rows + 1))  # one unit input per row, then every input at 0 V
    rhs[:, :] = -k[:, None]
    rhs[sl[-1], :] += g_s * p.v_ref_volt
    free = np.ones(n, dtype=bool)
    if p.r_driver_ohm > 0:
        a[bl[:, 0], bl[:, 0]] += 1.0 / p.r_driver_ohm
        rhs[bl[:, 0], np.arange(rows)] += 1.0 / p.r_driver_ohm
        volts = np.linalg.solve(a, rhs)
    else:  # the inputs' nodes are held: move them to the right-hand side
        held = np.zeros((n, rows + 1))
        held[bl[:, 0], np.arange(rows)] = 1.0
        free[bl[:, 0]] = False
        volts = held.copy()
        volts[free] = np.linalg.solve(a[np.ix_(free, free)],
                                      rhs[free] - a[np.ix_(free, ~free)] @ held[~free])
    i_out = g_s * (volts[sl[-1]] - p.v_ref_volt)  # (cols, rows + 1)
    return (i_out[:, :rows] - i_out[:, rows:]).T, i_out[:, rows]


@pytest.mark.parametrize("r_driver_ohm", [0.0, 15.0])
def test_fast_model_updates_equal_an_independent_solve(r_driver_ohm: float,
                                                      rng: np.random.Generator) -> None:
    """A fast model updated write after write (``reprogrammed``: the kept leaves rewritten,
    the blocks holding a changed cell merged again, the levels of few blocks and the top
    merged whole, the top only at its terminals) against a dense solve of the same
    cells' network built here, to rounding, and equal to a whole extraction bit for bit.
    The writes are those of write-verify programming: a bit column of every weight, a
    few cells, cells on the array's edges (the dangling nodes of the dissection), most
    of the array, none."""
    p = _array(rng, 11, 9, access=LEVEL1, r_driver_ohm=r_driver_ohm, r_sense_ohm=25.0,
               v_ref_volt=0.01)
    fast = read_models.LocalSecant(p, 0.1, keep=True)
    masks = [np.zeros(p.g_siemens.shape, dtype=bool) for _ in range(6)]
    masks[0][:, [1, 4, 7]] = True                        # one bit of every weight
    masks[1][rng.integers(0, 11, 3), rng.integers(0, 9, 3)] = True   # a few cells
    masks[2][:, -1] = masks[2][0, :] = True              # the last column, the first row
    masks[3][10, 0] = True                               # the corner at the terminals
    masks[4] = rng.random(p.g_siemens.shape) < 0.7       # most of the array
    for mask in masks:  # the last one changes nothing
        g = p.g_siemens.copy()
        g[mask] = rng.uniform(1e-6, 29.22e-6, int(mask.sum()))
        p = CrossbarParams(**{f: getattr(p, f) for f in (
            "cell", "r_wire_bl_ohm", "r_wire_sl_ohm", "r_driver_ohm", "r_sense_ohm", "access",
            "v_ref_volt")}, g_siemens=g)
        fast = fast.reprogrammed(p)
        m_ref, c_ref = _dense_affine_map(p, fast)
        assert _rel(fast.M, m_ref) < 1e-11 and _rel(fast.c, c_ref) < 1e-11
        whole = read_models.LocalSecant(p, 0.1)
        assert np.array_equal(fast.M, whole.M) and np.array_equal(fast.c, whole.c)


# --------------------------------------------------------------------------- exact model


@pytest.mark.parametrize("kw", [
    dict(access=LEVEL1),
    dict(access=LEVEL1, r_driver_ohm=10.0, r_sense_ohm=40.0, v_ref_volt=0.02),
    dict(access=LEVEL1, rram=RRAMParams(iv="sinh")),
    dict(cell="0T1R", rram=RRAMParams(iv="sinh"), r_sense_ohm=3.0),
])
def test_exact_model_equals_newton(kw: dict, rng: np.random.Generator) -> None:
    p = _array(rng, 9, 7, g_hi=60e-6, **kw)
    v = np.vstack([rng.uniform(-0.2, 0.2, size=(4, 9)), np.full((1, 9), 0.2),
                   np.full((1, 9), -0.2)])
    exact = read_models.ExactSolver(p, 0.05, 0.2)
    assert _rel(exact.currents(v), nodal.solve(p, v)) < 1e-10
    assert exact.newton_vectors == 0


def test_exact_model_hands_vectors_far_from_the_bias_to_newton(rng: np.random.Generator
                                                                ) -> None:
    """Reads of 1.5 V on cells up to 200 uS: the chord stops contracting and Newton
    finishes; the answer is still Newton's."""
    p = _array(rng, 64, 4, g_hi=200e-6, access=LEVEL1, r_wire_bl_ohm=5.0, r_wire_sl_ohm=5.0)
    v = np.vstack([np.full((1, 64), 1.5), rng.uniform(-0.1, 0.1, size=(1, 64))])
    exact = read_models.ExactSolver(p, 0.05, 1.5)
    y = exact.currents(v)
    assert exact.newton_vectors >= 1
    assert _rel(y, nodal.solve(p, v)) < 1e-10


@pytest.mark.parametrize("rel_tol", [1e-4, 1e-7])
def test_exact_model_stays_within_its_tolerance(rel_tol: float, rng: np.random.Generator
                                                ) -> None:
    """Stopped early by a loose tolerance, the exact model is still within it of Newton's
    answer (its error left is estimated from its last two output changes), and a looser
    tolerance takes no more iterations."""
    p = _array(rng, 40, 12, g_hi=60e-6, access=LEVEL1, r_wire_bl_ohm=3.0, r_wire_sl_ohm=3.0)
    v = np.vstack([rng.uniform(-0.3, 0.3, size=(4, 40)), np.full((1, 40), 0.3),
                   np.full((1, 40), -0.3)])
    y_ref = nodal.solve(p, v)
    exact = read_models.ExactSolver(p, 0.075, 0.3, rel_tol=rel_tol)
    err = np.abs(exact.currents(v) - y_ref).max()
    assert err <= rel_tol * exact.full_scale_amp(0.3)
    tight = read_models.ExactSolver(p, 0.075, 0.3)
    assert _rel(tight.currents(v), y_ref) < 1e-10
    assert exact.iterations <= tight.iterations


def test_exact_model_cell_state_is_newtons(rng: np.random.Generator) -> None:
    """The cells at the exact model's solution: their bit-line node voltages and
    currents are those of Newton's method (``nodal.bit_line_state``)."""
    p = _array(rng, 11, 6, g_hi=60e-6, access=LEVEL1, r_driver_ohm=5.0)
    v = np.vstack([rng.uniform(-0.1, 0.1, size=(2, 11)), np.full((1, 11), 0.1)])
    vx, _, i_r, _ = read_models.ExactSolver(p, 0.025, 0.1).cell_state(v)
    v_bl, i_cell = nodal.bit_line_state(p, v)
    assert np.abs(vx - v_bl.reshape(3, -1)).max() < 1e-12
    assert _rel(i_r, i_cell.reshape(3, -1)) < 1e-9


def _tight_spice(p: CrossbarParams, v: np.ndarray) -> np.ndarray:
    lines = [".options reltol=1e-9 abstol=1e-18 vntol=1e-12", batch_sweep(v.shape[0]).line()]
    sources = output_sources(p)
    res = run(crossbar(p, v_in_volt=v), lines, save=[f"i({s})" for s in sources])
    return np.column_stack([res.i(s) for s in sources]).reshape(v.shape[0], len(sources))


@pytest.mark.ngspice
def test_read_models_against_ngspice_on_a_tall_block(rng: np.random.Generator) -> None:
    """64 x 8 BSIM4 block, formed-range cells at 0.1 V, against ngspice at RELTOL 1e-9:
    the exact model within 1e-6 of full scale, the fast one within its stated error."""
    p = _array(rng, 64, 8, g_hi=60e-6)
    v = np.vstack([rng.uniform(-0.1, 0.1, size=(4, 64)), np.full((1, 64), 0.1),
                   np.full((1, 64), -0.1)])
    y_ref = _tight_spice(p, v)
    assert _rel(read_models.ExactSolver(p, 0.025, 0.1).currents(v), y_ref) < 1e-6
    fast = read_models.LocalSecant(p, 0.1)
    assert _rel(fast.currents(v), y_ref) < measured_error(64, 8, 60e-6, 0.1) + 1e-6


def _tall_inputs(rng: np.random.Generator, rows: int, v: float) -> np.ndarray:
    """Held-out inputs of a tall block (none is a coherent +-v, where the correction is
    fitted): uniform, random +-v, all rows at 0.5 v and -0.75 v, uniform in [0, v]."""
    return np.vstack([rng.uniform(-v, v, size=(3, rows)),
                      np.where(rng.random((2, rows)) < 0.5, -v, v),
                      np.full((1, rows), 0.5 * v), np.full((1, rows), -0.75 * v),
                      rng.uniform(0.0, v, size=(1, rows))])


def test_fast_model_correction_lowers_the_tall_block_error_below_the_affine_floor(
        rng: np.random.Generator) -> None:
    """128 x 4 block, HRS-LRS cells at 0.1 V, against Newton's method: the affine part
    alone is off by more than 1e-5 of full scale (the source lines' IR drop times the
    cells' voltage), the corrected model by less than a quarter of that and 5e-6; and it
    is exact on the coherent inputs it is fitted to."""
    p = _array(rng, 128, 4, access=LEVEL1)
    v = _tall_inputs(rng, 128, 0.1)
    ref = nodal.solve(p, v)
    fast = read_models.LocalSecant(p, 0.1)
    affine = _rel(v @ fast.M + fast.c, ref)
    corrected = _rel(fast.currents(v), ref)
    assert affine > 1e-5
    assert corrected < min(5e-6, affine / 4)
    coherent = np.vstack([np.full(128, 0.1), np.full(128, -0.1)])
    assert _rel(fast.currents(coherent), nodal.solve(p, coherent)) < 1e-9


@pytest.mark.ngspice
def test_fast_model_correction_against_ngspice_on_a_tall_block(rng: np.random.Generator
                                                               ) -> None:
    """The same on a 128 x 4 BSIM4 block against ngspice at RELTOL 1e-9."""
    p = _array(rng, 128, 4)
    v = _tall_inputs(rng, 128, 0.1)
    y_ref = _tight_spice(p, v)
    fast = read_models.LocalSecant(p, 0.1)
    affine = _rel(v @ fast.M + fast.c, y_ref)
    corrected = _rel(fast.currents(v), y_ref)
    assert affine > 1e-5
    assert corrected < min(5e-6, affine / 4)


# --------------------------------------------------------------------------- the backend


def test_backend_reads_the_corrected_fast_model(rng: np.random.Generator) -> None:
    """A calibrated tile of one tall 1T1R macro reads the corrected fast model: against
    the exact model's tile well below the affine part's error, with and without read
    noise (first order; its amplitude too small to matter)."""
    g = rng.uniform(1e-6, 29.22e-6, size=(128, 4))
    x = _tall_inputs(rng, 128, 1.0)
    cfg = dict(backend="calibrated", cell="1T1R", access=LEVEL1, r_wire_ohm=1.06)
    with pytest.warns(Warning):  # a level-1 transistor was never measured
        exact = make_tile(**cfg, exact_nonlinear=True)
        exact.program(g)
        y_ref = exact.mvm(x).y
        for noise in (0.0, 1e-12):
            tile = make_tile(**cfg, read_noise=noise)
            tile.program(g)
            y = tile.mvm(x).y
            backend: CalibratedBackend = tile.backend
            (p,) = tile.macro_params()
            v = x * tile.hardware.readout.v_read_volt
            i_exact = exact.backend.currents(p, v)
            m, c = backend.linear_map(p)
            affine = _rel(v @ m + c, i_exact)
            assert affine > 1e-5
            assert _rel(backend.currents(p, v), i_exact) < affine / 4
            assert _rel(y, y_ref) < affine / 4


def test_backend_updates_its_extraction_after_a_few_writes(rng: np.random.Generator) -> None:
    """A tile written again in a few cells (a write-verify step) is extracted by updating
    the last reduction, with the numbers of a whole extraction."""
    cfg = dict(backend="calibrated", cell="1T1R", access=LEVEL1, r_wire_ohm=1.06)
    tile = make_tile(**cfg)
    g = rng.uniform(1e-6, 29e-6, size=(20, 30))
    with pytest.warns(Warning):  # a level-1 transistor was never measured
        tile.program(g)
        tile.prepare()
    g2 = g.copy()
    g2[3, :5] = 29e-6
    tile.program(g2)
    tile.prepare()
    backend: CalibratedBackend = tile.backend
    assert backend.extractions == 2 and backend.incremental_extractions == 1
    fresh = make_tile(**cfg)
    fresh.load(tile.array)
    x = rng.uniform(-1, 1, size=(5, 20))
    with pytest.warns(Warning):
        y_fresh = fresh.mvm(x).y
    assert _rel(tile.mvm(x).y, y_fresh) < 1e-12
