"""The nodal solver against independent solutions and against ngspice.

Independent references: a dense MNA built here from the topology contract
(every contract node its own unknown, zero resistances as 0 V sources, output
currents as source branch currents, Newton with numpy for nonlinear cells),
closed forms (no wire resistance: ``I = v @ G``; one cell: a series circuit),
and, marked ``ngspice``, the real simulator on netlists from
``circuits.crossbar.crossbar``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from circuits.crossbar import CrossbarParams
from circuits.devices import TAOX_40NM, AccessParams, LinearIV, RRAMParams
from circuits.errors import ConfigError
from cosim.engine import mosfet, nodal
from cosim.engine.mosfet import Level1Card, Level1Mos, MosModel, UniformBicubic

G_LO, G_HI = TAOX_40NM.g_hrs_siemens, TAOX_40NM.g_lrs_siemens
TEST_CARD = Level1Card(name="T", kp_a_per_v2=2e-4, vto_volt=0.3, lambda_per_volt=0.05,
                       is_a=1e-14)


def _g(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    return rng.uniform(G_LO, G_HI, size=(rows, cols))


# --------------------------------------------------------------------------- dense MNA


def _mna(p: CrossbarParams, v: np.ndarray, mos: MosModel | None = None) -> np.ndarray:
    """Physical-column outputs of one input vector by dense MNA and Newton (numpy only)."""
    g = p.physical_g()
    rows, cols = g.shape
    names = [f"in{r}" for r in range(rows)] + [f"sense{c}" for c in range(cols)]
    names += [f"bl{r}_{c}" for r in range(rows) for c in range(cols)]
    names += [f"sl{c}_{r}" for c in range(cols) for r in range(rows)]
    if p.cell.access_transistor:
        names += [f"m{r}_{c}" for r in range(rows) for c in range(cols)]
    idx = {n: i for i, n in enumerate(names)}
    res: list[tuple[int, int, float]] = []
    src: list[tuple[int, float]] = []  # (node, volts) against ground

    def wire(a: str, b: str, r_ohm: float) -> None:
        res.append((idx[a], idx[b], np.inf if r_ohm == 0 else 1.0 / r_ohm))

    for r in range(rows):
        src.append((idx[f"in{r}"], v[r]))
        wire(f"in{r}", f"bl{r}_0", p.r_driver_ohm)
        for c in range(1, cols):
            wire(f"bl{r}_{c - 1}", f"bl{r}_{c}", p.r_wire_bl_ohm)
    for c in range(cols):
        for r in range(rows - 1):
            wire(f"sl{c}_{r}", f"sl{c}_{r + 1}", p.r_wire_sl_ohm)
        wire(f"sl{c}_{rows - 1}", f"sense{c}", p.r_sense_ohm)
        src.append((idx[f"sense{c}"], p.v_ref_volt))
    cells = []
    for r in range(rows):
        for c in range(cols):
            top = f"m{r}_{c}" if p.cell.access_transistor else f"sl{c}_{r}"
            cells.append((idx[f"bl{r}_{c}"], idx[top], idx[f"sl{c}_{r}"], g[r, c]))
    return _mna_newton(p, len(names), res, src, cells, mos, [idx[f"sense{c}"]
                                                             for c in range(cols)])


def _mna_newton(p: CrossbarParams, n: int, res: list, src: list, cells: list,
                mos: MosModel | None, sense: list[int]) -> np.ndarray:
    """Newton on [node voltages, source currents]; zero-ohm wires are 0 V sources."""
    volts = src
    shorts = [(a, b) for a, b, gx in res if np.isinf(gx)]
    conds = [(a, b, gx) for a, b, gx in res if np.isfinite(gx)]
    m = len(volts) + len(shorts)
    x = np.zeros(n + m)
    linear = isinstance(p.rram.iv, LinearIV)
    v0 = None if linear else p.rram.iv.v0_volt
    for _ in range(60):
        f = np.zeros(n + m)
        jac = np.zeros((n + m, n + m))
        vv = x[:n]
        for a, b, gx in conds:
            i = gx * (vv[a] - vv[b])
            f[a] += i
            f[b] -= i
            jac[np.ix_([a, b], [a, b])] += gx * np.array([[1, -1], [-1, 1]])
        for a, top, s, gx in cells:
            u = vv[a] - vv[top]
            if linear:
                i, di = gx * u, gx
            else:
                i, di = gx * v0 * np.sinh(u / v0), gx * np.cosh(u / v0)
            f[a] += i
            f[top] -= i
            jac[np.ix_([a, top], [a, top])] += di * np.array([[1, -1], [-1, 1]])
            if top != s:
                t = mos.evaluate(np.array(vv[top]), np.array(vv[s]))
                f[top] += t.i_d
                f[s] -= t.i_s
                jac[top, top] += t.did_dvd
                jac[top, s] += t.did_dvs
                jac[s, top] -= t.dis_dvd
                jac[s, s] -= t.dis_dvs
        for k, (node, vs) in enumerate(volts):  # branch current leaves the node into +
            f[node] += x[n + k]
            jac[node, n + k] += 1
            f[n + k] = vv[node] - vs
            jac[n + k, node] = 1
        for k, (a, b) in enumerate(shorts):
            kk = n + len(volts) + k
            f[a] += x[kk]
            f[b] -= x[kk]
            jac[a, kk] += 1
            jac[b, kk] -= 1
            f[kk] = vv[a] - vv[b]
            jac[kk, a], jac[kk, b] = 1, -1
        dx = np.linalg.solve(jac, -f)
        x += dx
        if np.abs(dx[:n]).max() < 1e-14:
            break
    cur = {node: x[n + k] for k, (node, _) in enumerate(volts)}
    return np.array([cur[s] for s in sense])


def _mna_batch(p: CrossbarParams, v: np.ndarray, mos: MosModel | None = None) -> np.ndarray:
    out = np.array([_mna(p, row, mos) for row in np.atleast_2d(v)])
    return out[:, 0::2] - out[:, 1::2] if p.differential else out


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def _err_full_scale(p: CrossbarParams, v: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference over the full-scale current (|v| + |v_ref|) @ G (no cancellation)."""
    full = ((np.abs(v) + abs(p.v_ref_volt)) @ p.physical_g()).max()
    return float(np.abs(a - b).max() / full)


