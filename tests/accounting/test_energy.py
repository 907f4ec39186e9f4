"""Energy and area ledger: simulated read energy, cited table, overrides, adapters, baselines."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from circuits.crossbar import CrossbarParams
from circuits.errors import ConfigError
from cosim.accounting.area import AreaTable, Hardware, area_breakdown, inventory
from cosim.accounting.baselines import GpuAssumptions, baseline_fps, get_baselines
from cosim.accounting.energy import ORIGINS, EnergyTable, Ledger
from cosim.accounting.events import Events, Timing
from cosim.accounting.workload import events_workload, make_workload, workload_to_json

# -- simulated figures (real ngspice) ---------------------------------------------------


@pytest.mark.ngspice
def test_simulated_read_energy_of_linear_cell_is_v2gt():
    from cosim.accounting.circuit_energy import (
        CellReadBench,
        ReadPulse,
        cell_read_figure,
        read_energy_j,
    )

    pulse = ReadPulse(v_read_volt=0.1, width_s=10e-9, edge_s=0.1e-9)
    bench = CellReadBench(cell="0T1R", g_siemens=34.06e-6, pulse=pulse)
    fig = cell_read_figure(bench)
    exact = float(read_energy_j(0.1, 34.06e-6, 10e-9, 0.1e-9))
    assert fig.value == pytest.approx(exact, rel=0.02)
    # the NF code's V^2 G t (3.41 fJ) is the flat top alone
    assert fig.value == pytest.approx(3.41e-15, rel=0.02)
    assert "ngspice" in fig.source()


@pytest.mark.ngspice
def test_simulated_read_energy_of_2x2_array_sums_cells():
    from cosim.accounting.circuit_energy import ReadPulse, read_energy_j, simulate_read_energy

    g = np.array([[10e-6, 30e-6], [50e-6, 5e-6]])
    v = np.array([0.1, 0.2])
    p = CrossbarParams(g_siemens=g, r_wire_bl_ohm=0.0, r_wire_sl_ohm=0.0)
    pulse = ReadPulse(width_s=5e-9, edge_s=0.2e-9)
    energy, cells = simulate_read_energy(p, pulse, v_in_volt=v)
    exact = float(read_energy_j(v[:, None], g, pulse.width_s, pulse.edge_s).sum())
    assert cells == 4
    assert energy == pytest.approx(exact, rel=0.02)


@pytest.mark.ngspice
@pytest.mark.parametrize("i_column_a", [None, -100e-6], ids=["sink_default", "source"])
def test_simulated_macro_tia_power_is_quiescent_plus_output_current(i_column_a):
    """The macro-model option over a fixed 100 ns window: hand calculation."""
    from cosim.accounting.circuit_energy import TiaBench, tia_figure

    kw = {} if i_column_a is None else {"i_column_a": i_column_a}
    bench = TiaBench(opamp=None, active_s=100e-9, **kw)
    fig = tia_figure(bench)
    v_dd, v_ss = bench.supply_volt
    i_col, t = bench.i_column_a, bench.active_s
    edge = bench.conditions.edge_s
    # the quiescent current flows from v_dd to v_ss all the time; the op-amp output
    # carries the whole column current once the step (a ramp over `edge`) is in,
    # sunk into v_ss (I > 0) or sourced from v_dd
    rail = -v_ss if i_col > 0 else v_dd
    expect = (v_dd - v_ss) * bench.i_q_a + rail * abs(i_col) * (t - edge / 2) / t
    assert fig.value == pytest.approx(expect, rel=0.02)
    assert fig.conversion_s == pytest.approx(100e-9)
    assert "opamp_sup" in fig.source()


@pytest.mark.ngspice
def test_simulated_transistor_tia_energy_is_dc_power_plus_a_small_transient_part():
    """The default (transistor-level) figure, the transient's energy over one conversion,
    against the rails' DC power at the same column current from a separate .dc run:
    it is that, plus the settling's own energy (measured 2.5 % more)."""
    from circuits.analyses import DC
    from circuits.runner import run
    from circuits.tia import tia
    from cosim.accounting.circuit_energy import TiaBench, tia_figure
    from cosim.calibration.amplifiers import quiescent_current_a

    bench = TiaBench()
    fig = tia_figure(bench)
    v_dd, v_ss = bench.supply_volt
    i = bench.i_column_a
    dc = run(tia(bench.params(), step=None), DC(source="Iin", start=0.0, stop=i, step=i),
             save=("i(vddtia)", "i(vsstia)"))
    p_dc = -(v_dd * dc.i("Vddtia") + v_ss * dc.i("Vsstia"))
    # the follower bench of quiescent_current_a and the TIA at 0 A: the same bias state
    assert p_dc[0] == pytest.approx((v_dd - v_ss) * quiescent_current_a(bench.opamp), rel=1e-4)
    # class A: the column current is sunk into v_ss, the v_dd current barely moves
    assert p_dc[1] == pytest.approx(p_dc[0] + -v_ss * i, rel=0.01)
    assert p_dc[1] < fig.value < 1.05 * p_dc[1]
    assert 5e-9 < fig.conversion_s < 50e-9                       # measured 14.4 ns
    assert "transistor-level" in fig.source() and "settling" in fig.source()


