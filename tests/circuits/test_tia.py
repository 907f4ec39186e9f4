"""TIA front end: parameter checks, netlist text, and its behaviour in ngspice.

The ngspice tests check the op-amp macro-model through the TIA against
closed-form expectations: V_out = V_ref - I * R_f in the linear range, a
step response set by the op-amp's gain-bandwidth and the R_f C_f feedback
pole, and output saturation at the swing limits.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from circuits.analyses import DC, Tran
from circuits.errors import ConfigError
from circuits.netlist import Netlist
from circuits.tia import (
    DEFAULT_STEP,
    DEFAULT_TIA,
    MODEL_FILE,
    CurrentStep,
    TIAParams,
    tia,
    tia_for_current,
    tia_readout_lines,
)
from cosim.cli import main

# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize(("field", "value"), [
    ("r_f_ohm", -1e3),
    ("r_f_ohm", 0.0),
    ("gbw_hz", 0.0),
    ("a0_db", -3.0),
    ("c_f_farad", -1e-12),
    ("slew_rate_v_per_s", 0.0),
    ("r_out_ohm", 0.0),
    ("v_os_volt", 0.5),
    ("v_knee_volt", 0.0),
    ("v_ref_volt", 0.6),          # outside the +-0.45 V output swing
    ("v_out_max_volt", -0.5),     # below v_out_min_volt
])
def test_invalid_params_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        TIAParams(**{field: value})


@pytest.mark.parametrize(("field", "changes"), [
    ("i_q_a", {"i_q_a": -1e-6}),
    ("v_dd_volt", {"supply": True, "v_dd_volt": 0.4}),    # below the 0.45 V swing limit
    ("v_ss_volt", {"supply": True, "v_ss_volt": -0.4}),
    ("v_ss_volt", {"v_ss_volt": 1.0}),                     # above v_dd_volt
    ("supply", {"supply": "yes"}),
])
def test_invalid_supply_params_name_the_field(field: str, changes: dict) -> None:
    with pytest.raises(ConfigError, match=field):
        TIAParams(**changes)


def test_nan_is_refused() -> None:
    with pytest.raises(ConfigError, match="gbw_hz"):
        TIAParams(gbw_hz=float("nan"))


def test_default_linear_range_covers_a_64_row_column() -> None:
    i_column = 64 * 29.22e-6 * 0.2           # 0.374 mA, 64 LRS cells read at 0.2 V
    assert DEFAULT_TIA.i_linear_max_a >= 0.4e-3 > i_column
    assert DEFAULT_TIA.a0 == pytest.approx(1e4)


# ---------------------------------------------------------------- netlist text


def test_readout_lines_are_named_and_deterministic() -> None:
    lines = tia_readout_lines(DEFAULT_TIA, "3", "sense3", "out3")
    assert lines == tia_readout_lines(TIAParams(), "3", "sense3", "out3")
    assert lines[0] == "Vtref3 tref3 0 DC 0"
    assert lines[1].startswith("Xtia3 tref3 sense3 out3 opamp a0=10000 gbw=100000000 ")
    assert "Vf3 sense3 tfb3 DC 0" in lines
    assert "Rf3 tfb3 out3 800" in lines
    assert "Cf3 tfb3 out3 5e-13" in lines


def test_supply_adds_rails_and_supplied_opamp_only_when_asked() -> None:
    plain = tia_readout_lines(DEFAULT_TIA, "3", "sense3", "out3")
    assert not any(line.startswith(("Vddtia", "Vsstia")) for line in plain)
    lines = tia_readout_lines(TIAParams(supply=True), "3", "sense3", "out3")
    assert "Vddtia3 tvdd3 0 DC 0.55" in lines
    assert "Vsstia3 tvss3 0 DC -0.55" in lines
    x = next(line for line in lines if line.startswith("Xtia3"))
    assert x.startswith("Xtia3 tref3 sense3 out3 tvdd3 tvss3 opamp_sup a0=10000 ")
    assert x.endswith(" rout=100 iq=7.375e-05")
    same = [line for line in plain if not line.startswith("Xtia3")]
    assert set(same) <= set(lines)                        # the rest is unchanged
    assert tia(TIAParams(supply=True)).title.endswith("op-amp supply 0.55 / -0.55 V")


def test_zero_feedback_capacitance_leaves_out_the_capacitor() -> None:
    lines = tia_readout_lines(TIAParams(c_f_farad=0.0), "a", "in", "out")
    assert not any(line.startswith("Cf") for line in lines)


@pytest.mark.parametrize(("name", "in_node", "out_node"), [
    ("x y", "in", "out"),
    ("a", "in node", "out"),
    ("a", "in", ""),
    ("a", "n1", "n1"),
])
def test_readout_lines_refuse_bad_names(name: str, in_node: str, out_node: str) -> None:
    with pytest.raises(ConfigError):
        tia_readout_lines(DEFAULT_TIA, name, in_node, out_node)


def test_bench_text() -> None:
    n = tia(DEFAULT_TIA, i_in_pwl=((0.0, 0.0), (1e-9, 1e-4)))
    assert n.models == (MODEL_FILE,)
    assert n.body[0] == "Iin 0 in DC 0 PWL(0 0 1e-09 0.0001)"
    assert tia(step=None).body[0] == "Iin 0 in DC 0"
    assert n == tia(TIAParams(), i_in_pwl=((0.0, 0.0), (1e-9, 1e-4)))


def test_bench_carries_a_current_step_for_every_analysis() -> None:
    assert tia().body[0] == "Iin 0 in DC 0.0001 PULSE(0 0.0001 1e-08 1e-09 1e-09 1 2)"
    step = CurrentStep(i_step_a=-20e-6, delay_s=0.0, edge_s=0.5e-9)
    assert tia(step=step).body[0] == "Iin 0 in DC -2e-05 PULSE(0 -2e-05 0 5e-10 5e-10 1 2)"
    # a PWL waveform replaces the step
    assert tia(i_in_pwl=((0.0, 0.0), (1e-9, 1e-4))).body[0].startswith("Iin 0 in DC 0 PWL(")


@pytest.mark.parametrize(("field", "value"), [
    ("i_step_a", 2.0), ("delay_s", -1e-9), ("edge_s", 0.0), ("edge_s", float("nan")),
])
def test_current_step_refuses_bad_values(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        CurrentStep(**{field: value})


def test_bench_refuses_bad_waveform() -> None:
    with pytest.raises(ConfigError, match="increasing"):
        tia(DEFAULT_TIA, i_in_pwl=((0.0, 0.0), (0.0, 1e-4)))
    with pytest.raises(ConfigError, match="NaN"):
        tia(DEFAULT_TIA, i_in_pwl=((0.0, float("nan")),))


# ---------------------------------------------------------------- ngspice

SINGLE_SUPPLY = TIAParams(v_ref_volt=0.55, v_out_min_volt=0.1, v_out_max_volt=1.0)
"""A 0 / 1.1 V single-supply variant: input held at mid-supply."""


@pytest.mark.ngspice
@pytest.mark.parametrize("p", [DEFAULT_TIA, SINGLE_SUPPLY], ids=["split", "single"])
def test_dc_transfer_is_linear_with_gain_minus_rf(p: TIAParams) -> None:
    from circuits.runner import run

    i_max = 0.4e-3                                   # stated linear input range: +-0.4 mA
    assert i_max <= p.i_linear_max_a
    res = run(tia(p), DC(source="Iin", start=-i_max, stop=i_max, step=10e-6))
    i_in = res.data["i(i-sweep) [A]"].to_numpy()
    v_out = res.v("out")
    slope, icept = np.polyfit(i_in, v_out, 1)
    deviation = np.max(np.abs(v_out - (slope * i_in + icept)))
    # finite gain: |error| ~ (1 + r_out / r_f) / a0 = 1.1e-4, well inside 0.1 %
    assert slope == pytest.approx(-p.r_f_ohm, rel=1e-3)
    assert icept == pytest.approx(p.v_ref_volt, abs=1e-4)
    # integral nonlinearity below 10 uV, i.e. 0.003 % of the 0.32 V output span
    assert deviation < 10e-6
    # the meter in series with R_f carries the whole input current
    np.testing.assert_allclose(res.i("Vf"), i_in, rtol=1e-6, atol=1e-12)


@pytest.mark.ngspice
def test_supplied_tia_keeps_gain_and_draws_quiescent_plus_output_current() -> None:
    from circuits.runner import run

    p = dataclasses.replace(DEFAULT_TIA, supply=True)
    res = run(tia(p), DC(source="Iin", start=-0.4e-3, stop=0.4e-3, step=20e-6))
    i_in = res.data["i(i-sweep) [A]"].to_numpy()
    slope, icept = np.polyfit(i_in, res.v("out"), 1)
    assert slope == pytest.approx(-p.r_f_ohm, rel=1e-3)
    assert icept == pytest.approx(p.v_ref_volt, abs=1e-4)
    # the output sinks the input current (I > 0) into v_ss or sources it (I < 0) from v_dd
    i_dd = -res.i("Vddtia")                              # current the v_dd rail delivers
    i_ss = res.i("Vsstia")                               # current returned into v_ss
    np.testing.assert_allclose(i_dd, p.i_q_a + np.maximum(-i_in, 0), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(i_ss, p.i_q_a + np.maximum(i_in, 0), rtol=1e-6, atol=1e-12)


@pytest.mark.ngspice
def test_offset_shifts_the_held_input_and_the_output() -> None:
    from circuits.runner import run

    p = dataclasses.replace(DEFAULT_TIA, v_os_volt=2e-3)
    res = run(tia(p), DC(source="Iin", start=0.0, stop=1e-4, step=1e-4))
    assert res.v("in")[0] == pytest.approx(p.v_ref_volt + 2e-3, abs=1e-6)
    assert res.v("out")[0] == pytest.approx(p.v_ref_volt + 2e-3, abs=1e-6)


def _settle_time(t: np.ndarray, v: np.ndarray, t_step: float, tol: float) -> float:
    """Time after ``t_step`` from which ``v`` stays within ``tol`` of its final value."""
    final = v[-1]
    start = v[np.searchsorted(t, t_step) - 1]
    outside = np.nonzero(np.abs(v - final) > tol * abs(final - start))[0]
    return float(t[outside[-1] + 1] - t_step)


def _two_pole_settle_time(tau1: float, tau2: float, tol: float) -> float:
    """0.1 % settling time of a step through two real poles (closed form, solved on a grid)."""
    t = np.linspace(0.0, 20 * max(tau1, tau2), 200_001)
    err = (tau1 * np.exp(-t / tau1) - tau2 * np.exp(-t / tau2)) / (tau1 - tau2)
    return float(t[np.nonzero(np.abs(err) > tol)[0][-1] + 1])


@pytest.mark.ngspice
def test_small_step_settles_as_gbw_and_feedback_pole_predict() -> None:
    from circuits.runner import run

    p = DEFAULT_TIA
    i_step, t_step, tol = 0.1e-3, 5e-9, 1e-3
    # A 0.1 mA step moves the output 80 mV; the op-amp stays out of slewing as long as
    # dV * 2 pi GBW = 0.08 * 6.3e8 = 5e7 V/s is below the 1e8 V/s slew rate, so the
    # response is linear: with an ideal current source the feedback factor is 1 and
    # V_out/I = -R_f / (1 + s R_f C_f) * a0 / (1 + a0 + s a0 / (2 pi GBW)), two real poles:
    tau_amp = p.a0 / ((1 + p.a0) * 2 * np.pi * p.gbw_hz)    # 1.59 ns
    tau_fb = p.r_f_ohm * p.c_f_farad                        # 0.40 ns
    expected = _two_pole_settle_time(tau_amp, tau_fb, tol)  # 11.5 ns (measured: 11.7 ns)
    pwl = ((0.0, 0.0), (t_step, 0.0), (t_step + 1e-12, i_step))
    res = run(tia(p, i_in_pwl=pwl), Tran(step_s=10e-12, stop_s=t_step + 60e-9))
    t, v = res.data["time [s]"].to_numpy(), res.v("out")
    assert v[-1] == pytest.approx(p.v_ref_volt - i_step * p.r_f_ohm, rel=1e-3)
    settle = _settle_time(t, v, t_step, tol)
    # within 25 % of the two-pole prediction (r_out and its load add a little)
    assert 0.8 * expected < settle < 1.25 * expected
    assert settle < 15e-9                                   # stated bound for this TIA


@pytest.mark.ngspice
def test_full_scale_step_settles_after_slewing() -> None:
    from circuits.runner import run

    p = DEFAULT_TIA
    i_step, t_step, tol = 0.4e-3, 5e-9, 1e-3
    dv = i_step * p.r_f_ohm                                 # 0.32 V
    # slewing lasts at most dV / SR = 3.2 ns, then linear settling as for a small step:
    # bound 3.2 + 11.5 = 14.7 ns (measured: 12.5 ns)
    tau_amp = p.a0 / ((1 + p.a0) * 2 * np.pi * p.gbw_hz)
    bound = dv / p.slew_rate_v_per_s + _two_pole_settle_time(tau_amp, p.r_f_ohm * p.c_f_farad,
                                                             tol)
    pwl = ((0.0, 0.0), (t_step, 0.0), (t_step + 1e-12, i_step))
    res = run(tia(p, i_in_pwl=pwl), Tran(step_s=10e-12, stop_s=t_step + 60e-9))
    t, v = res.data["time [s]"].to_numpy(), res.v("out")
    assert v[-1] == pytest.approx(p.v_ref_volt - dv, rel=1e-3)
    assert _settle_time(t, v, t_step, tol) < bound


@pytest.mark.ngspice
def test_output_clamps_at_swing_limits_for_over_range_input() -> None:
    from circuits.runner import run

    p = DEFAULT_TIA
    res = run(tia(p), DC(source="Iin", start=-3e-3, stop=3e-3, step=50e-6))
    i_in = res.data["i(i-sweep) [A]"].to_numpy()
    v_out = res.v("out")
    knee = p.v_knee_volt
    # never beyond a limit by more than a knee
    assert np.all(v_out >= p.v_out_min_volt - knee)
    assert np.all(v_out <= p.v_out_max_volt + knee)
    # the op-amp's output stage (the pin less the drop on r_out; the load current is
    # the input current) falls monotonically and, well over range, sits at its limit
    stage = v_out - i_in * p.r_out_ohm
    assert np.all(np.diff(stage) <= 1e-9)
    over = np.abs(i_in) >= 1e-3
    stage = stage[over]
    limit = np.where(i_in[over] > 0, p.v_out_min_volt, p.v_out_max_volt)
    np.testing.assert_allclose(stage, limit, atol=knee)
    # saturated: the transimpedance has collapsed from R_f to about r_out
    slope = np.abs(np.diff(v_out[i_in >= 1e-3]) / np.diff(i_in[i_in >= 1e-3]))
    assert np.all(slope < 2 * p.r_out_ohm)


def test_tia_for_current_puts_the_linear_range_end_there() -> None:
    p = tia_for_current(1.5e-3)
    assert p.i_linear_max_a == pytest.approx(1.5e-3, rel=1e-12)
    assert p.r_f_ohm * p.c_f_farad == pytest.approx(DEFAULT_TIA.r_f_ohm * DEFAULT_TIA.c_f_farad)
    assert tia_for_current(DEFAULT_TIA.i_linear_max_a).r_f_ohm == pytest.approx(800.0)
    with pytest.raises(ConfigError, match="stays linear up to 3.75 mA at most; 5 mA asked"):
        tia_for_current(5e-3)


SINGLE_SUPPLY_OFFSET = TIAParams(v_ref_volt=0.55, v_out_min_volt=0.1, v_out_max_volt=1.0,
                                 v_os_volt=-3e-3, a0_db=60.0, r_f_ohm=8000.0)


@pytest.mark.ngspice
@pytest.mark.parametrize("p", [DEFAULT_TIA, dataclasses.replace(DEFAULT_TIA, v_os_volt=2e-3),
                               SINGLE_SUPPLY_OFFSET], ids=["default", "offset", "single"])
def test_dc_model_of_the_readout_matches_ngspice(p: TIAParams) -> None:
    """The figures the tile's TIA readout model takes from ``TIAParams`` (input
    resistance, held input voltage, transimpedance, output offset) are the circuit's.
    Over the middle half of the linear range, measured: r_in within 3.3e-7, the rest
    within 4e-10 (``cosim.calibration.tia.dc_model``)."""
    from cosim.calibration.tia import dc_model

    m = dc_model(p, span=0.5)
    assert m.r_in_ohm == pytest.approx(p.r_in_ohm, rel=1e-5)
    assert m.transimpedance_ohm == pytest.approx(p.transimpedance_ohm, rel=1e-8)
    assert m.v_in0_volt == pytest.approx(p.v_in0_volt, abs=1e-10)
    assert m.v_out0_volt == pytest.approx(p.v_in0_volt, abs=1e-10)   # no current, no drop
    assert m.max_nonlinearity_volt < 1e-9


@pytest.mark.ngspice
def test_two_readouts_share_a_netlist() -> None:
    from circuits.runner import run

    g = (29.22e-6, 10e-6)
    body = ["Vin row 0 DC 0.2"]
    for c, gc in enumerate(g):
        body.append(f"Rcell{c} row sense{c} {1 / gc:.10g}")
        body += tia_readout_lines(DEFAULT_TIA, str(c), f"sense{c}", f"out{c}")
    net = Netlist(title="two columns", body=tuple(body), models=(MODEL_FILE,))
    res = run(net, DC(source="Vin", start=0.0, stop=0.2, step=0.1))
    for c, gc in enumerate(g):
        assert res.i(f"Vf{c}")[-1] == pytest.approx(0.2 * gc, rel=1e-3)
        assert res.v(f"out{c}")[-1] == pytest.approx(-0.2 * gc * DEFAULT_TIA.r_f_ohm, rel=1e-3)


@pytest.mark.ngspice
def test_written_bench_transient_steps_the_output_by_minus_rf_times_step(tmp_path: Path) -> None:
    """``cosim netlist tia`` then ``cosim simulate --tran``: the output moves, by -R_f * I."""
    deck = tmp_path / "bench" / "tia.cir"
    runner = CliRunner()
    assert runner.invoke(main, ["netlist", "tia", "-o", str(deck)]).exit_code == 0
    run_dir = tmp_path / "run"
    result = runner.invoke(main, ["simulate", str(deck), "--tran", "10p", "40n",
                                  "-o", str(run_dir)])
    assert result.exit_code == 0, result.output
    data = pd.read_csv(run_dir / "results.csv")
    t, v = data["time [s]"].to_numpy(), data["v(out) [V]"].to_numpy()
    before = v[t < DEFAULT_STEP.delay_s]
    after = v[t > DEFAULT_STEP.delay_s + 25e-9]          # > 12 ns settling, see tia.py
    expected = -DEFAULT_TIA.r_f_ohm * DEFAULT_STEP.i_step_a   # -80 mV
    np.testing.assert_allclose(before, 0.0, atol=1e-6)
    np.testing.assert_allclose(after, expected, rtol=2e-3)    # finite gain: -1e-4 of it
    assert len(after) > 0 and len(before) > 0