# --------------------------------------------------------------------------- linear arrays

WIRE_CASES = {
    "defaults": {},
    "driver_and_sense": {"r_driver_ohm": 12.0, "r_sense_ohm": 7.0},
    "no_wires": {"r_wire_bl_ohm": 0.0, "r_wire_sl_ohm": 0.0},
    "ideal_bl_with_driver": {"r_wire_bl_ohm": 0.0, "r_driver_ohm": 5.0},
    "ideal_sl_with_sense": {"r_wire_sl_ohm": 0.0, "r_sense_ohm": 9.0},
    "all_positive_v_ref": {"r_wire_bl_ohm": 2.0, "r_wire_sl_ohm": 3.0, "r_driver_ohm": 4.0,
                           "r_sense_ohm": 5.0, "v_ref_volt": 0.05},
    "big_wires": {"r_wire_bl_ohm": 500.0, "r_wire_sl_ohm": 800.0},
}


@pytest.mark.parametrize("shape", [(5, 7), (1, 4), (6, 1), (1, 1)])
@pytest.mark.parametrize("case", sorted(WIRE_CASES))
def test_linear_array_matches_dense_mna(case: str, shape: tuple[int, int],
                                        rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, *shape), **WIRE_CASES[case])
    v = rng.uniform(-0.2, 0.2, size=(3, shape[0]))
    assert _err_full_scale(p, v, nodal.solve(p, v), _mna_batch(p, v)) < 1e-12


def test_differential_pairs_subtract_columns(rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 4, 3), g_neg_siemens=_g(rng, 4, 3),
                       r_driver_ohm=3.0, r_sense_ohm=2.0)
    v = rng.uniform(0, 0.2, size=(2, 4))
    i = nodal.solve(p, v)
    assert i.shape == (2, 3)
    assert _rel(i, _mna_batch(p, v)) < 1e-11
    t = nodal.transfer_matrix(p)
    assert np.abs(t.apply(v) - i).max() < 1e-12 * np.abs(i).max()


@pytest.mark.parametrize("v_ref", [0.0, 0.1])
def test_without_wire_resistance_output_is_v_times_g(v_ref: float,
                                                     rng: np.random.Generator) -> None:
    g = _g(rng, 6, 5)
    p = CrossbarParams(g_siemens=g, r_wire_bl_ohm=0.0, r_wire_sl_ohm=0.0, v_ref_volt=v_ref)
    v = rng.uniform(0, 0.2, size=(4, 6))
    expect = (v - v_ref) @ g
    assert np.abs(nodal.solve(p, v) - expect).max() <= 1e-15 * np.abs(expect).max()
    t = nodal.transfer_matrix(p)
    assert np.abs(t.M - g).max() <= 1e-15 * g.max()
    assert np.abs(t.apply(v) - expect).max() <= 1e-14 * np.abs(expect).max()


