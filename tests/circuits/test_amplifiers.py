"""Transistor-level amplifiers: the two-stage op-amp, the TIA on it, the VCMAC's OTAs.

Unit tests check parameters, netlist text and the measurement helpers against
closed forms (a two-pole transfer function's phase margin, an exponential's
settling time). The ngspice tests check the circuits against figures taken
apart from them: the op-amp's AC gain against the error of its DC follower,
the TIA's transient against its DC sweep, the VCMAC's transient against its
DC ratio, and the design targets of issue 26 (gain, phase margin, swing).
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.analyses import AC, DC, Op
from circuits.errors import ConfigError
from circuits.opamp import (
    DEFAULT_OPAMP,
    OpAmpParams,
    OTAParams,
    mismatch_shifts_volt,
    opamp_follower,
    opamp_lines,
    ota_lines,
)
from circuits.runner import run
from circuits.tia import DEFAULT_TIA, TRANSISTOR_TIA, TIAParams, tia, tia_for_current
from circuits.vcmac import (
    VCMAC_OTA,
    InputStep,
    VCMACParams,
    amp_shifts_volt,
    vcmac_stage,
)
from circuits.vcmac import (
    mismatch_shifts_volt as vcmac_shifts,
)
from cosim.calibration.amplifiers import Bode, settle_time_s
from cosim.cli import main

# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(("field", "value"), [
    ("i_bias_a", 0.0), ("tail_units", 0), ("out_units", 1.5), ("w_in_um", 0.01),
    ("l_n_um", 50.0), ("c_c_farad", 0.0), ("r_z_ohm", -1.0), ("v_out_linear_volt", 0.0),
    ("a_vt_volt_m", 1e-6), ("mismatch_seed", -1),
])
def test_opamp_params_refuse_bad_values_by_name(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        OpAmpParams(**{field: value})


def test_opamp_driver_balances_the_mirror() -> None:
    # driver = 2 * out / tail mirror units: no systematic offset; otherwise refused
    assert DEFAULT_OPAMP.driver_units == 2 * DEFAULT_OPAMP.out_units // DEFAULT_OPAMP.tail_units
    with pytest.raises(ConfigError, match="whole number"):
        OpAmpParams(tail_units=3, out_units=40)
    assert DEFAULT_OPAMP.i_supply_a == pytest.approx(20e-6 * (1 + 4 + 40))


def test_opamp_lines_are_named_deterministic_and_mismatch_only_when_asked() -> None:
    lines = opamp_lines(DEFAULT_OPAMP, "7", "p", "n", "o", "vd", "vs")
    assert lines == opamp_lines(DEFAULT_OPAMP, "7", "p", "n", "o", "vd", "vs")
    assert all(re.match(r"^[MIRC]opa7_", ln) for ln in lines)
    assert not any("delvto" in ln for ln in lines)
    mm = dataclasses.replace(DEFAULT_OPAMP, a_vt_volt_m=3.5e-9, mismatch_seed=3)
    shifted = opamp_lines(mm, "7", "p", "n", "o", "vd", "vs")
    assert sum("delvto" in ln for ln in shifted) == 4           # M1-M4 only
    assert shifted == opamp_lines(mm, "7", "p", "n", "o", "vd", "vs")
    other = opamp_lines(dataclasses.replace(mm, mismatch_seed=4), "7", "p", "n", "o", "vd", "vs")
    assert other != shifted
    with pytest.raises(ConfigError, match="must differ"):
        opamp_lines(DEFAULT_OPAMP, "x", "a", "b", "a", "vd", "vs")
    with pytest.raises(ConfigError, match="name"):
        opamp_lines(DEFAULT_OPAMP, "x y", "a", "b", "c", "vd", "vs")


def test_opamp_mismatch_follows_pelgrom() -> None:
    p = dataclasses.replace(DEFAULT_OPAMP, a_vt_volt_m=3.5e-9)
    draws = np.array([mismatch_shifts_volt(dataclasses.replace(p, mismatch_seed=s))
                      for s in range(4000)])
    sigma_in = 3.5e-9 / math.sqrt(p.w_in_um * p.l_in_um * 1e-12)
    sigma_n = 3.5e-9 / math.sqrt(p.w_n_um * p.l_n_um * 1e-12)
    np.testing.assert_allclose(draws.std(axis=0), [sigma_in, sigma_in, sigma_n, sigma_n],
                               rtol=0.05)


def test_transistor_tia_range_and_sizing_for_a_larger_current() -> None:
    p = TRANSISTOR_TIA
    assert p.transistor_level and not DEFAULT_TIA.transistor_level
    assert p.models == ("freepdk45_nom.lib",)
    # linear range: the rated +-0.35 V output over r_f
    assert p.i_linear_max_a == pytest.approx(0.35 / 800.0)
    big = tia_for_current(1.5e-3, p)
    assert big.i_linear_max_a == pytest.approx(1.5e-3)
    assert big.r_f_ohm * big.c_f_farad == pytest.approx(p.r_f_ohm * p.c_f_farad)
    # the second stage grows with the current it must source
    assert big.opamp.i_out_a >= p.opamp.i_out_a * 1.5e-3 / p.i_linear_max_a
    small = tia_for_current(100e-6, p)
    assert small.opamp == p.opamp
    text = tia(p).text()
    assert "Vddtia tvdd 0 DC 0.55" in text and "Mopatia_1 opatia_a in " in text
    with pytest.raises(ConfigError, match="opamp"):
        TIAParams(opamp="two-stage")  # type: ignore[arg-type]


def test_ota_nmos_input_is_the_mirror_image() -> None:
    p = OTAParams()
    pm = ota_lines(p, "x", "a", "b", "o", "vdd", "0")
    nm = ota_lines(dataclasses.replace(p, nmos_input=True), "x", "a", "b", "o", "vdd", "0")
    assert "Iotax_b otax_pb 0" in pm[0] and "Iotax_b vdd otax_pb" in nm[0]
    assert "PMOS_VTG" in pm[3] and "NMOS_VTG" in nm[3]
    assert all(ln.split()[2] in ("a", "b") for ln in (pm[3], pm[4], nm[3], nm[4]))


def test_vcmac_transistor_amplifiers_keep_the_mirror_shifts_of_a_seed() -> None:
    base = VCMACParams(a_vt_volt_m=3.5e-9, mismatch_seed=11)
    with_amps = dataclasses.replace(base, amp=VCMAC_OTA)
    np.testing.assert_array_equal(vcmac_shifts(base, 2), vcmac_shifts(with_amps, 2))
    assert not amp_shifts_volt(base, 2).any()
    assert amp_shifts_volt(with_amps, 2).shape == (2, 3, 4)
    text = "\n".join(vcmac_stage(with_amps).body)
    units = sum(m for _, m, _ in base.mismatch_groups())        # 10 + 1 + 1 + 25 mirror units
    assert text.count("delvto") == units + 3 * 4                # and M1-M4 of 3 OTAs
    assert "vcmac_amp" not in text and "Cc0a g0 sl0" in text and "MB0b ota0b_tl g0 0 0" in text


def test_ac_and_step_refuse_bad_values() -> None:
    with pytest.raises(ConfigError, match="points per decade"):
        AC(points_per_decade=0, f_start_hz=1.0, f_stop_hz=10.0)
    with pytest.raises(ConfigError, match="start < stop"):
        AC(points_per_decade=10, f_start_hz=10.0, f_stop_hz=1.0)
    with pytest.raises(ConfigError, match="change the current"):
        InputStep(i_from_a=1e-6, i_to_a=1e-6)
    with pytest.raises(ConfigError, match="not both"):
        from circuits.vcmac import CurrentSweep

        vcmac_stage(VCMACParams(amp=VCMAC_OTA), sweep=CurrentSweep(), step=InputStep())


# --------------------------------------------------------------------------- measurement helpers


def test_phase_margin_of_a_two_pole_loop_matches_its_closed_form() -> None:
    f = np.logspace(0, 11, 4000)
    a0, p1, p2 = 1e4, 1e4, 2e8
    h = a0 / ((1 + 1j * f / p1) * (1 + 1j * f / p2))
    b = Bode(f_hz=f, h=h)
    fc, _ = b.crossover()
    # |H(fc)| = 1 solved exactly, then the phase there
    from scipy.optimize import brentq

    fc_exact = brentq(lambda x: abs(a0 / ((1 + 1j * x / p1) * (1 + 1j * x / p2))) - 1, 1e5, 1e10)
    pm_exact = 180 - math.degrees(math.atan(fc_exact / p1) + math.atan(fc_exact / p2))
    assert fc == pytest.approx(fc_exact, rel=2e-3)
    assert b.phase_margin_deg() == pytest.approx(pm_exact, abs=0.1)
    assert b.dc_db == pytest.approx(80.0, abs=1e-3)


def test_settle_time_of_an_exponential_is_tau_ln_1000() -> None:
    t = np.linspace(0, 100e-9, 200001)
    tau, t0 = 2e-9, 10e-9
    v = np.where(t < t0, 0.0, 1 - np.exp(-(t - t0) / tau))
    assert settle_time_s(t, v, t0) == pytest.approx(tau * math.log(1000), rel=1e-3)


def test_retimed_workload_scales_the_active_time_and_the_latency() -> None:
    from cosim.accounting.area import Hardware
    from cosim.accounting.circuit_energy import AmplifierTiming, retimed
    from cosim.accounting.events import Events
    from cosim.accounting.workload import Workload

    w = Workload(name="w", events=Events(adc_conversions=10, tia_active_s=10 * 100e-9),
                 ops_per_inference=1.0, read_steps=10.0,
                 hardware=Hardware(arrays=1, rows_per_array=8, cols_per_array=8, tias=8,
                                   adcs=1))
    t = AmplifierTiming(tia_s=15e-9, vcmac_s=4e-6)
    r = retimed(w, t)
    assert r.events.tia_active_s == pytest.approx(10 * 15e-9)
    assert r.timing.amplifier_active_s == pytest.approx(15e-9)
    assert r.latency_s() < w.latency_s()
    v = dataclasses.replace(w, events=dataclasses.replace(w.events, vcmac_active_s=1e-6))
    assert retimed(v, t).timing.amplifier_active_s == pytest.approx(4e-6)   # the slower
    assert retimed(w, AmplifierTiming()) is w


# --------------------------------------------------------------------------- ngspice


@pytest.mark.ngspice
def test_opamp_ac_gain_agrees_with_an_open_loop_dc_sweep() -> None:
    """The open-loop gain from .ac (1 Hz, the loop closed at DC through an inductor)
    against a truly open-loop .dc sweep: the inverting input held at 0 V, the
    non-inverting one swept by +-20 uV about the offset the follower measures."""
    from circuits.netlist import Netlist
    from circuits.opamp import SPLIT_RAILS
    from cosim.calibration.amplifiers import open_loop

    bode = open_loop(DEFAULT_OPAMP, c_load_farad=0.0)
    fol = run(opamp_follower(DEFAULT_OPAMP), Op(), save=("v(inp)", "v(out)"))
    v_os = float(fol.v("inp")[0] - fol.v("out")[0])
    body = (*SPLIT_RAILS.lines(), "Vinp inp 0 DC 0", "Vinn inn 0 DC 0",
            *opamp_lines(DEFAULT_OPAMP, "", "inp", "inn", "out", "vdd", "vss"))
    res = run(Netlist("open loop", body, ("freepdk45_nom.lib",)),
              DC(source="Vinp", start=v_os - 2e-6, stop=v_os + 2e-6, step=0.5e-6),
              save=("v(out)",))
    gain = np.polyfit(res.data.iloc[:, 0].to_numpy(), res.v("out"), 1)[0]
    assert abs(res.v("out")).max() < 0.1                         # it stayed linear
    assert 20 * math.log10(gain) == pytest.approx(bode.dc_db, abs=0.5)
    assert bode.dc_db >= 60.0                                    # measured 81.9 dB


@pytest.mark.ngspice
def test_tia_meets_the_design_targets() -> None:
    """Issue 26: DC gain >= 60 dB, phase margin >= 60 deg in the TIA's feedback
    configuration (at 0 A and at either full scale), swing covering the ADC range."""
    from cosim.calibration.amplifiers import characterise_opamp

    ch = characterise_opamp(TRANSISTOR_TIA)
    assert ch.value("dc_gain_db") >= 60.0
    assert ch.value("tia_phase_margin_worst_deg") >= 60.0        # measured 78.8
    assert ch.value("output_swing_low_v") <= ch.value("adc_range_low_v") == -0.35
    assert ch.value("output_swing_high_v") >= ch.value("adc_range_high_v") == 0.35
    assert 0.5e-3 < ch.value("quiescent_current_a") < 1.5e-3    # measured 0.888 mA
    # the loop-gain bench sees the op-amp's own open-loop gain at DC (feedback factor 1)
    assert ch.value("tia_loop_gain_db") == pytest.approx(ch.value("dc_gain_db"), abs=0.5)


@pytest.mark.ngspice
def test_tia_step_settles_to_its_dc_value() -> None:
    """The transient's final output equals the DC sweep's output at the same current."""
    from cosim.calibration.amplifiers import step_response

    p = TRANSISTOR_TIA
    i = 0.5 * p.i_linear_max_a
    r = step_response(p, i)
    dc = run(tia(p, step=None), DC(source="Iin", start=0.0, stop=i, step=i), save=("v(out)",))
    assert r.v_out[-1] == pytest.approx(dc.v("out")[-1], abs=20e-6)
    assert 5e-9 < r.settle_s < 30e-9                             # measured about 14 ns
    assert r.v_out[-1] == pytest.approx(-i * p.r_f_ohm, rel=3e-3)


@pytest.mark.ngspice
def test_measured_tia_model_reproduces_an_independent_sweep() -> None:
    """The tabulated model against a sweep on other currents (off the model's grid)."""
    from cosim.calibration.tia import measured_model

    p = TRANSISTOR_TIA
    m = measured_model(p)
    fs = p.i_linear_max_a
    res = run(tia(p, step=None), DC(source="Iin", start=-0.9937 * fs, stop=0.9937 * fs,
                                    step=0.9937 * fs / 37), save=("v(in)", "v(out)"))
    i = res.data.iloc[:, 0].to_numpy()
    assert np.max(np.abs(m.output_volt(i) - res.v("out"))) < 1e-6 * fs * p.r_f_ohm
    v_in = m.v_in0_volt + m.r_in_ohm * i + m.input_residual_volt(i)
    assert np.max(np.abs(v_in - res.v("in"))) < 1e-6
    assert 0.1 < m.r_in_ohm < 5.0                                # measured 1.13 ohm


@pytest.mark.ngspice
def test_vcmac_transient_settles_to_its_dc_ratio() -> None:
    """One code's input-step transient converges and ends at the DC sweep's ratio."""
    from cosim.calibration.vcmac import SETTLE_STEP, vcmac_settling

    p = VCMACParams(amp=VCMAC_OTA, code=5)
    table, resp = vcmac_settling(p, [5], workers=1)
    row = table.iloc[0]
    dc = run(vcmac_stage(dataclasses.replace(p, i_in_a=SETTLE_STEP.i_to_a)), Op(),
             save=("i(vout)", "i(vsense_in)"))
    ratio_dc = float(dc.i("Vout")[0] / dc.i("Vsense_in")[0])
    assert row["final_ratio"] == pytest.approx(ratio_dc, rel=2e-4)
    assert abs(row["rel_error"]) < 0.01
    assert 0 < row["settle_s"] < 0.8 * (8e-6 - SETTLE_STEP.delay_s)   # measured 3.8 us
    assert resp[5].i_supply_a[-1] > 0


@pytest.mark.ngspice
def test_vcmac_monte_carlo_statistics(tmp_path) -> None:
    from cosim.calibration.vcmac import mismatch_monte_carlo, mismatch_statistics

    per_seed = mismatch_monte_carlo([0, 1, 2], codes=[5], points=3)
    assert list(per_seed["seed"]) == [0, 1, 2]
    stats = mismatch_statistics(per_seed)
    e = per_seed["rel_error"].to_numpy()
    assert stats["mean_rel_error"].iloc[0] == pytest.approx(e.mean())
    assert stats["std_rel_error"].iloc[0] == pytest.approx(e.std(ddof=1))
    assert 0.001 < stats["mean_abs_rel_error"].iloc[0] < 0.2
    again = mismatch_monte_carlo([1], codes=[5], points=3)
    assert again["rel_error"].iloc[0] == per_seed["rel_error"].iloc[1]


@pytest.mark.ngspice
def test_characterise_amp_cli_writes_the_table_plots_and_raw_files(tmp_path) -> None:
    import json

    out = tmp_path / "amp"
    r = CliRunner().invoke(main, ["characterise", "amp", "--json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert all(obj["checks"].values()), obj["checks"]
    rows = {f["quantity"]: f for f in obj["figures"]}
    assert rows["dc_gain_db"]["analysis"].startswith(".ac")
    assert rows["quiescent_current_a"]["analysis"].startswith(".op")
    for name in ("opamp_characterisation.csv", "opamp_bode.png", "opamp_bode.svg",
                 "tia_loop_bode.svg", "opamp_slew.png", "tia_swing.svg", "manifest.json"):
        assert (out / name).is_file(), name
    assert (out / "spice" / "open_loop" / "out.raw").stat().st_size > 1000


@pytest.mark.ngspice
def test_characterise_tia_macro_cli_is_the_fast_option(tmp_path) -> None:
    import json

    out = tmp_path / "tia"
    r = CliRunner().invoke(main, ["characterise", "tia", "--amplifier", "macro", "--json",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert "macro-model" in obj["amplifier"]
    assert len(obj["ranges"]) == 5 and obj["settle_time_s"] > 0
    assert obj["assumed_before"]["conversion_s"] == 100e-9
    assert (out / "tia_step.svg").is_file() and (out / "tia_settling.csv").is_file()


@pytest.mark.ngspice
def test_characterise_vcmac_macro_cli_writes_ratios_without_settling(tmp_path) -> None:
    import json

    out = tmp_path / "v"
    r = CliRunner().invoke(main, ["characterise", "vcmac", "--amplifier", "macro", "--points",
                                  "3", "--json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["amplifiers"] == "behavioural" and len(obj["codes"]) == 16
    assert "settling" not in obj and (out / "vcmac_ratios.csv").is_file()


def test_macro_only_closed_forms_refuse_a_transistor_level_tia() -> None:
    assert DEFAULT_TIA.r_in_ohm == pytest.approx(900 / 10001)
    for name in ("r_in_ohm", "v_in0_volt", "transimpedance_ohm", "n1_linear_volt"):
        with pytest.raises(ConfigError, match="measured_model"):
            getattr(TRANSISTOR_TIA, name)
