"""``cosim report``: tables with an origin on every row, a self-contained HTML, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from circuits.errors import ConfigError
from cosim.accounting.workload import make_workload, write_workload_json
from cosim.cli import main
from cosim.outputs.report import TABLE_ORIGINS, ReportOptions, build_report, load_workload
from tests import PROJECT_ROOT

MVM_TOML = """kind = "mvm"
name = "HAQ MVM 100x100"
rows = 100
cols = 100
bits = 12
inferences = 100
"""

NF_TOML = """kind = "mlp"
name = "neural field CT"
layers = [131, 100, 1]
inferences = 1000
encoding_features = 128
claim = "neural field CT"
"""


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


@pytest.fixture
def configs(tmp_path: Path) -> list[Path]:
    a = tmp_path / "mvm.toml"
    a.write_text(MVM_TOML)
    b = tmp_path / "nf.toml"
    b.write_text(NF_TOML)
    return [a, b]


def _check_every_row_traced(out: Path) -> None:
    csvs = sorted(out.glob("*.csv"))
    assert len(csvs) >= 8
    for path in csvs:
        df = pd.read_csv(path, keep_default_na=False)
        assert "origin" in df.columns and "source" in df.columns, path.name
        assert df["origin"].isin(TABLE_ORIGINS).all(), (path.name, set(df["origin"]))
        assert (df["source"].astype(str).str.strip() != "").all(), path.name


@pytest.mark.slow
def test_report_of_two_configs_is_one_comparison(tmp_path, configs):
    out = tmp_path / "run"
    result = invoke("report", *configs, "-o", out, "--no-simulate")
    assert result.exit_code == 0, result.output
    _check_every_row_traced(out)
    eff = pd.read_csv(out / "efficiency.csv")
    assert set(eff["workload"]) == {"HAQ MVM 100x100", "neural field CT"}
    assert set(eff["key"]) == {"ours", "a100", "jetson_nano", "rtx4090", "h100"}
    ratios = pd.read_csv(out / "ratios.csv")
    nf = ratios[(ratios["workload"] == "neural field CT") & (ratios["baseline"] == "a100")]
    assert nf["claimed_energy_ratio"].item() == pytest.approx(31.5)
    assert nf["claimed_area_ratio"].item() == pytest.approx(10.8)
    claims = pd.read_csv(out / "claimed_ratios.csv")
    row = claims[claims["claim"] == "nf_ct_a100_energy"]
    assert row["ours"].item() == pytest.approx(nf["energy_efficiency_ratio"].item())
    for stem in ("energy_breakdown", "area_breakdown", "efficiency"):
        assert (out / f"{stem}.png").stat().st_size > 0 and (out / f"{stem}.svg").exists()
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/svg+xml;base64,') >= 3  # the report's own figures
    for remote in ('src="http', "href=\"http", "url(http", "@import", "<script", "<link"):
        assert remote not in page, remote
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tables"] and manifest["report"] == "report.html"


@pytest.mark.slow
def test_ours_energy_is_counts_times_the_energy_table(tmp_path):
    # Independent of the ledger's code: a workload of cell reads only costs reads x the
    # table's energy per read (energy_events.csv), whatever the ledger sums.
    table = pd.read_csv(PROJECT_ROOT / "cosim" / "accounting" / "data"
                        / "energy_events.csv").set_index("component")
    e_read = float(table.loc["cell_read", "energy_j"])
    wl = {"name": "reads only", "events": {"cell_reads": 1000}, "ops_per_inference": 2,
          "inferences": 1, "hardware": {"arrays": 1}}
    path = tmp_path / "reads.json"
    path.write_text(json.dumps(wl))
    build_report([path], tmp_path / "out", ReportOptions(simulate=False))
    eff = pd.read_csv(tmp_path / "out" / "efficiency.csv").set_index("key")
    assert eff.loc["ours", "energy_per_inference_j"] == pytest.approx(1000 * e_read, rel=1e-9)


def test_run_folder_with_workload_json(tmp_path):
    run = tmp_path / "some-run"
    w = make_workload({"kind": "mvm", "rows": 32, "cols": 4, "bits": 8, "inferences": 3,
                       "name": "small"})
    write_workload_json(run, w)
    back = load_workload(run)
    assert back.events == w.events and "workload.json" in back.source


def test_run_folder_without_workload_json_is_refused(tmp_path):
    # The report reads the events a run counted; it does not recount a run's config.
    run = tmp_path / "haq-run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"command": "haq", "config": {}}))
    with pytest.raises(ConfigError, match="no workload.json"):
        load_workload(run)


@pytest.mark.slow
def test_energy_override_in_report(tmp_path, configs):
    f = tmp_path / "mine.csv"
    f.write_text("component,energy_j,source\nadc,1e-13,bench measurement\n")
    out = tmp_path / "run"
    result = invoke("report", configs[0], "-o", out, "--no-simulate", "--energy-override", f)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "energy_table.csv").set_index("component")
    assert table.loc["adc", "origin"] == "override"
    _check_every_row_traced(out)


def test_unknown_baseline_is_one_line_with_did_you_mean(tmp_path, configs):
    result = invoke("report", configs[0], "-o", tmp_path / "r", "--baseline", "rtx4909")
    assert_one_line_error(result, "unknown baseline 'rtx4909'", "did you mean 'rtx4090'")


def test_missing_run_folder_is_one_line(tmp_path):
    result = invoke("report", tmp_path / "nope", "-o", tmp_path / "r", "--no-simulate")
    assert_one_line_error(result, "no run folder or config file", "nope")
    empty = tmp_path / "empty-run"
    empty.mkdir()
    result = invoke("report", empty, "-o", tmp_path / "r2", "--no-simulate")
    assert_one_line_error(result, "has no workload.json")


def test_negative_override_is_one_line(tmp_path, configs):
    f = tmp_path / "neg.toml"
    f.write_text("[adc]\nenergy_j = -2e-12\n")
    result = invoke("report", configs[0], "-o", tmp_path / "r", "--no-simulate",
                    "--energy-override", f)
    assert_one_line_error(result, "energy_j of 'adc' must be >= 0")


def test_bad_utilisation_is_one_line(tmp_path, configs):
    result = invoke("report", configs[0], "-o", tmp_path / "r", "--no-simulate",
                    "--gpu-utilisation", "1.5")
    assert_one_line_error(result, "GPU utilisation must be in")


@pytest.mark.ngspice
def test_simulated_report_traces_to_kept_decks(tmp_path, configs):
    out = tmp_path / "run"
    build_report(configs[:1], out, ReportOptions(simulate=True))
    table = pd.read_csv(out / "energy_table.csv").set_index("component")
    assert table.loc["cell_read", "origin"] == "simulated"
    assert "sim/cell_read/deck.cir" in table.loc["cell_read", "source"]
    assert (out / "sim" / "cell_read" / "deck.cir").is_file()
    assert table.loc["cell_read", "per_unit"] == pytest.approx(3.41e-15, rel=0.05)
    assert table.loc["tia", "origin"] == "simulated"
    assert (out / "sim" / "tia" / "deck.cir").is_file()
    _check_every_row_traced(out)