def test_one_cell_is_a_series_circuit() -> None:
    g, rd, rs, v_ref = 20e-6, 1000.0, 500.0, 0.02
    p = CrossbarParams(g_siemens=[[g]], r_driver_ohm=rd, r_sense_ohm=rs, v_ref_volt=v_ref,
                       r_wire_bl_ohm=3.0, r_wire_sl_ohm=4.0)
    v = np.array([[0.15], [-0.1]])
    expect = (v - v_ref) / (rd + 1 / g + rs)
    assert np.abs(nodal.solve(p, v) - expect).max() <= 1e-14 * np.abs(expect).max()
    t = nodal.transfer_matrix(p)
    assert t.M[0, 0] == pytest.approx(1 / (rd + 1 / g + rs), rel=1e-14)
    assert t.c[0] == pytest.approx(-v_ref * t.M[0, 0], rel=1e-14)


@pytest.mark.parametrize("case", sorted(WIRE_CASES))
def test_transfer_matrix_reproduces_solve(case: str, rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 24, 20), **WIRE_CASES[case])
    v = rng.uniform(0, 0.2, size=(5, 24))
    i = nodal.solve(p, v)
    auto = nodal.transfer_matrix(p)
    sparse = nodal.transfer_matrix(p, method="sparse")
    sweep = nodal.transfer_matrix(p, method="sweep")
    assert _err_full_scale(p, v, auto.apply(v), i) < 1e-12
    assert _rel(auto.M, sparse.M) < 1e-12
    assert _rel(sweep.M, sparse.M) < 1e-12
    assert auto.v_op is None


def test_linear_system_is_reusable(rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 10, 8), r_driver_ohm=2.0)
    lin = nodal.linear_response(p)
    v = rng.uniform(0, 0.2, size=(3, 10))
    assert _rel(lin.currents(v), nodal.solve(p, v)) < 1e-13
    rhs = rng.standard_normal((lin.system.n, 2))
    x = lin.system.solve(rhs)
    assert x.shape == rhs.shape
    assert np.allclose(lin.system.solve(rhs[:, 0]), x[:, 0], rtol=1e-13, atol=0)


@pytest.mark.parametrize("shape", [(1, 1), (3, 40), (40, 3), (33, 17)])
@pytest.mark.parametrize("ends", [{}, {"r_driver_ohm": 1.0, "r_sense_ohm": 1.0}])
def test_nested_dissection_orders_every_line_node_once(shape: tuple[int, int], ends: dict,
                                                       rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, *shape), cell="1T1R", **ends)
    topo = nodal._topology(p)
    order = topo.dissection_order()
    assert np.array_equal(np.sort(order), np.arange(topo.n_x))
    merged = nodal._topology(replace_params(p, r_wire_sl_ohm=0.0))
    assert merged.dissection_order() is None


def replace_params(p: CrossbarParams, **changes: object) -> CrossbarParams:
    """``p`` with some fields changed (CrossbarParams keeps a derived digest)."""
    fields = {k: getattr(p, k) for k in ("g_siemens", "g_neg_siemens", "cell", "r_wire_bl_ohm",
                                          "r_wire_sl_ohm", "r_driver_ohm", "r_sense_ohm",
                                          "v_ref_volt", "rram", "access")}
    return CrossbarParams(**(fields | changes))


def test_bad_inputs_are_refused(rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 3, 2))
    with pytest.raises(ConfigError, match=r"shape \(B, 3\)"):
        nodal.solve(p, np.zeros((2, 4)))
    with pytest.raises(ConfigError, match="NaN"):
        nodal.solve(p, np.array([0.1, np.nan, 0.0]))
    with pytest.raises(ConfigError, match="did you mean 'sweep'"):
        nodal.transfer_matrix(p, method="swep")


# --------------------------------------------------------------------------- nonlinear arrays


@pytest.fixture
def level1(monkeypatch: pytest.MonkeyPatch) -> Callable[[AccessParams], Level1Mos]:
    """Use the test's own level-1 card (not the project's file) inside the solver."""
    def model(access: AccessParams, v_abs_max_volt: float = 0.0) -> Level1Mos:
        return Level1Mos(card=TEST_CARD, w_m=access.w_m, l_m=access.l_m,
                         v_gate_volt=access.v_gate_volt)
    monkeypatch.setattr(nodal, "access_model", model)
    return model


def test_sinh_array_matches_dense_newton(rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 5, 4), rram=RRAMParams(iv="sinh"), r_driver_ohm=20.0,
                       r_wire_bl_ohm=5.0, r_wire_sl_ohm=5.0, r_sense_ohm=10.0)
    v = rng.uniform(-0.3, 0.3, size=(3, 5))
    assert _rel(nodal.solve(p, v), _mna_batch(p, v)) < 1e-11


@pytest.mark.parametrize("wires", [{}, {"r_wire_bl_ohm": 0.0, "r_sense_ohm": 0.0,
                                        "r_driver_ohm": 30.0}])