@pytest.mark.ngspice
@pytest.mark.slow
def test_vcmac_chain_power_composed_from_stage_matches_whole_chain():
    from circuits.analyses import Op
    from circuits.runner import run
    from circuits.vcmac import VCMAC_OTA, VCMACParams, vcmac_chain
    from cosim.accounting.circuit_energy import VcmacBench, vcmac_figure

    for transistor in (False, True):
        amp = VCMAC_OTA if transistor else None
        direct = run(vcmac_chain(VCMACParams(n_columns=3, code=5, amp=amp)), Op(), timeout_s=120)
        p_direct = float(-direct.v("vdd")[0] * direct.i("Vdd")[0])
        fig = vcmac_figure(VcmacBench(n_columns=3, code=5, i_column_a=1e-6,
                                      transistor_level=transistor))
        assert fig.value == pytest.approx(p_direct, rel=0.01), transistor
        assert (fig.conversion_s is not None) == transistor


# -- the cited table and the ledger -----------------------------------------------------


def test_cited_table_covers_every_event_with_origin_and_source():
    table = EnergyTable.cited()
    counters = {e.counter for e in table.entries}
    assert {f.name for f in fields(Events)} <= counters
    for e in table.entries:
        assert e.origin in ORIGINS and e.source.strip()
    assert table["adc"].energy_j == pytest.approx(2.58e-12)
    assert table["dac"].energy_j == pytest.approx(227e-15)
    assert table["cell_read"].energy_j == pytest.approx(3.41e-15)
    assert table["tia"].power_w * 100e-9 == pytest.approx(14.75e-12)


def test_ledger_multiplies_counts_and_keeps_origins():
    table = EnergyTable.cited()
    ev = Events(cell_reads=1000, adc_conversions=10, tia_active_s=1e-6, digital_adds=3)
    df = Ledger.from_events(ev, table, extra_counts={"lif_updates": 2}, inferences=2)
    by = df.set_index("component")
    assert by.loc["cell_read", "energy_j"] == pytest.approx(1000 * 3.41e-15)
    assert by.loc["adc", "energy_j"] == pytest.approx(10 * 2.58e-12)
    assert by.loc["mux", "energy_j"] == pytest.approx(10 * 14.06e-15)
    assert by.loc["tia", "energy_j"] == pytest.approx(1e-6 * 147.5e-6)
    assert by.loc["lif_update", "count"] == 2
    assert df["energy_per_inference_j"].sum() == pytest.approx(df["energy_j"].sum() / 2)
    assert df["share"].sum() == pytest.approx(1.0)
    assert df["origin"].isin(ORIGINS).all() and (df["source"].str.len() > 0).all()


def test_ledger_refuses_a_counter_without_a_figure():
    table = EnergyTable.cited()
    small = EnergyTable(tuple(e for e in table.entries if e.counter != "cordic_steps"))
    with pytest.raises(ConfigError, match="cordic_steps"):
        Ledger.from_events(Events(), small, extra_counts={"cordic_steps": 5})


