"""The thin CLI: bad input gives one line naming the problem and exit code 2, never a traceback.

Commands covered: ``netlist`` (crossbar, tia, vcmac, golden), ``simulate``, ``waves``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from cosim.cli import main

RC_DECK = """* RC low-pass
V1 in 0 PULSE(0 1 0 1n 1n 1 2)
R1 in out 1k
C1 out 0 1n
.tran 1n 1u
.end
"""


def invoke(*args: str, env: dict | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit code 2, a single 'error: ...' line on stderr naming each fragment, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- cosim netlist -----------------------------------------------------------------------

def test_rows_zero_is_refused(tmp_path: Path) -> None:
    result = invoke("netlist", "crossbar", "--rows", "0", "-o", tmp_path / "x.cir")
    assert_one_line_error(result, "rows", "got 0")
    assert not (tmp_path / "x.cir").exists()


def test_negative_conductance_is_refused(tmp_path: Path) -> None:
    result = invoke("netlist", "crossbar", "--set", "rram.g_hrs_siemens=-1u",
                    "-o", tmp_path / "x.cir")
    assert_one_line_error(result, "g_hrs_siemens", "-1e-06")


def test_unknown_switch_code_is_refused(tmp_path: Path) -> None:
    result = invoke("netlist", "vcmac", "--set", "code=16", "-o", tmp_path / "v.cir")
    assert_one_line_error(result, "switch code 16", "0..15")


def test_unknown_parameter_suggests_the_close_one(tmp_path: Path) -> None:
    result = invoke("netlist", "tia", "--set", "r_f_ohms=1k", "-o", tmp_path / "t.cir")
    assert_one_line_error(result, "unknown TIAParams parameter 'r_f_ohms'",
                          "did you mean 'r_f_ohm'")


def test_unknown_nested_parameter_names_its_path(tmp_path: Path) -> None:
    result = invoke("netlist", "crossbar", "--set", "rram.g_lsr_siemens=1u",
                    "-o", tmp_path / "x.cir")
    assert_one_line_error(result, "'rram.g_lsr_siemens'", "g_lrs_siemens")


def test_value_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    result = invoke("netlist", "vcmac", "--set", "n_columns=three", "-o", tmp_path / "v.cir")
    assert_one_line_error(result, "n_columns takes a int", "'three'")


def test_tia_netlist_is_written_with_models_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "deck" / "tia.cir"
    result = invoke("netlist", "tia", "--set", "r_f_ohm=1k", "--set", "c_f_farad=0", "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "Rf tfb out 1000" in text and "Cf" not in text
    assert '.include "opamp.lib"' in text
    assert (out.parent / "opamp.lib").is_file()
    assert str(tmp_path) not in text


def test_crossbar_netlist_uses_rows_cols_and_seed(tmp_path: Path) -> None:
    a, b = tmp_path / "a.cir", tmp_path / "b.cir"
    assert invoke("netlist", "crossbar", "--rows", "3", "--cols", "2", "--seed", "7",
                  "--set", "cell=1T1R", "-o", a).exit_code == 0
    assert invoke("netlist", "crossbar", "--rows", "3", "--cols", "2", "--seed", "7",
                  "--set", "cell=1T1R", "-o", b).exit_code == 0
    assert a.read_text() == b.read_text()
    assert ".include" in a.read_text()


def test_golden_check_reports_stale_files(tmp_path: Path) -> None:
    assert invoke("netlist", "golden", "--dir", tmp_path).exit_code == 0
    assert invoke("netlist", "golden", "--dir", tmp_path, "--check").exit_code == 0
    (tmp_path / "tia.cir").write_text("* edited\n")
    result = invoke("netlist", "golden", "--dir", tmp_path, "--check")
    assert_one_line_error(result, "tia", "cosim netlist golden")


# --- cosim simulate: refusals before any simulation -----------------------------------------

def test_missing_netlist_is_one_line(tmp_path: Path) -> None:
    result = invoke("simulate", tmp_path / "nope.cir", "--op")
    assert_one_line_error(result, "cannot read netlist", "nope.cir", "no such file")


def test_binary_netlist_is_one_line(tmp_path: Path) -> None:
    deck = tmp_path / "b.cir"
    deck.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00")
    assert_one_line_error(invoke("simulate", deck, "--op"), "binary file")


def test_control_block_is_refused(tmp_path: Path) -> None:
    deck = tmp_path / "c.cir"
    deck.write_text("* t\nV1 a 0 1\nR1 a 0 1k\n.control\nshell touch pwned\n.endc\n.end\n")
    result = invoke("simulate", deck, "--op", "-o", tmp_path / "run")
    assert_one_line_error(result, "c.cir:4", ".control", "shell commands", "--allow-control")
    assert not (tmp_path / "run").exists()


def test_exactly_one_analysis_is_required(tmp_path: Path) -> None:
    deck = tmp_path / "rc.cir"
    deck.write_text(RC_DECK)
    assert_one_line_error(invoke("simulate", deck), "choose exactly one analysis")
    assert_one_line_error(invoke("simulate", deck, "--op", "--tran", "1n", "1u"),
                          "choose exactly one analysis")


def test_dc_sweep_of_unknown_source_is_refused(tmp_path: Path) -> None:
    deck = tmp_path / "rc.cir"
    deck.write_text(RC_DECK)
    result = invoke("simulate", deck, "--dc", "V2", "0", "1", "0.1")
    assert_one_line_error(result, "'V2' is not a top-level V or I source")


def test_missing_ngspice_is_one_line(tmp_path: Path) -> None:
    deck = tmp_path / "rc.cir"
    deck.write_text(RC_DECK)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = invoke("simulate", deck, "--op", "-o", tmp_path / "run",
                    env={"PATH": str(empty), "NGSPICE": None})
    assert_one_line_error(result, "ngspice not found")


def test_ngspice_path_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    deck = tmp_path / "rc.cir"
    deck.write_text(RC_DECK)
    result = invoke("simulate", deck, "--op", "-o", tmp_path / "run",
                    env={"NGSPICE": str(tmp_path / "no" / "ngspice")})
    assert_one_line_error(result, "ngspice")


# --- cosim simulate and waves with ngspice ---------------------------------------------------

@pytest.mark.ngspice
def test_simulate_tran_then_waves(tmp_path: Path) -> None:
    deck = tmp_path / "rc.cir"
    deck.write_text(RC_DECK)
    run = tmp_path / "run"
    result = invoke("simulate", deck, "--tran", "10n", "2u", "-o", run, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["removed_analysis_lines"] == [".tran 1n 1u"]
    data = pd.read_csv(run / "results.csv")
    assert list(data.columns[:1]) == ["time [s]"]
    assert "v(out) [V]" in data.columns and "i(v1) [A]" in data.columns
    assert data["v(out) [V]"].iloc[-1] == pytest.approx(1 - 2.718281828 ** -2, abs=0.02)
    assert (run / "waves.png").is_file() and (run / "waves.svg").is_file()
    for name in ("results.csv", "manifest.json", "spice/deck.cir", "waves.svg"):
        assert str(tmp_path) not in (run / name).read_text(), name

    plot = tmp_path / "w.svg"
    result = invoke("waves", run, "--signal", "V(OUT)", "--signal", "i(v1) [A]", "-o", plot)
    assert result.exit_code == 0, result.output
    assert plot.read_text().startswith("<?xml")

    result = invoke("waves", run, "--signal", "v(outt)", "-o", tmp_path / "w.png")
    assert_one_line_error(result, "unknown signal 'v(outt)'", "did you mean 'v(out)'")
    result = invoke("waves", run, "--signal", "v(out)", "-o", tmp_path / "w.pdf")
    assert_one_line_error(result, ".png or .svg")


@pytest.mark.ngspice
def test_simulate_dc_sweep_of_generated_tia(tmp_path: Path) -> None:
    deck = tmp_path / "gen" / "tia.cir"
    assert invoke("netlist", "tia", "-o", deck).exit_code == 0
    run = tmp_path / "run"
    result = invoke("simulate", deck, "--dc", "Iin", "-100u", "100u", "50u", "-o", run)
    assert result.exit_code == 0, result.output
    data = pd.read_csv(run / "results.csv")
    assert len(data) == 5
    assert (run / "spice" / "opamp.lib").is_file()
    # V_out = V_ref - I * R_f with R_f = 800 ohm
    assert data["v(out) [V]"].iloc[-1] == pytest.approx(-0.08, rel=0.01)


@pytest.mark.ngspice
def test_simulate_op_of_generated_crossbar(tmp_path: Path) -> None:
    deck = tmp_path / "xbar.cir"
    assert invoke("netlist", "crossbar", "--rows", "2", "--cols", "2", "-o", deck).exit_code == 0
    result = invoke("simulate", deck, "--op", "-o", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)["values"]
    assert any(k.startswith("i(vsense") for k in values)


@pytest.mark.ngspice
def test_waves_refuses_an_operating_point(tmp_path: Path) -> None:
    deck = tmp_path / "rc.cir"
    deck.write_text(RC_DECK)
    assert invoke("simulate", deck, "--op", "-o", tmp_path / "run").exit_code == 0
    result = invoke("waves", tmp_path / "run", "--signal", "v(out)", "-o", tmp_path / "w.png")
    assert_one_line_error(result, "1 point(s)")


def test_waves_without_results_is_one_line(tmp_path: Path) -> None:
    result = invoke("waves", tmp_path, "--signal", "v(out)", "-o", tmp_path / "w.png")
    assert_one_line_error(result, "no results table")


@pytest.mark.ngspice
def test_allow_control_runs_a_trusted_deck(tmp_path: Path) -> None:
    deck = tmp_path / "c.cir"
    deck.write_text("* t\nV1 a 0 1\nR1 a 0 1k\n.control\necho trusted-deck-ran\n.endc\n.end\n")
    run = tmp_path / "run"
    result = invoke("simulate", deck, "--op", "-o", run, "--allow-control")
    assert result.exit_code == 0, result.output
    assert "trusted-deck-ran" in (run / "spice" / "ngspice.log").read_text()


@pytest.mark.ngspice
def test_included_files_are_copied_with_their_layout(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "load.lib").write_text(".include \"r2.lib\"\n")
    (tmp_path / "models" / "r2.lib").write_text("R2 out 0 1k\n")
    deck = tmp_path / "d.cir"
    deck.write_text("* t\n.include \"models/load.lib\"\nV1 in 0 1\nR1 in out 1k\n.end\n")
    run = tmp_path / "run"
    result = invoke("simulate", deck, "--op", "-o", run, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["values"]["v(out) [V]"] == pytest.approx(0.5)
    assert (run / "spice" / "models" / "r2.lib").is_file()