def test_level1_1t1r_matches_dense_newton(wires: dict, level1: Callable,
                                          rng: np.random.Generator) -> None:
    access = AccessParams(model="level1", v_gate_volt=0.9)
    p = CrossbarParams(g_siemens=_g(rng, 4, 3), g_neg_siemens=_g(rng, 4, 3), cell="1T1R",
                       access=access, rram=RRAMParams(iv="sinh"), v_ref_volt=0.01,
                       **({"r_wire_bl_ohm": 10.0, "r_wire_sl_ohm": 10.0} | wires))
    v = rng.uniform(-0.2, 0.6, size=(3, 4))  # reverse, triode and saturated cells
    assert _rel(nodal.solve(p, v), _mna_batch(p, v, level1(access))) < 1e-11


def test_nonlinear_transfer_is_the_tangent_at_the_operating_point(
        level1: Callable, rng: np.random.Generator) -> None:
    access = AccessParams(model="level1", v_gate_volt=1.0)
    p = CrossbarParams(g_siemens=_g(rng, 6, 5), cell="1T1R", access=access, r_driver_ohm=10.0,
                       r_wire_bl_ohm=5.0, r_wire_sl_ohm=5.0, r_sense_ohm=10.0)
    v_op = rng.uniform(0.05, 0.2, size=6)
    t = nodal.transfer_matrix(p, v_op)
    assert np.allclose(t.v_op, v_op)
    i_op = nodal.solve(p, v_op)[0]
    assert np.abs(t.apply(v_op) - i_op).max() <= 1e-13 * np.abs(i_op).max()
    h = 1e-5
    fd = np.array([(nodal.solve(p, v_op + h * e)[0] - nodal.solve(p, v_op - h * e)[0]) / (2 * h)
                   for e in np.eye(6)])
    assert _rel(t.M, fd) < 1e-6
    assert _rel(t.M, nodal.transfer_matrix(p, v_op, method="sparse").M) < 1e-12
    assert _rel(t.M, nodal.transfer_matrix(p, v_op, method="sweep").M) < 1e-12


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (7, 1), (13, 9), (8, 21)])
@pytest.mark.parametrize("ends", [{}, {"r_driver_ohm": 12.0}, {"r_sense_ohm": 7.0},
                                  {"r_driver_ohm": 3.0, "r_sense_ohm": 300.0}])
def test_dissection_transfer_equals_sparse_solves(shape: tuple[int, int], ends: dict,
                                                  level1: Callable,
                                                  rng: np.random.Generator) -> None:
    """The nested-dissection reduction against one SuperLU solve per row (an independent
    elimination of the same nodal matrix), on linear and 1T1R (non-symmetric) cells."""
    for cell, access in (("0T1R", None), ("1T1R", AccessParams(model="level1"))):
        kw = {"access": access} if access else {}
        p = CrossbarParams(g_siemens=_g(rng, *shape), cell=cell, r_wire_bl_ohm=1.5,
                           r_wire_sl_ohm=2.5, v_ref_volt=0.01, **ends, **kw)
        diss = nodal.transfer_matrix(p, method="dissection")
        sparse = nodal.transfer_matrix(p, method="sparse")
        assert _rel(diss.M, sparse.M) < 1e-12
        assert _rel(diss.c, sparse.c) < 1e-10


def test_dissection_needs_wires(rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 3, 3), r_wire_sl_ohm=0.0)
    with pytest.raises(ConfigError, match="non-zero resistance"):
        nodal.transfer_matrix(p, method="dissection")
    assert nodal.transfer_matrix(p).M.shape == (3, 3)  # "auto" takes the sweep


def test_default_operating_point_is_the_read_voltage(level1: Callable,
                                                     rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 3, 3), cell="1T1R",
                       access=AccessParams(model="level1"))
    t = nodal.transfer_matrix(p, v_read_volt=0.15)
    assert np.array_equal(t.v_op, np.full(3, 0.15))


# --------------------------------------------------------------------------- device models


def test_level1_regions_follow_shichman_hodges() -> None:
    m = Level1Mos(card=replace(TEST_CARD, is_a=0.0), w_m=1e-6, l_m=0.1e-6, v_gate_volt=1.0,
                  gmin_siemens=0.0)
    beta, lam = 2e-4 * 10, 0.05  # W/L = 10, VTO = 0.3 V, Vgs - VTO = 0.7 V
    vd = np.array([0.2, 1.0, 0.0, 0.1])
    vs = np.array([0.0, 0.0, 0.2, 0.0])
    r = m.evaluate(vd, vs)
    tri = beta * (0.7 - 0.1) * 0.2 * (1 + lam * 0.2)
    sat = beta / 2 * 0.7**2 * (1 + lam * 1.0)
    rev = -beta * (0.7 - 0.1) * 0.2 * (1 + lam * 0.2)  # drain at 0 acts as the source
    assert r.i_d[:3] == pytest.approx([tri, sat, rev], rel=1e-14)
    assert np.array_equal(r.i_d, r.i_s)


