"""The main job: configuration handling and one quick end-to-end run."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError
from cosim.cli import main
from cosim.config import SECTIONS, default_config, load_config, parse_override, set_key
from cosim.stages import STAGES, section_fields


def test_empty_config_is_the_default(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("")
    assert load_config(path) == default_config()


def test_toml_keys_are_typed_and_merged(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[haq]\nn_bits = 8\namp_ratio = 2\n[run]\nstages = ['tia']\n")
    config = load_config(path)
    assert config["haq"]["n_bits"] == 8
    assert config["haq"]["amp_ratio"] == 2.0 and isinstance(config["haq"]["amp_ratio"], float)
    assert config["run"]["stages"] == ["tia"]
    assert config["vcmac"] == default_config()["vcmac"]


@pytest.mark.parametrize("text, message", [
    ("[hqa]\nn_bits = 8\n", "did you mean 'haq'"),
    ("[haq]\nn_bit = 8\n", "did you mean 'n_bits'"),
    ("[haq]\nn_bits = 'eight'\n", "whole number"),
    ("[haq\n", "not valid TOML"),
])
def test_bad_config_names_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_every_field_of_a_stage_config_is_a_key_and_nothing_else():
    # The sections come from the stages' dataclasses: each real field can be set
    # (haq.hrs_noise was refused before, now hardware.noise.write_hrs), and no key is
    # accepted and ignored (vcmac.code was).
    config = default_config()
    assert set(config) == set(SECTIONS) == {"run", "hardware", "sim", *STAGES}
    for section in SECTIONS:
        if section == "hardware":
            continue
        for key, value in section_fields(section).items():
            set_key(config, f"{section}.{key}", value, where="test")
    set_key(config, "hardware.noise.write_hrs", 0.1, where="test")
    assert config["hardware"]["noise"]["write_hrs"] == 0.1
    with pytest.raises(ConfigError, match="unknown config key 'vcmac.code'"):
        set_key(config, "vcmac.code", 5, where="test")
    assert "seed" not in config["haq"]  # the HAQ test takes run.seed


def test_every_field_of_the_hardware_is_a_key():
    """Every field the config's [hardware] table shows (as `cosim hardware show` prints
    it) can be set by its dotted path, ``none`` for an unset optional value."""

    def leaves(table, prefix):
        for key, value in table.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    config = default_config()
    for key, value in leaves(default_config()["hardware"], "hardware."):
        set_key(config, key, "none" if value is None else value, where="test")
    assert config["hardware"] == default_config()["hardware"]


@pytest.mark.slow
def test_a_set_key_reaches_the_stage(tmp_path):
    # The HRS write noise changes the written cells, so the run's HAQ RMSE must change.
    rmse = []
    for i, extra in enumerate(([], ["--set", "hardware.noise.write_hrs=2.0"])):
        out = tmp_path / f"r{i}"
        result = CliRunner().invoke(main, [
            "run", "--stages", "haq", "-o", str(out), "--no-progress",
            "--set", "sim.backend=ideal", "--set", "haq.read_cycles=0",
            "--set", "haq.vector_length=20", "--set", "haq.n_outputs=5",
            "--set", "haq.n_vectors=10", *extra])
        assert result.exit_code == 0, result.output
        rmse.append(json.loads((out / "manifest.json").read_text())
                    ["stages"]["haq"]["summary"]["rmse_haq"])
    assert rmse[0] != rmse[1]


def test_settings_that_fail_together_are_refused_before_any_stage(tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["run", "-o", str(out),
                                       "--set", "hardware.aggregation.kind=analog",
                                       "--set", "haq.amp_ratio=1.05"])
    assert result.exit_code == 2 and "VCMAC cannot set" in result.output
    assert not out.exists()


def test_override_parsing():
    config = load_config(None)
    set_key(config, *parse_override("hardware.noise.write=0.1"), where="test")
    assert config["hardware"]["noise"]["write"] == 0.1
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override("n_bits=3")


def test_missing_config_file_is_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "cannot read config" in result.output
    assert "Traceback" not in result.output


def test_unknown_stage_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["run", "--stages", "tia,haqq", "-o", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "unknown stage 'haqq'" in result.output


QUICK = ["--set", "vcmac.points=12", "--set", "vcmac.settle_codes=5",
         "--set", "haq.read_cycles=5", "--set", "haq.n_vectors=20",
         "--set", "haq.n_outputs=8", "--set", "haq.vector_length=40",
         "--set", "report.simulate=false", "--no-progress"]


@pytest.mark.ngspice
def test_main_job_writes_report_and_reproduces_from_manifest(tmp_path):
    run_dir = tmp_path / "run"
    # The workload stages (field, snn) are tested on their own (tests/workloads/field/, test_snn_*).
    result = CliRunner().invoke(main, ["run", "-o", str(run_dir), "--stages",
                                       "tia,vcmac,haq,baseline,report", *QUICK,
                                       "--set", "baseline.min_time_s=0",
                                       "--set", "baseline.max_batch=100"])
    assert result.exit_code == 0, result.output
    page = (run_dir / "report.html").read_text()
    assert page.count('<article class="card"') == 1 and "HAQ matrix-vector test" in page
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert all(s["status"] == "done" for s in manifest["stages"].values())
    assert set(manifest["stages"]) == {"tia", "vcmac", "haq", "baseline", "report"}
    # the baseline stage timed the network the haq stage ran, so the report prices it
    ratios = pd.read_csv(run_dir / "report" / "ratios.csv")
    assert "measured_cpu" in set(ratios["baseline"])
    # the one-screen summary at the end: a row per stage with its metric and time
    table = result.output[result.output.index("stage     metric"):]
    for name in ("tia", "vcmac", "haq", "baseline", "report", "total"):
        assert re.search(rf"^{name}\s", table, re.M), name
    assert re.search(r"^haq\s+RMSE\s+–\s+[\d.]+\s+[\d.]+\s+realistic\s+[\d.]+ s$", table,
                     re.M)
    assert manifest["versions"]["ngspice"].startswith("ngspice")
    haq = manifest["stages"]["haq"]["summary"]
    assert haq["rmse_haq"] < haq["rmse_ptq"]

    again = tmp_path / "again"
    result = CliRunner().invoke(main, ["run", str(run_dir / "manifest.json"), "-o", str(again),
                                       "--stages", "haq", "--no-progress"])
    assert result.exit_code == 0, result.output
    rerun = json.loads((again / "manifest.json").read_text())["stages"]["haq"]["summary"]
    assert rerun["rmse_haq"] == pytest.approx(haq["rmse_haq"], rel=1e-12)
    assert rerun["rmse_ptq"] == pytest.approx(haq["rmse_ptq"], rel=1e-12)


@pytest.mark.ngspice
def test_run_json_is_one_object_on_stdout(tmp_path):
    result = CliRunner().invoke(main, ["run", "--stages", "tia", "--json", "--no-progress",
                                       "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["stages"]["tia"]["status"] == "done"
    s = obj["stages"]["tia"]["summary"]
    assert "transistor-level" in s["amplifier"]
    # V_out = v_in - I r_f: the gain error is the held input's resistance over r_f
    # (two slopes of one sweep, the output's and the input node's)
    assert s["gain_rel_error"] == pytest.approx(s["r_in_ohm"] / 800.0, rel=0.05)
    assert 0 < s["gain_rel_error"] < 2e-3                       # measured 1.35e-3
    assert 5e-9 < s["settle_time_s"] < 50e-9                    # measured 14.4 ns


def test_side_by_side_groups_are_the_runs_of_marked_stages_in_registry_order():
    from cosim.pipeline import _groups

    marked = [n for n, s in STAGES.items() if s.side_by_side]
    assert {"haq", "field", "nerf", "snn"} <= set(marked)
    assert not STAGES["baseline"].side_by_side  # it times this machine: it runs alone
    assert _groups(["tia", "vcmac", "haq", "field", "snn", "baseline", "report"]) == [
        ["tia"], ["vcmac"], ["haq", "field", "snn"], ["baseline"], ["report"]]
    assert _groups(["haq", "report", "snn"]) == [["haq"], ["report"], ["snn"]]


def _untimed(summary):
    """``summary`` without its timings (``timings_s``, per-epoch ``seconds``)."""
    if isinstance(summary, dict):
        return {k: _untimed(v) for k, v in summary.items()
                if k not in ("timings_s", "seconds")}
    if isinstance(summary, list):
        return [_untimed(v) for v in summary]
    return summary


TINY_SNN = ["--set", "snn.n_train=24", "--set", "snn.n_test=12", "--set", "snn.epochs=1",
            "--set", "snn.n_frames=3"]


@pytest.mark.slow
def test_stages_side_by_side_compute_what_they_compute_in_turn(tmp_path):
    """Two workload stages in two worker processes give the numbers they give one after
    the other in this process (each draws from its own seeds), and the summary's total
    row gives the job's wall time."""
    runs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        result = CliRunner().invoke(main, ["run", "-o", str(out), "--stages", "haq,snn",
                                           "--hardware", "paper", "--workers", str(workers),
                                           *QUICK, *TINY_SNN])
        assert result.exit_code == 0, result.output
        assert ("side by side in 2 processes" in result.output) == (workers == 2)
        runs[workers] = json.loads((out / "manifest.json").read_text())
        assert all(s["status"] == "done" for s in runs[workers]["stages"].values())
        assert list(runs[workers]["stages"]) == ["haq", "snn"]  # registry order
        assert (out / "haq").is_dir() and (out / "snn").is_dir()
        m = runs[workers]
        assert m["stages_elapsed_s"] == pytest.approx(
            sum(s["elapsed_s"] for s in m["stages"].values()))
        total = re.search(r"^total\s.*?(\d+) s$", result.output, re.M)
        assert total and int(total.group(1)) == round(m["elapsed_s"])  # the job's wall time
    for name in ("haq", "snn"):
        side, alone = (_untimed(runs[w]["stages"][name]["summary"]) for w in (2, 1))
        assert side == alone
    assert runs[1]["stages"]["snn"]["summary"]["accuracy"] > 0


def test_a_failing_side_by_side_stage_stops_the_job_with_a_one_line_error(tmp_path,
                                                                          monkeypatch):
    """The worker's error row (what the pool yields for a stage that raised) becomes one
    line naming the stage, and the manifest keeps no stage as done that did not end."""
    import cosim.pipeline as pipeline
    from cosim.sweep.executors import ERROR

    class Failing:
        def __init__(self, **_):
            pass

        def submit(self, fn, points):
            yield points[0], {ERROR: "ValueError: broken on purpose"}

    monkeypatch.setattr(pipeline, "LocalBackend", Failing)
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["run", "-o", str(out), "--stages", "haq,snn",
                                       "--hardware", "paper", *QUICK, *TINY_SNN])
    assert result.exit_code == 2
    assert "error: stage snn failed: ValueError: broken on purpose" in result.output
    assert "Traceback" not in result.output
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    assert {n: s["status"] for n, s in stages.items()} == {"haq": "running", "snn": "running"}
