"""VCMAC: switch codes, parameter checks, netlist text, and its ratios in ngspice.

The ngspice tests check the NF paper's claim (Fig. 3d: ratio within 1 % for
nominal ratios 1.1 to 2.0 over the input current range) on a coarse sweep,
that all 16 codes are reported, and that a 3-column chain sums
``s**2 I0 + s I1 + I2``. With seeded Pelgrom mismatch (``a_vt_volt_m > 0``)
they check that the ratio error becomes measurable and is reproducible.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from circuits.analyses import Op
from circuits.errors import ConfigError
from circuits.vcmac import (
    CODES,
    TYPICAL_A_VT_VOLT_M,
    CurrentSweep,
    VCMACParams,
    code_bits,
    mismatch_shifts_volt,
    nominal_ratio,
    vcmac_chain,
    vcmac_stage,
)
from cosim.cli import main

COARSE_POINTS = 5
"""Currents per code in the simulator tests (0.1, 0.32, 1, 3.2, 10 uA): keeps them fast."""

# ------------------------------------------------------------- codes and params


def test_nominal_ratios_step_by_0_1_from_1_to_2_5() -> None:
    s = [nominal_ratio(c) for c in CODES]
    assert s == pytest.approx(np.round(np.arange(1.0, 2.51, 0.1), 10), abs=1e-12)
    assert code_bits(10) == (1, 0, 1, 0)
    assert nominal_ratio(0b1010) == 2.0
    assert code_bits(np.int64(15)) == (1, 1, 1, 1)


@pytest.mark.parametrize("code", [16, -1, 2.5, "C4", True, None])
def test_unknown_switch_code_is_refused_by_name(code: object) -> None:
    with pytest.raises(ConfigError, match=r"switch code .*0\.\.15") as info:
        VCMACParams(code=code)
    assert repr(code) in str(info.value)
    with pytest.raises(ConfigError):
        nominal_ratio(code)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [
    ("n_columns", 0),
    ("n_columns", 17),
    ("current_scale", 0.3),      # 1/0.3 is not a whole number of unit devices
    ("current_scale", 0.0),
    ("v_ref_volt", 1.05),        # no headroom for the PMOS mirror
    ("nmos_l_um", 0.01),
    ("amp_a0", 0.5),
    ("amp_v_out_max_volt", 1.5),  # above VDD
    ("i_in_a", -1e-6),
    ("a_vt_volt_m", -1e-9),
    ("a_vt_volt_m", 1e-6),       # 1000 mV*um: not a CMOS process
    ("mismatch_seed", -1),
    ("mismatch_seed", 1.5),
])
def test_invalid_params_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        VCMACParams(**{field: value})


def test_current_sweep_checks_and_currents() -> None:
    sw = CurrentSweep(i_lo_a=1e-7, i_hi_a=1e-5, points=3)
    assert sw.currents_a() == pytest.approx([1e-7, 1e-6, 1e-5])
    assert sw.analysis().line() == ".dc Vlog 0 2 1"
    with pytest.raises(ConfigError, match="points"):
        CurrentSweep(points=1)
    with pytest.raises(ConfigError, match="i_hi_a"):
        CurrentSweep(i_lo_a=1e-6, i_hi_a=1e-6)


# ------------------------------------------------------------------ netlist text


def test_generators_are_deterministic_and_portable() -> None:
    p = VCMACParams(n_columns=3, code=7)
    assert vcmac_chain(p).text() == vcmac_chain(VCMACParams(n_columns=3, code=7)).text()
    assert vcmac_stage(p).text() == vcmac_stage(p).text()
    text = vcmac_chain(p).text()
    assert str(Path.cwd()) not in text and '.include "freepdk45_nom.lib"' in text
    sweep_text = vcmac_stage(p, sweep=CurrentSweep(points=100)).text()
    assert "Bin 0 nin I=1e-07*exp(" in sweep_text and "\nIin " not in sweep_text


def test_codes_change_only_the_switch_drives() -> None:
    a = vcmac_stage(VCMACParams(code=0)).text().splitlines()
    b = vcmac_stage(VCMACParams(code=15)).text().splitlines()
    changed = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    assert all(x.startswith(("*", "VC")) for x, _ in changed), changed
    assert "VC4 c4 0 DC 1.1" in b and "VC4b c4b 0 DC 0" in b


def test_mirror_unit_counts_give_the_stage_ratios() -> None:
    text = vcmac_stage(VCMACParams()).text()
    assert "MN0in sl0 g0 0 0 NMOS_VTG W=2u L=1u m=10" in text
    assert "MN0s d0 g0 0 0 NMOS_VTG W=2u L=1u m=1" in text
    for j, m in enumerate((10, 8, 4, 2, 1)):
        assert f"MP0o{j} x0_{j} pg0 vdd vdd PMOS_VTG W=2u L=1u m={m}" in text


def test_chain_has_one_input_per_column_and_one_output() -> None:
    text = vcmac_chain(VCMACParams(n_columns=3), [1e-6, 2e-6, 3e-6]).text()
    for k, i in enumerate(("1e-06", "2e-06", "3e-06")):
        assert f"Iin{k} 0 sl{k} DC {i}" in text
    assert "Vout sl2 0 DC 0.5" in text
    assert "MP0o0 x0_0" in text and "MP1o0 x1_0" in text and "MP2o0" not in text
    with pytest.raises(ConfigError, match="3 columns"):
        vcmac_chain(VCMACParams(n_columns=3), [1e-6, 2e-6])
    with pytest.raises(ConfigError, match=r"currents_a\[1\]"):
        vcmac_chain(VCMACParams(n_columns=2), [1e-6, -1e-6])


# ---------------------------------------------------------------------- ngspice


@pytest.fixture(scope="module")
def coarse_summary():
    from cosim.calibration.vcmac import characterise_vcmac, default_currents

    return characterise_vcmac(VCMACParams(), default_currents(COARSE_POINTS), workers=2)


@pytest.mark.ngspice
def test_all_16_codes_are_reported(coarse_summary) -> None:
    from cosim.calibration.vcmac import SUMMARY_COLUMNS

    assert list(coarse_summary.columns) == list(SUMMARY_COLUMNS)
    assert coarse_summary["code"].tolist() == list(CODES)
    assert coarse_summary["nominal"].to_numpy() == pytest.approx([nominal_ratio(c) for c in CODES])
    assert (coarse_summary["points"] == COARSE_POINTS).all()
    assert np.isfinite(coarse_summary[["measured", "rel_error", "max_rel_error"]]).all().all()


@pytest.mark.ngspice
def test_ratio_within_1_percent_for_nominal_1_1_to_2_0(coarse_summary) -> None:
    from cosim.calibration.vcmac import within_target

    sel = coarse_summary[(coarse_summary["nominal"] >= 1.1 - 1e-9)
                         & (coarse_summary["nominal"] <= 2.0 + 1e-9)]
    assert sel["code"].tolist() == list(range(1, 11))
    assert (sel["rel_error"].abs() <= 0.01).all(), sel
    # not only the mean: every current of the sweep is within 1 %
    assert (sel["max_rel_error"] <= 0.01).all(), sel
    assert within_target(coarse_summary)


@pytest.mark.ngspice
def test_stage_holds_the_input_node_at_v_ref() -> None:
    from circuits.runner import run

    p = VCMACParams(code=5, i_in_a=2e-6)
    res = run(vcmac_stage(p), Op())
    ratio = res.i("Vout")[0] / res.i("Vsense_in")[0]
    assert res.i("Vsense_in")[0] == pytest.approx(2e-6, rel=1e-9)
    assert ratio == pytest.approx(1.5, rel=0.01)
    assert res.v("sl0")[0] == pytest.approx(p.v_ref_volt, abs=1e-3)


@pytest.mark.ngspice
@pytest.mark.parametrize(("code", "currents_a"), [
    (10, (1e-6, 2e-6, 3e-6)),
    (1, (5e-6, 0.2e-6, 1e-6)),
    (15, (0.1e-6, 10e-6, 0.0)),
])
def test_chain_of_3_sums_s2_i0_plus_s_i1_plus_i2(code: int, currents_a: tuple) -> None:
    from circuits.runner import run

    p = VCMACParams(n_columns=3, code=code)
    s = p.nominal
    i0, i1, i2 = currents_a
    expected = s * s * i0 + s * i1 + i2
    got = run(vcmac_chain(p, currents_a), Op()).i("Vout")[0]
    # each stage is within 1 % of s, so the sum is within about 2 %; the design does far better
    assert got == pytest.approx(expected, rel=0.01)


@pytest.mark.ngspice
def test_cli_json_is_one_object_and_the_run_folder_is_written(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cosim.cli import main

    run_dir = tmp_path / "vc"
    result = CliRunner().invoke(main, ["vcmac-characterise", "-o", str(run_dir), "--json",
                                       "--points", "3"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # exactly one JSON value, nothing else
    assert set(payload) == {"codes", "run_dir"}
    assert [c["code"] for c in payload["codes"]] == list(CODES)
    assert set(payload["codes"][0]) == {"code", "nominal", "measured", "rel_error"}
    assert Path(payload["run_dir"]) == run_dir
    for name in ("vcmac_ratios.csv", "vcmac_ratios.png", "vcmac_ratios.svg", "manifest.json"):
        assert (run_dir / name).is_file(), name


def test_cli_refuses_too_few_points(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cosim.cli import main

    result = CliRunner().invoke(main, ["vcmac-characterise", "-o", str(tmp_path), "--points", "1"])
    assert result.exit_code == 2
    assert "--points" in result.output


def test_params_replace_keeps_validation() -> None:
    with pytest.raises(ConfigError, match="switch code"):
        dataclasses.replace(VCMACParams(), code=99)


# ------------------------------------------------------------- device mismatch

MISMATCH_SEEDS = (0, 1, 2)
MEASURED_CODES = tuple(range(1, 11))
"""Codes with nominal ratio 1.1 .. 2.0, the range the NF paper measured."""


def _mismatched(seed: int = 0, **kw) -> VCMACParams:
    return VCMACParams(a_vt_volt_m=TYPICAL_A_VT_VOLT_M, mismatch_seed=seed, **kw)


def test_zero_a_vt_keeps_the_multiplier_text() -> None:
    # the golden test diffs the whole chain; here: the defaults are explicit zeros
    assert vcmac_stage(VCMACParams(a_vt_volt_m=0.0, mismatch_seed=7)).text() \
        == vcmac_stage(VCMACParams()).text()
    assert "delvto" not in vcmac_chain(VCMACParams(n_columns=3)).text()


def test_mismatch_gives_every_ratio_unit_its_own_delvto() -> None:
    p = _mismatched(seed=3)
    text = vcmac_stage(p).text()
    lines = text.splitlines()
    # 10 + 1 NMOS scaling units, 1 + 25 PMOS mirror units
    shifted = [ln for ln in lines if "delvto=" in ln]
    assert len(shifted) == 37
    assert not any(" m=" in ln for ln in shifted)
    assert sum(ln.startswith("MN0in_") for ln in lines) == 10
    assert sum(ln.startswith("MP0o0_") for ln in lines) == 10
    assert sum(ln.startswith("MP0o4_") for ln in lines) == 1
    # switches and the dump sink keep their multiplier
    assert "MN0d dump0 gd0 0 0 NMOS_VTG W=2u L=1u m=15" in text
    assert "MS0o0a x0_0 vdd out 0 NMOS_VTG W=0.2u L=0.05u m=10" in text
    dvt = [float(ln.rsplit("delvto=", 1)[1]) for ln in shifted]
    assert dvt == pytest.approx(mismatch_shifts_volt(p, 1)[0].tolist(), rel=1e-9)


def test_mismatch_sigma_follows_pelgrom() -> None:
    p = _mismatched()
    sigma = TYPICAL_A_VT_VOLT_M / np.sqrt(2e-6 * 1e-6)
    assert p.sigma_vt_volt(2.0, 1.0) == pytest.approx(sigma)
    assert sigma == pytest.approx(2.475e-3, rel=1e-3)  # 3.5 mV*um / sqrt(2 um^2)
    shifts = mismatch_shifts_volt(dataclasses.replace(p, mismatch_seed=11), 200)
    assert shifts.shape == (200, 37)
    assert shifts.std() == pytest.approx(sigma, rel=0.03)
    assert abs(shifts.mean()) < 0.1 * sigma


def test_same_seed_same_netlist_other_seed_other_netlist() -> None:
    assert vcmac_stage(_mismatched(5)).text() == vcmac_stage(_mismatched(5)).text()
    assert vcmac_stage(_mismatched(5)).text() != vcmac_stage(_mismatched(6)).text()
    # the chain draws one row per column: columns differ, column 0 is the stage's
    chain = vcmac_chain(_mismatched(5, n_columns=3)).text()
    assert chain.count("delvto=") == 2 * 37
    row = mismatch_shifts_volt(_mismatched(5), 2)
    assert not np.allclose(row[0], row[1])


def default_currents_coarse() -> np.ndarray:
    from cosim.calibration.vcmac import default_currents

    return default_currents(COARSE_POINTS)


@pytest.fixture(scope="module")
def mismatch_summaries():
    from cosim.calibration.vcmac import summarise_vcmac, vcmac_ratio_curves

    return {seed: summarise_vcmac(vcmac_ratio_curves(
        _mismatched(seed), default_currents_coarse(), codes=MEASURED_CODES, workers=2))
        for seed in MISMATCH_SEEDS}


@pytest.mark.ngspice
def test_mismatch_makes_the_ratio_error_measurable(coarse_summary, mismatch_summaries) -> None:
    from cosim.calibration.vcmac import mean_abs_error

    ideal = mean_abs_error(coarse_summary)
    assert ideal < 0.001  # identical units: systematic error only (about 0.02 %)
    for seed, summary in mismatch_summaries.items():
        assert summary["code"].tolist() == list(MEASURED_CODES)
        assert summary["rel_error"].abs().max() > 0.001, seed
        assert mean_abs_error(summary) > 3 * ideal, seed


@pytest.mark.ngspice
def test_mismatch_mean_error_for_a_few_seeds_is_in_a_sane_band(mismatch_summaries) -> None:
    """Mean |ratio error| over codes 1.1 .. 2.0 with A_VT = 3.5 mV*um.

    Expected size: sigma_VT = 3.5 mV*um / sqrt(2 um^2) = 2.5 mV per unit
    device; the unit currents (0.01 .. 1 uA per 2/1 um unit) are in weak to
    moderate inversion, gm/I_D about 10 .. 30 /V, so one unit's current is off
    by 2.5 .. 7.4 % (1 sigma). The ratio of every code shares the error of the
    two single-unit reference devices (``MN0s``, ``MP0r``), a gain error of
    about sqrt(2) times that, 3.5 .. 10 %; the multi-unit devices average out.
    So a die's mean |error| is a few percent: the band 0.1 % (3x the
    mismatch-free 0.03 %) .. 10 % catches a lost or unit-confused A_VT
    (mV vs V is a factor 1000). The seeds are fixed, so the values are too.
    """
    from cosim.calibration.vcmac import mean_abs_error

    errors = {seed: mean_abs_error(s) for seed, s in mismatch_summaries.items()}
    print("\nmean |ratio error|, codes 1.1-2.0, A_VT 3.5 mV*um: "
          + ", ".join(f"seed {k}: {100 * v:.3f} %" for k, v in errors.items()))
    for seed, err in errors.items():
        assert 0.001 < err < 0.10, (seed, err)
    assert len({round(e, 9) for e in errors.values()}) == len(errors)


@pytest.mark.ngspice
def test_mismatch_results_are_reproducible(mismatch_summaries) -> None:
    from cosim.calibration.vcmac import summarise_vcmac, vcmac_ratio_curves

    again = summarise_vcmac(vcmac_ratio_curves(_mismatched(MISMATCH_SEEDS[0]),
                                               default_currents_coarse(),
                                               codes=(1, 10), workers=2))
    first = mismatch_summaries[MISMATCH_SEEDS[0]].set_index("code").loc[[1, 10]]
    assert again["measured"].to_numpy() == pytest.approx(first["measured"].to_numpy(),
                                                         rel=1e-12)


def test_mismatch_params_convert_mv_um_and_refuse_negative() -> None:
    from cosim.calibration.vcmac import mismatch_params

    p = mismatch_params(3.5, seed=4)
    assert p.a_vt_volt_m == pytest.approx(TYPICAL_A_VT_VOLT_M)
    assert p.mismatch_seed == 4
    with pytest.raises(ConfigError, match="a_vt_volt_m"):
        mismatch_params(-1.0)


def test_cli_refuses_negative_a_vt(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cosim.cli import main

    result = CliRunner().invoke(main, ["vcmac-characterise", "-o", str(tmp_path),
                                       "--a-vt", "-3"])
    assert result.exit_code == 2
    assert "--a-vt" in result.output


@pytest.mark.ngspice
def test_cli_sets_mismatch_and_records_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cosim.cli import main

    run_dir = tmp_path / "vc"
    result = CliRunner().invoke(main, ["vcmac-characterise", "-o", str(run_dir), "--json",
                                       "--points", "2", "--a-vt", "3.5",
                                       "--mismatch-seed", "1"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert max(abs(c["rel_error"]) for c in payload["codes"]) > 0.001
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["params"]["a_vt_volt_m"] == pytest.approx(3.5e-9)
    assert manifest["params"]["mismatch_seed"] == 1
    assert manifest["mean_abs_rel_error_nominal_1.1_to_2.0"] > 0.001


@pytest.mark.ngspice
def test_written_chain_bench_ramps_with_a_dc_sweep_of_its_input(tmp_path: Path) -> None:
    """``cosim netlist vcmac`` then ``cosim simulate --dc``: the output follows an input ramp.

    Column 0 of 3 carries weight ``s**2`` (4 at the default code 10), the other
    two inputs stay at their DC value of 1 uA each. The ramp is a DC sweep: the
    regulation amplifiers are memoryless (no dynamics), and a transient ramp of
    the chain rings at milliamperes in ngspice 39, so the bench has no PWL.
    """
    deck = tmp_path / "bench" / "vcmac.cir"
    runner = CliRunner()
    made = runner.invoke(main, ["netlist", "vcmac", "--set", "n_columns=3", "-o", str(deck)])
    assert made.exit_code == 0, made.output
    assert "Iin0 0 sl0 DC 1e-06" in deck.read_text()      # .op sees a sensible input
    run_dir = tmp_path / "run"
    result = runner.invoke(main, ["simulate", str(deck), "--dc", "Iin0", "0.5u", "2u", "0.5u",
                                  "-o", str(run_dir)])
    assert result.exit_code == 0, result.output
    data = pd.read_csv(run_dir / "results.csv")
    i_in, i_out = data["i(i-sweep) [A]"].to_numpy(), data["i(vout) [A]"].to_numpy()
    np.testing.assert_allclose(i_in, [0.5e-6, 1e-6, 1.5e-6, 2e-6], rtol=1e-12)
    s = nominal_ratio(VCMACParams().code)
    np.testing.assert_allclose(np.diff(i_out) / np.diff(i_in), s**2, rtol=1e-3)
    np.testing.assert_allclose(i_out, s**2 * i_in + (s + 1) * 1e-6, rtol=1e-3)