def test_level1_derivatives_match_finite_differences() -> None:
    m = Level1Mos(card=TEST_CARD, w_m=1e-6, l_m=0.1e-6, v_gate_volt=1.0)
    vd = np.array([0.2, 1.0, 0.0, 0.05, -0.1])
    vs = np.array([0.0, 0.1, 0.2, 0.0, -0.02])
    r, h = m.evaluate(vd, vs), 1e-7
    for name, dd, ds in (("i_d", "did_dvd", "did_dvs"), ("i_s", "dis_dvd", "dis_dvs")):
        fd_d = (getattr(m.evaluate(vd + h, vs), name) - getattr(m.evaluate(vd - h, vs), name))
        fd_s = (getattr(m.evaluate(vd, vs + h), name) - getattr(m.evaluate(vd, vs - h), name))
        assert np.allclose(getattr(r, dd), fd_d / (2 * h), rtol=1e-6, atol=1e-12)
        assert np.allclose(getattr(r, ds), fd_s / (2 * h), rtol=1e-6, atol=1e-12)


def test_level1_card_is_read_from_the_project_file() -> None:
    card = mosfet.read_level1_card()
    assert card.name.upper() == "NMOS_L1"
    assert card.kp_a_per_v2 > 0 and card.ld_m == 0


def test_model_card_parser_joins_lines_and_scales(tmp_path) -> None:
    f = tmp_path / "m.lib"
    f.write_text("* c\n.model X nmos (level=1 kp=20u\n+ vto=0.4 ; tail\n+ lambda=50m LD=5n)\n")
    card = mosfet.read_level1_card(f)
    assert (card.kp_a_per_v2, card.vto_volt, card.lambda_per_volt, card.ld_m) == pytest.approx(
        (20e-6, 0.4, 0.05, 5e-9))
    f.write_text(".model X nmos level=1 kp=20u vto=0.4 gamma=0.3\n")
    with pytest.raises(ConfigError, match="GAMMA"):
        mosfet.read_level1_card(f)
    f.write_text(".model X nmos level=1 kp=20u vto=0.4 kappa=3\n")
    with pytest.raises(ConfigError, match="unsupported parameter"):
        mosfet.read_level1_card(f)


@pytest.mark.parametrize("ny", [41, 23])
def test_uniform_bicubic_equals_scipy_not_a_knot_spline(rng: np.random.Generator,
                                                        ny: int) -> None:
    from scipy.interpolate import RectBivariateSpline

    gx = np.linspace(-0.5, 0.5, 41)
    gy = np.linspace(0.0, 0.7, ny)
    xx, yy = np.meshgrid(gx, gy, indexing="ij")
    z = np.sin(3 * xx) * np.exp(yy) + xx**2 * yy
    ref = RectBivariateSpline(gx, gy, z)
    ub = UniformBicubic(gx[0], gx[1] - gx[0], z, gy[0], gy[1] - gy[0])
    x, y = rng.uniform(-0.5, 0.5, 500), rng.uniform(0.0, 0.7, 500)
    val, dx, dy = ub(x, y)
    assert np.allclose(val, ref.ev(x, y), rtol=0, atol=1e-13)
    assert np.allclose(dx, ref.ev(x, y, dx=1), rtol=0, atol=1e-11)
    assert np.allclose(dy, ref.ev(x, y, dy=1), rtol=0, atol=1e-11)


def test_table_span_picks_the_smallest_covering_table() -> None:
    assert mosfet.table_span(0.2) == 0.5
    assert mosfet.table_span(0.46) == 1.0
    with pytest.raises(ConfigError, match="exceed"):
        mosfet.table_span(7.0)


# --------------------------------------------------------------------------- ngspice


def _spice_outputs(p: CrossbarParams, v: np.ndarray) -> np.ndarray:
    """Logical output currents of ``p`` in ngspice, one sweep point per input vector."""
    from circuits.crossbar import batch_sweep, crossbar, output_sources
    from circuits.runner import run

    res = run(crossbar(p, v), batch_sweep(v.shape[0]))
    i = np.stack([res.i(s) for s in output_sources(p)], axis=1)
    return i[:, 0::2] - i[:, 1::2] if p.differential else i


@pytest.mark.ngspice
@pytest.mark.parametrize("n", [8, 32])
def test_0t1r_with_wires_matches_ngspice(n: int, rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, n, n), r_wire_bl_ohm=2.0, r_wire_sl_ohm=2.5,
                       r_driver_ohm=10.0, r_sense_ohm=5.0)
    v = rng.uniform(0.0, 0.2, size=(4, n))
    spice = _spice_outputs(p, v)
    assert _rel(nodal.solve(p, v), spice) < 1e-6
    assert _rel(nodal.transfer_matrix(p).apply(v), spice) < 1e-6