def test_override_csv_replaces_a_figure(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("component,energy_j,source\nadc,1e-12,my ADC\n")
    table = EnergyTable.cited().with_overrides(f)
    assert table["adc"].energy_j == 1e-12
    assert table["adc"].origin == "override"
    assert "mine.csv" in table["adc"].source and "my ADC" in table["adc"].source


def test_override_toml_new_component_needs_counter(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[sense_amp]\ncounter = "adc_conversions"\nenergy_j = 5e-15\n')
    table = EnergyTable.cited().with_overrides(f)
    assert table["sense_amp"].counter == "adc_conversions"
    g = tmp_path / "typo.toml"
    g.write_text("[adcc]\nenergy_j = 1e-12\n")
    with pytest.raises(ConfigError, match="did you mean 'adc'"):
        EnergyTable.cited().with_overrides(g)


@pytest.mark.parametrize("text, name", [
    ("component,energy_j\ndac,-1e-15\n", "neg.csv"),
    ("[vcmac]\npower_w = -0.1\n", "neg.toml"),
])
def test_negative_override_is_a_config_error(tmp_path, text, name):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ConfigError, match=r"must be >= 0") as info:
        EnergyTable.cited().with_overrides(f)
    assert len(str(info.value).splitlines()) == 1


def test_override_file_missing(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        EnergyTable.cited().with_overrides(tmp_path / "none.csv")


# -- workloads --------------------------------------------------------------------------


def test_mvm_adapter_counts_haq_mvm():
    w = make_workload({"kind": "mvm", "rows": 100, "cols": 100, "bits": 12,
                       "inferences": 10, "aggregation": "analog"})
    ev = w.events
    assert ev.cell_reads == 10 * 100 * 100 * 12
    assert w.hardware.arrays == 3  # 512 // 12 = 42 outputs per macro -> 3 column blocks
    assert ev.dac_conversions == 10 * 100 * 3
    assert ev.adc_conversions == 10 * 100
    assert ev.vcmac_active_s == pytest.approx(10 * 100 * 100e-9)
    assert w.ops_per_inference == 2 * 100 * 100
    d = make_workload({"kind": "mvm", "rows": 100, "cols": 100, "bits": 12,
                       "inferences": 10, "aggregation": "digital"})
    assert d.events.adc_conversions == 12 * ev.adc_conversions
    assert d.events.vcmac_active_s == 0


def test_mlp_adapter_adds_cordic_for_sine():
    w = make_workload({"kind": "mlp", "layers": [131, 100, 1], "inferences": 4,
                       "encoding_features": 128})
    assert w.extra_counts["cordic_steps"] == 4 * (100 + 128) * 16
    assert w.read_steps == 8
    assert w.ops_per_inference == 2 * (131 * 100 + 100 * 1)


def test_latency_from_read_steps_and_adc_rate():
    w = make_workload({"kind": "mvm", "rows": 64, "cols": 8, "bits": 4, "inferences": 5,
                       "timing": {"read_pulse_s": 10e-9, "amplifier_active_s": 20e-9,
                                  "adc_rate_hz": 1e9}})
    adcs = w.hardware.adcs
    expect = 5 * 20e-9 + w.events.adc_conversions / (adcs * 1e9)
    assert w.latency_s() == pytest.approx(expect)
    assert Timing().read_pulse_s == 10e-9


def test_workload_json_round_trip():
    w = make_workload({"kind": "mvm", "rows": 10, "cols": 3, "bits": 4, "inferences": 2})
    back = events_workload(workload_to_json(w))
    assert back.events == w.events and back.hardware == w.hardware
    assert back.ops_per_inference == w.ops_per_inference


def test_workload_rejects_unknown_keys_and_counters():
    with pytest.raises(ConfigError, match="did you mean 'rows'"):
        make_workload({"kind": "mvm", "rowz": 10, "cols": 3})
    with pytest.raises(ConfigError, match="did you mean 'cell_reads'"):
        events_workload({"name": "x", "events": {"cell_read": 1}, "ops_per_inference": 1,
                         "hardware": {}})
    with pytest.raises(ConfigError, match="did you mean 'mvm'"):
        make_workload({"kind": "mvn"})


# -- area -------------------------------------------------------------------------------


def test_vcmac_area_from_its_netlist():
    from circuits.vcmac import VCMACParams, vcmac_stage

    inv = inventory(vcmac_stage(VCMACParams()))
    assert inv.transistors > 50 and inv.amplifiers >= 2
    table = AreaTable.default()
    assert table["vcmac_column"].origin == "netlist"
    assert table["vcmac_column"].area_um2 > 10 * inv.gate_area_um2 - 1e-9
    assert table["cell_1t1r"].area_um2 == pytest.approx(48 * 0.04**2)


def test_area_breakdown_has_origins():
    hw = Hardware(arrays=2, vcmac_columns=1024)
    df = area_breakdown(hw)
    assert df.loc[df["block"] == "cell_1t1r", "count"].item() == 2 * 512 * 512
    assert df["origin"].notna().all() and (df["source"].str.len() > 0).all()


# -- baselines --------------------------------------------------------------------------


def test_baselines_from_figures_md():
    a100, nano, rtx, h100 = get_baselines(["a100", "jetson_nano", "rtx4090", "h100"])
    assert (a100.power_w, a100.die_area_mm2) == (400, 826)
    assert (h100.power_w, h100.die_area_mm2) == (700, 814)
    assert (rtx.power_w, rtx.die_area_mm2) == (450, 608.5)
    assert nano.power_w == 10
    fps = baseline_fps(a100, 2e4, GpuAssumptions(precision="fp32", utilisation=0.5))
    assert fps == pytest.approx(0.5 * 19.5e12 / 2e4)


def test_unknown_baseline_did_you_mean():
    with pytest.raises(ConfigError, match="did you mean 'a100'"):
        get_baselines(["a10"])
