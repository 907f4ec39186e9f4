"""The realistic read path under HAQ: wire figure, placement, transfer reads, re-verify passes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.crossbar import CrossbarParams
from circuits.devices import ACCESS_45NM, TAOX_40NM
from circuits.errors import ConfigError
from circuits.interconnect import R_WIRE_40NM_OHM, WIRE_40NM, WireTech
from cosim.cli import main
from cosim.engine.placement import attenuation_map, nominal_array, place
from cosim.hardware.spec import HardwareSpec, ProgrammingSpec
from cosim.layers.analog import AnalogLayer
from cosim.layers.placed import placed_tile
from cosim.programming.base import BinaryCellWriter
from cosim.programming.binary import HAQ, PTQ
from cosim.workloads.haq.mvm import HaqExperimentConfig, run_mvm_experiment
from tests.hardware_helpers import hw, sim, tile

G_MID = 0.5 * (TAOX_40NM.g_lrs_siemens + TAOX_40NM.g_hrs_siemens)


def test_wire_figure_is_the_cited_40nm_line():
    # 4.03e-8 ohm m over a 40 nm x 76 nm section, 80 nm long: 1.06 ohm, inside the
    # 1-2.5 ohm per pitch the issue estimates for this node.
    assert R_WIRE_40NM_OHM == pytest.approx(1.06, abs=0.005)
    assert 1.0 <= WIRE_40NM.segment_ohm <= 2.5
    with pytest.raises(ConfigError):
        WireTech(width_m=0.0, aspect_ratio=1.9, resistivity_ohm_m=4e-8, pitch_m=8e-8)


def _ladder(n: int, r: float, g: float, v: float = 0.1) -> np.ndarray:
    """Cell voltages of one driven row of n cells to ground, by its own tridiagonal solve."""
    a = np.zeros((n, n))
    for k in range(n):
        a[k, k] = g + 1.0 / r + (1.0 / r if k < n - 1 else 0.0)
        if k:
            a[k, k - 1] = -1.0 / r
        if k < n - 1:
            a[k, k + 1] = -1.0 / r
    b = np.zeros(n)
    b[0] = v / r  # the driver feeds the first cell through one segment
    return np.linalg.solve(a, b) / v


def test_attenuation_map_of_one_row_is_the_resistive_ladder():
    n, r = 64, 2.0
    p = CrossbarParams(g_siemens=np.full((1, n), G_MID), cell="0T1R", r_wire_bl_ohm=r,
                       r_wire_sl_ohm=r, r_driver_ohm=r)
    a = attenuation_map(p, 0.1)[0]
    np.testing.assert_allclose(a, _ladder(n, r, G_MID), rtol=1e-9)
    assert a[-1] < a[0]


@pytest.mark.slow
def test_placement_keeps_every_block_uniform_and_counts_its_macros():
    design = dict(cell="1T1R", rram=TAOX_40NM, access=ACCESS_45NM, v_read_volt=0.1)
    full = place(100, 1200, group=12, macro_rows=512, macro_cols=512, r_wire_ohm=1.06,
                 min_uniformity=0.0, **design)
    assert (full.rows_used, full.cols_used, full.macros) == (100, 504, 3)
    lay = place(100, 1200, group=12, macro_rows=512, macro_cols=512, r_wire_ohm=1.06,
                min_uniformity=0.97, **design)
    a = attenuation_map(nominal_array(lay.rows_used, lay.cols_used, r_wire_ohm=1.06,
                                      cell="1T1R", rram=TAOX_40NM, access=ACCESS_45NM), 0.1)
    assert a.min() >= 0.97 * a.mean()
    assert lay.cols_used % 12 == 0 and lay.macros > full.macros
    wide = attenuation_map(nominal_array(100, 504, r_wire_ohm=1.06, cell="1T1R",
                                         rram=TAOX_40NM, access=ACCESS_45NM), 0.1)
    # alpha L = sqrt(r g) * 504 ~ 2: the far end sees about a quarter of the drive.
    assert wide.min() < 0.3
    with pytest.raises(ConfigError, match="min_uniformity"):
        place(100, 1200, group=12, macro_rows=512, macro_cols=512, r_wire_ohm=500.0,
              min_uniformity=0.97, **design)


@pytest.mark.parametrize("cell", ["0T1R", "1T1R"])
def test_transfer_read_is_what_the_mvm_applies(cell):
    rng = np.random.default_rng(3)
    g = np.where(rng.random((24, 36)) < 0.5, TAOX_40NM.g_lrs_siemens, TAOX_40NM.g_hrs_siemens)
    t = tile(backend="calibrated", cell=cell, r_wire_ohm=2.5)
    t.program(g)
    m = t.read_transfer()
    assert np.max(np.abs(m / g - 1)) > 0.02  # the wires matter here
    x = rng.uniform(-1, 1, (5, 24))
    y = t.mvm(x).y - t.mvm(np.zeros((1, 24))).y
    np.testing.assert_allclose(y, (x * t.hardware.v_read_volt) @ m,
                               atol=1e-9 * np.abs(y).max())


def _haq_rmse(passes: int, r_wire: float) -> tuple[float, int]:
    cfg = HaqExperimentConfig(vector_length=40, n_outputs=6, n_vectors=50, read_cycles=0,
                              seed=2)
    res = run_mvm_experiment(cfg, hw(HardwareSpec(), r_wire_ohm=r_wire, haq_passes=passes))
    return res.haq.rmse, res.haq.programmed.events.cell_writes


@pytest.mark.slow
def test_reverify_passes_recover_haq_under_ir_drop():
    # Pass 1 verifies each bit on a half-written array; the re-verify passes see the
    # final IR drop. The passes' extra writes are counted.
    one, writes_one = _haq_rmse(1, 2.5)
    three, writes_three = _haq_rmse(3, 2.5)
    clean, _ = _haq_rmse(3, 0.0)
    assert three < 0.5 * one
    assert three < 1.5 * clean
    assert writes_three > writes_one == 40 * 6 * 12


def _effective_weight_rmse(r_wire: float, passes: int, backend: str) -> tuple[float, int]:
    """HAQ (12 bits, s = 1.5, write noise 0.187, transfer verify reads on the calibrated
    backend) of a 24 x 6 matrix on one 24 x 72 block with ``r_wire`` ohm segments; the
    RMSE (of full scale) of the weights the programmed cells give when ``backend``
    solves the array, and the cell writes."""
    h = hw(r_wire_ohm=r_wire, write_noise=0.187, verify_read="transfer", haq_passes=passes)
    w = np.random.default_rng(0).normal(size=(24, 6))
    layer = AnalogLayer.place(HAQ(n_bits=12, amp_ratio=1.5), h, sim(), w=w, seed=0)
    solver = placed_tile(h, sim(backend=backend), 24, 72, 12)[0]
    y, _ = AnalogLayer(solver, layer.programmed).forward(np.eye(24))
    return (float(np.sqrt(np.mean(((y - w) / np.abs(w).max()) ** 2))),
            layer.programmed.events.cell_writes)


@pytest.mark.ngspice
@pytest.mark.slow
def test_reverify_converges_on_the_weights_ngspice_computes():
    # 2.5 ohm segments over 72 columns: one pass leaves the far cells of every row
    # ~15 % of full scale off. The re-verify passes, which see the array only through
    # transfer reads of the calibrated backend, bring the weights ngspice computes from
    # the programmed conductances (an independent solve of the same network) to within
    # 1.5x of the same scheme without wires.
    clean, _ = _effective_weight_rmse(0.0, 16, "ideal")
    one, writes_one = _effective_weight_rmse(2.5, 1, "calibrated")
    many, writes_many = _effective_weight_rmse(2.5, 16, "spice")
    assert one > 0.1
    assert many < 1.5 * clean
    assert writes_many > writes_one == 24 * 72


def _realistic_weight_rmse(r_wire: float, passes: int) -> float:
    """HAQ (14 bits, s = 1.5) of a 64 x 8 matrix on the realistic preset (1T1R, TIA,
    IR-aware placement in 2 macros, write noise 0.187, read noise 0.2 %, transfer
    verify reads on the fast 1T1R model) with ``r_wire`` ohm segments; the RMSE (of
    full scale) of the weights the exact (Newton) solve of the programmed array gives."""
    h = hw(HardwareSpec(), r_wire_ohm=r_wire, haq_passes=passes)
    w = np.random.default_rng(0).normal(size=(64, 8))
    layer = AnalogLayer.place(HAQ(n_bits=14, amp_ratio=1.5), h, sim(), w=w, seed=0)
    exact = placed_tile(h.with_parts(noise={"read": 0.0}), sim(exact_nonlinear=True),
                        64, 8 * 14, 14)[0]
    y, _ = AnalogLayer(exact, layer.programmed).forward(np.eye(64))
    return float(np.sqrt(np.mean(((y - w) / np.abs(w).max()) ** 2)))


@pytest.mark.slow
def test_reverify_on_the_realistic_preset_removes_the_wires_loss():
    # Every rewrite moves the IR drop of the other cells on its lines; the passes
    # must not chase that disturbance. With 1.06 ohm wires the weights the exact
    # solver computes end within 1.25x of the same programming without wires (the
    # read noise of the verify reads sets that floor), 10x below one pass.
    clean = _realistic_weight_rmse(0.0, 16)
    one = _realistic_weight_rmse(1.06, 1)
    many = _realistic_weight_rmse(1.06, 16)
    assert many < 1.25 * clean
    assert one > 10 * many


def test_offset_calibration_removes_the_access_transistor_leakage():
    rng = np.random.default_rng(0)
    w = rng.uniform(-1, 1, (30, 4))
    layer = AnalogLayer.program(PTQ(n_bits=6), tile(backend="calibrated", cell="1T1R",
                                                    r_wire_ohm=0.0), w=w)
    y, _ = layer.forward(np.zeros((1, 30)))
    assert np.max(np.abs(y)) < 1e-9
    assert layer.calibration_events.cell_reads > 0


def test_read_gain_and_passes_are_checked():
    for bad in (0.0, 1.5, float("nan"), "x"):
        with pytest.raises(ConfigError, match="read_gain"):
            HAQ(read_gain=bad)
    with pytest.raises(ConfigError, match="passes"):
        HAQ(passes=0)
    with pytest.raises(ConfigError, match="passes"):
        ProgrammingSpec(haq_passes=99)
    assert BinaryCellWriter()  # the default writer still builds


@pytest.mark.slow
def test_cli_haq_reports_the_read_path(tmp_path):
    result = CliRunner().invoke(main, ["haq", "--json", "--outputs", "3", "--vector-length",
                                       "16", "--bits", "6", "--read-cycles", "0", "-o",
                                       str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["hardware"]["cell"]["kind"] == "1T1R"
    assert data["hardware"]["array"]["r_wire_ohm"] == R_WIRE_40NM_OHM
    assert {"rmse_ptq", "rmse_haq", "placement"} <= set(data)
    assert (tmp_path / "run" / "attenuation_map.png").is_file()


@pytest.mark.parametrize("args, match", [
    (["--passes", "0"], "passes"),
    (["--adc-bits", "1"], "adc_bits"),
    (["--r-wire", "500"], "min_uniformity"),
])
def test_cli_haq_refuses_bad_read_path(tmp_path, args, match):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["haq", "--outputs", "3", "--vector-length", "16",
                                       *args, "-o", str(out)])
    assert result.exit_code != 0
    assert match in result.output and "Traceback" not in result.output
    assert not out.exists()