@pytest.mark.ngspice
def test_sinh_0t1r_matches_ngspice(rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 8, 8), rram=RRAMParams(iv="sinh"))
    v = rng.uniform(0.0, 0.2, size=(3, 8))
    assert _rel(nodal.solve(p, v), _spice_outputs(p, v)) < 1e-6


@pytest.mark.ngspice
@pytest.mark.parametrize("model", ["level1", "bsim4"])
def test_1t1r_matches_ngspice(model: str, rng: np.random.Generator) -> None:
    p = CrossbarParams(g_siemens=_g(rng, 8, 8), cell="1T1R", access=AccessParams(model=model),
                       r_wire_bl_ohm=2.0, r_wire_sl_ohm=2.0)
    v = np.vstack([rng.uniform(0.0, 0.2, size=(3, 8)), np.full((1, 8), 0.2)])
    spice = _spice_outputs(p, v)
    full_scale = np.abs(spice).max()
    # Newton to 1e-5 (measured: 3e-6 level 1, 1e-7 BSIM4 table; ngspice's own RELTOL
    # of 1e-3 leaves it up to about 1e-5 from the solution).
    assert np.abs(nodal.solve(p, v) - spice).max() < 1e-5 * full_scale
    t = nodal.transfer_matrix(p, np.full(8, 0.1))
    near = np.full((1, 8), 0.1) + rng.uniform(-0.01, 0.01, size=(1, 8))
    assert np.abs(t.apply(near) - _spice_outputs(p, near)).max() < 1e-5 * full_scale


@pytest.mark.ngspice
def test_level1_model_equals_ngspice_level1(tmp_path) -> None:
    from circuits.netlist import Netlist
    from circuits.runner import run

    card = mosfet.read_level1_card()
    m = mosfet.level1_model(AccessParams(model="level1", v_gate_volt=0.9))
    body = ("Vd d 0 DC 0", "Vs s 0 DC 0", "Vg g 0 DC 0.9", "Vb b 0 DC 0",
            f"M1 d g s b {card.name} W=1e-06 L=5e-08")
    res = run(Netlist("level-1 sweep", body, (mosfet.LEVEL1_FILE,)),
              [".dc Vd -0.3 0.5 0.02 Vs -0.2 0.2 0.05"], save=("i(vd)", "i(vs)", "v(d)", "v(s)"))
    r = m.evaluate(res.v("d"), res.v("s"))
    scale = np.abs(res.i("vd")).max()
    assert np.abs(r.i_d + res.i("vd")).max() < 1e-9 * scale
    assert np.abs(r.i_s - res.i("vs")).max() < 1e-9 * scale


@pytest.mark.ngspice
def test_bsim4_table_interpolates_ngspice_between_grid_points() -> None:
    """Off-grid points, many within millivolts of Vds = 0 where an access transistor sits.

    A sweep over drain and source voltage (not the table's axes), so the
    table's Vds = 0 edge falls between the sweep's points.
    """
    from circuits.netlist import Netlist, num
    from circuits.runner import run

    access = AccessParams()
    table = mosfet.bsim4_table(access, 0.5)
    body = ("Vd d 0 DC 0", "Vs s 0 DC 0", f"Vg g 0 DC {num(access.v_gate_volt)}",
            "Vb b 0 DC 0", f"M1 d g s b {mosfet.BSIM4_MODEL} W={num(access.w_m)} "
            f"L={num(access.l_m)}")
    h = 0.00231
    lead = mosfet.SWEEP_LEAD_POINTS
    res = run(Netlist("off-grid NMOS sweep", body, (mosfet.BSIM4_FILE,)),
              [f".dc Vd {-0.0013 - lead * h:.6f} 0.3 {h} Vs -0.0517 0.3 0.00611"],
              save=("i(vd)", "i(vs)", "v(d)", "v(s)"))
    n_inner = int(np.argmax(res.v("s") != res.v("s")[0]))  # points per inner sweep
    keep = np.arange(res.v("d").size) % n_inner >= lead
    vd, vs = res.v("d")[keep], res.v("s")[keep]
    i_d, i_s = -res.i("vd")[keep], res.i("vs")[keep]
    r = table.evaluate(vd, vs)
    scale = np.abs(i_d).max()
    assert np.abs(r.i_d - i_d).max() < 1e-7 * scale
    assert np.abs(r.i_s - i_s).max() < 1e-7 * scale
    near = np.abs(vd - vs) < 0.005                  # an access transistor's few millivolts
    assert near.sum() > 50
    assert np.all(np.abs(r.i_d - i_d)[near] < 1e-4 * np.abs(i_d[near]) + 1e-12)


