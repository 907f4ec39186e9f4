"""Crossbar netlist generator: names, determinism, inputs, and its circuits in ngspice.

The ngspice tests check the generated network against independent solutions:
``v @ G`` for an array without wire resistance, and a small dense modified
nodal analysis (written here from the topology contract, with zero
resistances as 0 V sources) for arrays with wires.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from circuits.analyses import Op
from circuits.crossbar import (
    CONTROL_SOURCE,
    CrossbarParams,
    batch_sweep,
    bl_node,
    crossbar,
    input_sources,
    output_nodes,
    output_sources,
    sl_node,
)
from circuits.devices import AccessParams, RRAMParams, SinhIV
from circuits.errors import ConfigError
from circuits.runner import run, run_many
from circuits.tia import TIAParams

G_LRS = 29.22e-6


def _params(rows: int = 3, cols: int = 2, seed: int = 7, **kw) -> CrossbarParams:
    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, G_LRS, size=(rows, cols))
    return CrossbarParams(g_siemens=g, **kw)


def _elements(text: str) -> dict[str, list[str]]:
    """Element name -> its words, for the element lines of a deck."""
    out = {}
    for line in text.splitlines()[1:]:
        if line and line[0].isalpha():
            words = line.split()
            out[words[0]] = words
    return out


def _nodes(text: str) -> set[str]:
    nodes: set[str] = set()
    for name, words in _elements(text).items():
        n = {"X": 2, "M": 4, "R": 2, "C": 2, "V": 2, "B": 2}[name[0]]
        if name[0] == "X":  # a subcircuit: nodes up to the subcircuit name
            n = next(i for i, w in enumerate(words) if w.startswith(("rram", "opamp"))) - 1
        nodes.update(words[1:1 + n])
    return nodes - {"0"}


def _outputs(p: CrossbarParams, res) -> np.ndarray:
    return np.column_stack([res.i(s) for s in output_sources(p)])


def _assert_currents_close(actual: np.ndarray, expected: np.ndarray, v: np.ndarray,
                           g: np.ndarray, rel: float = 1e-12) -> None:
    """``actual == expected`` to ``rel`` of the column's summed cell-current magnitudes.

    Netlist numbers round-trip (ngspice reads them to within one unit in the
    last place), so what is left is rounding in the solvers: terms of a column
    that cancel leave errors of about 1e-13 of the terms, not of their sum
    (1e-10 when numbers had 10 significant digits).
    """
    scale = np.atleast_2d(np.abs(v)) @ g
    np.testing.assert_array_less(np.abs(actual - expected), rel * scale + 1e-18)


# --------------------------------------------------------------------------- text


def test_same_params_give_byte_identical_text() -> None:
    a, b = _params(cell="1T1R"), _params(cell="1T1R")
    v = np.array([[0.1, 0.2, 0.0], [0.05, -0.1, 0.2]])
    assert crossbar(a, v).text() == crossbar(b, v.copy()).text()
    assert crossbar(a).text() == crossbar(b).text()
    assert crossbar(a).text() != crossbar(_params(cell="1T1R", seed=8)).text()


def test_all_contract_nodes_and_sources_exist_with_every_resistance_nonzero() -> None:
    p = _params(rows=3, cols=2, cell="1T1R", r_driver_ohm=10.0, r_sense_ohm=5.0)
    text = crossbar(p).text()
    elements = _elements(text)
    expected = {f"in{r}" for r in range(3)} | {f"wl{r}" for r in range(3)} \
        | {f"sense{c}" for c in range(2)} \
        | {f"bl{r}_{c}" for r in range(3) for c in range(2)} \
        | {f"sl{c}_{r}" for r in range(3) for c in range(2)} \
        | {f"m{r}_{c}" for r in range(3) for c in range(2)}
    assert _nodes(text) == expected
    assert elements["Vin1"][1:3] == ["in1", "0"]
    assert elements["Rdrv1"][1:3] == ["in1", "bl1_0"]
    assert elements["Rbl2_1"][1:3] == ["bl2_0", "bl2_1"]
    assert elements["Rsl1_0"][1:3] == ["sl1_0", "sl1_1"]
    assert elements["Rsense1"][1:3] == ["sl1_2", "sense1"]
    assert elements["Vsense0"][1:] == ["sense0", "0", "DC", "0"]
    assert elements["Vwl2"][1:] == ["wl2", "0", "DC", "1.1"]
    assert elements["Xc2_1"][1:4] == ["bl2_1", "m2_1", "rram_lin"]
    assert elements["Mc2_1"][1:6] == ["m2_1", "wl2", "sl1_2", "0", "NMOS_VTG"]
    assert output_sources(p) == ["Vsense0", "Vsense1"]
    assert input_sources(p) == ["Vin0", "Vin1", "Vin2"]
    assert crossbar(p).models == ("rram_cell.lib", "freepdk45_nom.lib")


def test_cells_carry_their_conductance_and_model() -> None:
    p = _params(rows=2, cols=2, rram=RRAMParams(iv=SinhIV(v0_volt=0.3)))
    elements = _elements(crossbar(p).text())
    for r in range(2):
        for c in range(2):
            words = elements[f"Xc{r}_{c}"]
            assert words[3:5] == ["rram_sinh", "params:"]
            assert float(words[5].removeprefix("g=")) == p.g_siemens[r, c]
            assert words[6] == "v0=0.3"
    l1 = _params(cell="1T1R", access=AccessParams(model="level1"))
    assert "NMOS_L1" in _elements(crossbar(l1).text())["Mc0_0"]
    assert crossbar(l1).models == ("rram_cell.lib", "nmos_level1.lib")


@pytest.mark.parametrize(("r_drv", "r_bl", "r_sl", "r_sense", "bl", "sl"), [
    (0.0, 1.0, 1.0, 0.0, ["in0", "bl0_1", "bl0_2"], ["sl2_0", "sl2_1", "sense2"]),
    (2.0, 0.0, 1.0, 3.0, ["bl0_0", "bl0_0", "bl0_0"], ["sl2_0", "sl2_1", "sl2_2"]),
    (0.0, 0.0, 0.0, 0.0, ["in0", "in0", "in0"], ["sense2", "sense2", "sense2"]),
    (2.0, 1.0, 0.0, 3.0, ["bl0_0", "bl0_1", "bl0_2"], ["sl2_2", "sl2_2", "sl2_2"]),
])
def test_zero_resistances_merge_nodes_toward_the_driven_end(
        r_drv: float, r_bl: float, r_sl: float, r_sense: float,
        bl: list[str], sl: list[str]) -> None:
    p = _params(rows=3, cols=3, r_driver_ohm=r_drv, r_wire_bl_ohm=r_bl,
                r_wire_sl_ohm=r_sl, r_sense_ohm=r_sense)
    assert [bl_node(p, 0, c) for c in range(3)] == bl
    assert [sl_node(p, 2, r) for r in range(3)] == sl
    elements = _elements(crossbar(p).text())
    assert all(float(w[3]) > 0 for n, w in elements.items() if n.startswith("R"))
    assert ("Rdrv0" in elements) == (r_drv > 0)
    assert ("Rsense2" in elements) == (r_sense > 0)
    assert elements["Xc0_2"][1:3] == [bl_node(p, 0, 2), sl_node(p, 2, 0)]


def test_wire_capacitors_sit_on_every_contract_node() -> None:
    p = _params(rows=2, cols=3, c_wire_farad=2e-15, r_wire_sl_ohm=0.0)
    elements = _elements(crossbar(p).text())
    caps = {n: w for n, w in elements.items() if n.startswith("C")}
    assert len(caps) == 2 * 2 * 3
    assert caps["Cbl1_2"][1:] == ["bl1_2", "0", "2e-15"]
    assert caps["Csl2_0"][1:] == ["sense2", "0", "2e-15"]  # merged line: capacitors add


def test_zero_conductance_cell_is_left_out_but_its_transistor_stays() -> None:
    g = np.full((2, 2), 10e-6)
    g[1, 0] = 0.0
    names = _elements(crossbar(CrossbarParams(g_siemens=g)).text())
    assert "Xc1_0" not in names and "Xc1_1" in names
    names = _elements(crossbar(CrossbarParams(g_siemens=g, cell="1T1R")).text())
    assert "Xc1_0" not in names and names["Mc1_0"][1] == "m1_0"


def test_differential_pairs_use_physical_column_indices() -> None:
    p = _params(rows=2, cols=2)
    d = CrossbarParams(g_siemens=p.g_siemens, g_neg_siemens=2 * p.g_siemens)
    elements = _elements(crossbar(d).text())
    assert output_sources(d) == ["Vsense0", "Vsense1", "Vsense2", "Vsense3"]
    assert float(elements["Xc1_3"][5][2:]) == 2 * p.g_siemens[1, 1]
    assert float(elements["Xc1_2"][5][2:]) == p.g_siemens[1, 1]
    assert elements["Xc0_3"][1:3] == ["bl0_3", "sl3_0"]
    assert elements["Xc1_3"][1:3] == ["bl1_3", "sense3"]


def test_numbers_round_trip_exactly_through_the_text(rng: np.random.Generator) -> None:
    """Every conductance and input reads back from the text as the same double."""
    g = rng.uniform(1e-6, G_LRS, size=(5, 4))
    g[0, 0] = 1 / 3 * 1e-5                                   # 17 significant digits
    v = rng.uniform(-0.3, 0.3, size=5)
    p = CrossbarParams(g_siemens=g, r_wire_bl_ohm=1 / 7, r_wire_sl_ohm=2.0)
    elements = _elements(crossbar(p, v).text())
    for r in range(5):
        assert float(elements[f"Vin{r}"][4]) == v[r]
        for c in range(4):
            assert float(elements[f"Xc{r}_{c}"][5].removeprefix("g=")) == g[r, c]
    assert float(elements["Rbl0_1"][3]) == 1 / 7
    assert elements["Rsl0_1"][3] == "2"                       # whole numbers stay short


def test_one_dc_input_vector() -> None:
    elements = _elements(crossbar(_params(), np.array([0.1, -0.25, 0.0])).text())
    assert elements["Vin1"][1:] == ["in1", "0", "DC", "-0.25"]
    assert CONTROL_SOURCE not in elements


def test_batch_inputs_become_pwl_tables_of_the_control_source() -> None:
    v = np.arange(3 * 11).reshape(11, 3) * 0.01
    text = crossbar(_params(), v).text()
    elements = _elements(text)
    assert elements["Vctl"][1:] == ["ctl", "0", "DC", "0"]
    assert elements["Vin2"][1:] == ["in2", "drv2", "DC", "0"]
    joined = re.sub(r"\n\+ ", " ", text)
    table = re.search(r"^Bdrv2 drv2 0 V=pwl\(v\(ctl\), (.*)\)$", joined, re.M).group(1)
    values = [float(x) for x in re.split(r"[ ,]+", table.strip())]
    assert values[0::2] == list(range(11))
    assert values[1::2] == v[:, 2].tolist()                   # exactly: numbers round-trip
    assert batch_sweep(11).line() == ".dc Vctl 0 10 1"
    one = _elements(crossbar(_params(), v[:1]).text())  # a table needs two points
    assert one["Bdrv0"][-1].endswith("1,0)")


@pytest.mark.parametrize("bad", [
    np.zeros(2), np.zeros((2, 4)), np.zeros((0, 3)), np.zeros((1, 1, 3)),
    np.array([0.1, np.nan, 0.0]), np.array([0.1, 6.0, 0.0]),
])
def test_bad_inputs_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="v_in_volt"):
        crossbar(_params(), bad)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        batch_sweep(bad)  # type: ignore[arg-type]


def test_level1_card_is_refused_outside_its_fitted_gate_range() -> None:
    with pytest.raises(ConfigError, match="v_gate_volt"):
        _params(cell="1T1R", access=AccessParams(model="level1", v_gate_volt=1.5))
    _params(cell="1T1R", access=AccessParams(model="bsim4", v_gate_volt=1.5))


def test_tia_readout_hooks_one_tia_per_physical_column() -> None:
    p = _params(rows=2, cols=2, readout="tia")
    netlist = crossbar(p)
    elements = _elements(netlist.text())
    assert output_sources(p) == ["Vf0", "Vf1"]
    assert output_nodes(p) == ["out0", "out1"]
    assert elements["Xtia1"][1:4] == ["tref1", "sense1", "out1"]
    assert "Vsense0" not in elements
    assert "opamp.lib" in netlist.models
    with pytest.raises(ConfigError, match="v_ref_volt"):
        _params(readout="tia", v_ref_volt=0.1)
    _params(readout="tia", v_ref_volt=0.1, tia=TIAParams(v_ref_volt=0.1))
    with pytest.raises(ConfigError, match="tia"):
        output_nodes(_params())


@pytest.mark.slow
def test_512_by_512_generates_in_seconds() -> None:
    p = _params(rows=512, cols=512, cell="1T1R")
    start = time.perf_counter()
    netlist = crossbar(p, np.full((4, 512), 0.1))
    elapsed = time.perf_counter() - start
    assert len(netlist.body) > 2 * 512 * 512
    assert elapsed < 15.0, f"512 x 512 took {elapsed:.1f} s"


# --------------------------------------------------------------------------- ngspice


def _mna_outputs(p: CrossbarParams, v: np.ndarray) -> np.ndarray:
    """Output currents of a linear 0T1R array by dense MNA, straight from the contract.

    Every contract node is its own unknown; zero resistances are 0 V sources.
    """
    g = p.physical_g()
    rows, cols = g.shape
    nodes = [f"in{r}" for r in range(rows)] + [f"sense{c}" for c in range(cols)]
    nodes += [f"bl{r}_{c}" for r in range(rows) for c in range(cols)]
    nodes += [f"sl{c}_{r}" for c in range(cols) for r in range(rows)]
    idx = {n: i for i, n in enumerate(nodes)}
    conductances, sources = [], []

    def branch(a: str, b: str, r_ohm: float) -> None:
        if r_ohm == 0:
            sources.append((a, b, 0.0))
        else:
            conductances.append((a, b, 1.0 / r_ohm))

    for r in range(rows):
        sources.append((f"in{r}", "0", v[r]))
        branch(f"in{r}", f"bl{r}_0", p.r_driver_ohm)
        for c in range(1, cols):
            branch(f"bl{r}_{c - 1}", f"bl{r}_{c}", p.r_wire_bl_ohm)
    for c in range(cols):
        for r in range(rows - 1):
            branch(f"sl{c}_{r}", f"sl{c}_{r + 1}", p.r_wire_sl_ohm)
        branch(f"sl{c}_{rows - 1}", f"sense{c}", p.r_sense_ohm)
        sources.append((f"sense{c}", "0", p.v_ref_volt))
        for r in range(rows):
            conductances.append((f"bl{r}_{c}", f"sl{c}_{r}", g[r, c]))
    n, m = len(nodes), len(sources)
    a = np.zeros((n + m, n + m))
    rhs = np.zeros(n + m)
    for x, y, gx in conductances:
        i, j = idx[x], idx[y]
        a[i, i] += gx
        a[j, j] += gx
        a[i, j] -= gx
        a[j, i] -= gx
    for k, (x, y, vs) in enumerate(sources):
        for node, sign in ((x, 1.0), (y, -1.0)):
            if node != "0":
                a[idx[node], n + k] += sign
                a[n + k, idx[node]] += sign
        rhs[n + k] = vs
    sol = np.linalg.solve(a, rhs)
    # The branch current of a source is the current into its + terminal.
    sense = [k for k, (x, y, _) in enumerate(sources) if x.startswith("sense") and y == "0"]
    return sol[n + np.array(sense)]


@pytest.mark.ngspice
def test_0t1r_without_wire_resistance_is_exactly_v_times_g(rng: np.random.Generator) -> None:
    g = rng.uniform(0.0, 200e-6, size=(6, 5))
    g[2, 3] = 0.0
    p = CrossbarParams(g_siemens=g, r_wire_bl_ohm=0.0, r_wire_sl_ohm=0.0)
    v = rng.uniform(-0.3, 0.3, size=6)
    res = run(crossbar(p, v), Op())
    _assert_currents_close(_outputs(p, res), v @ g, v, g)


@pytest.mark.ngspice
@pytest.mark.parametrize(("r_drv", "r_bl", "r_sl", "r_sense"), [
    (10.0, 5.0, 3.0, 7.0),
    (0.0, 5.0, 3.0, 0.0),
    (10.0, 0.0, 3.0, 7.0),
    (0.0, 5.0, 0.0, 7.0),
])
def test_wire_resistance_matches_a_dense_nodal_solution(
        rng: np.random.Generator, r_drv: float, r_bl: float, r_sl: float,
        r_sense: float) -> None:
    g = rng.uniform(1e-6, 200e-6, size=(4, 3))
    p = CrossbarParams(g_siemens=g, r_driver_ohm=r_drv, r_wire_bl_ohm=r_bl,
                       r_wire_sl_ohm=r_sl, r_sense_ohm=r_sense, v_ref_volt=0.05)
    v = rng.uniform(-0.2, 0.3, size=(3, 4))
    res = run(crossbar(p, v), batch_sweep(3))
    expected = np.vstack([_mna_outputs(p, x) for x in v])
    _assert_currents_close(_outputs(p, res), expected, v, g)


@pytest.mark.ngspice
def test_batch_sweep_equals_one_vector_at_a_time(rng: np.random.Generator) -> None:
    g = rng.uniform(1e-6, 100e-6, size=(4, 3))
    p = CrossbarParams(g_siemens=g, r_wire_bl_ohm=5.0, r_wire_sl_ohm=5.0, r_driver_ohm=20.0,
                       rram=RRAMParams(g_max_siemens=100e-6, iv="sinh"))
    v = rng.uniform(-0.3, 0.3, size=(5, 4))
    batch = _outputs(p, run(crossbar(p, v), batch_sweep(5)))
    singles = run_many([(crossbar(p, x), Op()) for x in v], workers=2)
    one = np.vstack([_outputs(p, res)[0] for res in singles])
    assert batch.shape == (5, 3)
    # Nonlinear cells: both runs stop on ngspice's Newton tolerances, which
    # lie far below this.
    np.testing.assert_allclose(batch, one, rtol=1e-6, atol=1e-12)
    linear = CrossbarParams(g_siemens=g, r_wire_bl_ohm=5.0, r_wire_sl_ohm=5.0)
    res = run(crossbar(linear, v), batch_sweep(5))
    _assert_currents_close(_outputs(linear, res),
                           np.vstack([_mna_outputs(linear, x) for x in v]), v, g)


@pytest.mark.ngspice
def test_differential_output_is_positive_minus_negative_column(
        rng: np.random.Generator) -> None:
    gp = rng.uniform(0.0, 100e-6, size=(5, 3))
    gn = rng.uniform(0.0, 100e-6, size=(5, 3))
    p = CrossbarParams(g_siemens=gp, g_neg_siemens=gn, r_wire_bl_ohm=0.0, r_wire_sl_ohm=0.0)
    v = rng.uniform(-0.2, 0.2, size=(2, 5))
    i = _outputs(p, run(crossbar(p, v), batch_sweep(2)))
    _assert_currents_close(i[:, 0::2], v @ gp, v, gp)
    _assert_currents_close(i[:, 0::2] - i[:, 1::2], v @ (gp - gn), v, gp + gn)


# Access-transistor bound of the 1T1R test below. An access NMOS in series adds
# its on-resistance R_on to each cell, so cell current falls from g V to
# g V / (1 + g R_on): the relative loss of a column is at most max(g) R_on. At
# Vgs = 1.1 V and the few mV across the transistor here, BSIM4 NMOS_VTG
# (1 um / 50 nm) has R_on = 264 ohm and the level-1 card 237 ohm
# (device_models/nmos_level1.lib); 300 ohm covers both. The loss stays
# positive here, but not for every array: BSIM4's gate tunnelling (igcmod = 1)
# sends a few nA per access transistor from the word line into the source
# line, which can outweigh the R_on loss of a column of very small conductances.
R_ON_BOUND_OHM = 300.0


@pytest.mark.ngspice
@pytest.mark.parametrize("model", ["bsim4", "level1"])
def test_1t1r_current_rises_with_cell_conductance_and_stays_below_0t1r(model: str) -> None:
    base = np.array([[20e-6, 5e-6], [10e-6, 29.22e-6], [25e-6, 1e-6]])
    sweep = [0.0, 5e-6, 29.22e-6, 60e-6, 120e-6, 200e-6]
    v = np.array([0.2, 0.15, 0.1])
    jobs = []
    for g_cell in sweep:
        g = base.copy()
        g[1, 0] = g_cell
        for cell in ("1T1R", "0T1R"):
            p = CrossbarParams(g_siemens=g, cell=cell, r_wire_bl_ohm=1.0, r_wire_sl_ohm=1.0,
                               access=AccessParams(model=model))
            jobs.append((crossbar(p, v[None, :]), batch_sweep(1)))
    results = run_many(jobs, workers=2)
    p = CrossbarParams(g_siemens=base)
    i_1t = np.vstack([_outputs(p, res)[0] for res in results[0::2]])
    i_0t = np.vstack([_outputs(p, res)[0] for res in results[1::2]])
    deviation = (i_0t - i_1t) / i_0t
    print(f"\n1T1R ({model}) relative current loss against 0T1R, cell (1, 0) swept:")
    for g_cell, dev in zip(sweep, deviation, strict=True):
        print(f"  g = {g_cell * 1e6:7.2f} uS: column 0 {dev[0]:.4%}, column 1 {dev[1]:.4%}")
    assert np.all(np.diff(i_1t[:, 0]) > 0), "column 0 must rise with the swept cell"
    assert np.all(deviation > 0)
    g_max = np.maximum(np.array(sweep)[:, None] * [1, 0], base.max(axis=0))
    assert np.all(deviation < g_max * R_ON_BOUND_OHM)


@pytest.mark.ngspice
def test_tia_readout_holds_the_virtual_ground(rng: np.random.Generator) -> None:
    g = rng.uniform(1e-6, G_LRS, size=(3, 2))
    p = CrossbarParams(g_siemens=g, r_wire_bl_ohm=0.0, r_wire_sl_ohm=0.0, readout="tia")
    v = np.array([[0.2, 0.1, 0.05], [-0.1, 0.2, 0.0]])
    res = run(crossbar(p, v), batch_sweep(2))
    i = _outputs(p, res)
    # Finite op-amp gain (80 dB) leaves the sense node at I R_f / A0, a few uV.
    np.testing.assert_allclose(i, v @ g, rtol=1e-3)
    out = np.column_stack([res.v(n) for n in output_nodes(p)])
    np.testing.assert_allclose(out, -i * p.tia.r_f_ohm, rtol=2e-3)