def test_tabulated_mos_currents_are_its_splines(rng: np.random.Generator) -> None:
    """``currents`` (the residual-only path) gives the values of ``evaluate`` in the square,
    in both halves of the band, at its seams and at the table's edges; and a bilinear
    table's exact values (a bicubic spline reproduces a bilinear function)."""
    g = np.linspace(-0.5, 0.5, 41)
    gd = np.linspace(0.0, 0.1, 5)
    t = mosfet.TabulatedMos(v_grid_volt=g, i_d_table=rng.standard_normal((41, 41)),
                            i_s_table=rng.standard_normal((41, 41)), vds_grid_volt=gd,
                            i_d_fwd=rng.standard_normal((41, 5)),
                            i_s_fwd=rng.standard_normal((41, 5)),
                            i_d_rev=rng.standard_normal((41, 5)),
                            i_s_rev=rng.standard_normal((41, 5)))
    vs = np.concatenate([rng.uniform(-0.5, 0.5, 3000), [-0.5, 0.5, 0.5, 0.1, 0.1, 0.1]])
    vd = vs + np.concatenate([rng.uniform(-0.3, 0.3, 3000), [0.0, 0.0, -0.1, 0.1, -0.1, 0.0]])
    i_d, i_s = t.currents(vd.reshape(2, -1), vs.reshape(2, -1))
    r = t.evaluate(vd, vs)
    assert np.abs(i_d.ravel() - r.i_d).max() < 1e-13
    assert np.abs(i_s.ravel() - r.i_s).max() < 1e-13
    assert i_d.shape == (2, 1503)

    def f(s: np.ndarray, vds: np.ndarray) -> np.ndarray:
        return 1e-3 * (0.2 + s) * (0.3 - vds)

    ss, dd = np.meshgrid(g, g, indexing="ij")
    bs, bu = np.meshgrid(g, gd, indexing="ij")
    lin = mosfet.TabulatedMos(v_grid_volt=g, i_d_table=f(ss, dd - ss), i_s_table=-f(ss, dd - ss),
                              vds_grid_volt=gd, i_d_fwd=f(bs, bu), i_s_fwd=-f(bs, bu),
                              i_d_rev=f(bs, -bu), i_s_rev=-f(bs, -bu))
    vd, vs = np.clip(vd, -0.5, 0.5), np.clip(vs, -0.5, 0.5)
    i_d, i_s = lin.currents(vd, vs)
    assert np.abs(i_d - f(vs, vd - vs)).max() < 1e-15
    assert np.abs(i_s + f(vs, vd - vs)).max() < 1e-15


def test_tabulated_mos_derivatives_match_finite_differences() -> None:
    """Square and band (both signs of Vds) of a smooth synthetic table, and their seams."""
    g = np.linspace(-0.5, 0.5, 41)
    gd = np.linspace(0.0, 0.1, 5)

    def f(s: np.ndarray, vds: np.ndarray) -> np.ndarray:
        return 1e-3 * vds * (1.1 - s - 0.3 * vds) + 1e-9 * s

    ss, dd = np.meshgrid(g, g, indexing="ij")
    bs, bu = np.meshgrid(g, gd, indexing="ij")
    sq, fwd, rev = f(ss, dd - ss), f(bs, bu), f(bs, -bu)
    t = mosfet.TabulatedMos(v_grid_volt=g, i_d_table=sq, i_s_table=sq, vds_grid_volt=gd,
                            i_d_fwd=fwd, i_s_fwd=fwd, i_d_rev=rev, i_s_rev=rev)
    vs = np.array([0.1, 0.1, 0.1, -0.2, 0.3, 0.0])
    vd = vs + np.array([0.002, -0.002, 0.0, 0.2, -0.4, 0.1])
    r = t.evaluate(vd, vs)
    np.testing.assert_allclose(r.i_d, f(vs, vd - vs), rtol=0, atol=1e-15)
    e = 1e-7
    fd_d = (f(vs, vd + e - vs) - f(vs, vd - e - vs)) / (2 * e)
    fd_s = (f(vs + e, vd - vs - e) - f(vs - e, vd - vs + e)) / (2 * e)
    np.testing.assert_allclose(r.did_dvd, fd_d, rtol=1e-6)
    np.testing.assert_allclose(r.dis_dvs, fd_s, rtol=1e-6)


@pytest.mark.parametrize("ends", [{}, {"r_driver_ohm": 8.0, "r_sense_ohm": 11.0}])
def test_dissection_condenses_one_injection_for_a_batch(ends: dict, rng: np.random.Generator
                                                        ) -> None:
    """The same injections for every vector, condensed once (a batch of one), give the
    node voltages and outputs of a solve with them repeated for each vector; the halves
    (condense, terminals, expand) compose to ``solve``."""
    from cosim.engine import dissection

    p = CrossbarParams(g_siemens=_g(rng, 7, 10), r_wire_bl_ohm=1.5, r_wire_sl_ohm=2.5,
                       v_ref_volt=0.01, **ends)
    d = dissection.Dissection(nodal.grid_network(p, nodal._cell_coefficients(
        nodal._Linearised(p, None))))
    v = rng.uniform(-0.1, 0.1, size=(4, 7))
    inj = rng.standard_normal((7, 10)) * 1e-6
    vx, vs, i_out = d.solve(np.broadcast_to(inj, (4, 7, 10)), np.broadcast_to(-inj, (4, 7, 10)),
                            v, p.v_ref_volt)
    order = d.cell_order
    up = d.condense(inj.ravel()[order][:, None], -inj.ravel()[order][:, None], 1)
    x_top, i_one = d.terminals(up, v, p.v_ref_volt)
    ox, os_ = d.expand(up, x_top)
    scale = np.abs(i_out).max()
    assert np.abs(i_one - i_out).max() < 1e-13 * scale
    assert np.abs(ox - vx.reshape(4, -1)[:, order].T).max() < 1e-13
    assert np.abs(os_ - vs.reshape(4, -1)[:, order].T).max() < 1e-13
    sub = up.take(np.array([False, True, False, True]))
    assert sub.top.shape[1] == 1  # a batch of one stays one


@pytest.mark.parametrize("shape", [(1, 1), (6, 1), (1, 7), (9, 13)])
@pytest.mark.parametrize("ends", [{}, {"r_driver_ohm": 8.0, "r_sense_ohm": 11.0}])
def test_dissection_solves_node_voltages_as_superlu(shape: tuple[int, int], ends: dict,
                                                    rng: np.random.Generator) -> None:
    """Kept eliminations solve a batch (inputs, sense voltage, currents injected at the
    cells) to the node voltages and outputs of SuperLU on the full nodal matrix."""
    from cosim.engine import dissection

    p = CrossbarParams(g_siemens=_g(rng, *shape), r_wire_bl_ohm=1.5, r_wire_sl_ohm=2.5,
                       v_ref_volt=0.01, **ends)
    d = dissection.Dissection(nodal.grid_network(p, nodal._cell_coefficients(
        nodal._Linearised(p, None))))
    v = rng.uniform(-0.1, 0.1, size=(3, shape[0]))
    inj = rng.standard_normal((3,) + shape) * 1e-6
    vx, vs, i_out = d.solve(inj, -0.5 * inj, v, p.v_ref_volt)
    net = nodal._Network(p)
    t = net.topo
    jac = net.jacobian(net.cells(np.zeros(t.n_total))).tocsc()
    for k in range(3):
        vf = net.fixed_voltages(v[k:k + 1])[0]
        b = np.zeros(t.n_total)
        np.add.at(b, t.bl.ravel(), inj[k].ravel())
        np.add.at(b, t.sl.ravel(), -0.5 * inj[k].ravel())
        x = spla.spsolve(jac[: t.n_u, : t.n_u], b[: t.n_u] - jac[: t.n_u, t.n_u:] @ vf)
        full = np.concatenate([x, vf])
        assert np.abs(full[t.bl] - vx[k]).max() < 1e-13
        assert np.abs(full[t.sl] - vs[k]).max() < 1e-13
        # The current the sense nodes take, by KCL over wires carrying up to ~0.1 A
        # (0.4 S x 0.1 V): rounded to about 1e-17 A, 1e-11 of a microamp output.
        out = b[t.sense_ids] - (jac @ full)[t.sense_ids]
        assert np.abs(out - i_out[k]).max() <= 1e-11 * np.abs(out).max()


def test_dissection_update_equals_a_whole_reduction(rng: np.random.Generator) -> None:
    from cosim.engine import dissection

    g = _g(rng, 21, 34)
    rhs = (rng.standard_normal(g.shape) * 1e-6, rng.standard_normal(g.shape) * 1e-6)

    def net(gg: np.ndarray) -> dissection.GridNetwork:
        return dissection.GridNetwork(cells=dissection.CellStamps.resistors(gg),
                                      g_bl_siemens=0.9, g_sl_siemens=0.8, r_sense_ohm=2.0)

    d = dissection.Dissection(net(g), keep_factors=False, rhs=rhs, keep_levels=True)
    for frac in (0.0, 0.01, 0.3, 1.0):
        changed = rng.random(g.shape) < frac
        g = np.where(changed, _g(rng, *g.shape), g)
        d.update(net(g), rhs, changed)
        whole = dissection.Dissection(net(g), keep_factors=False, rhs=rhs)
        assert np.array_equal(d.transfer(), whole.transfer())
        assert np.array_equal(d.offset(0.0), whole.offset(0.0))
