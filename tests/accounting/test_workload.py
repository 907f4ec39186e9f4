"""The workloads runs write for ``cosim report``: sized on the hardware they ran on."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cosim.accounting.area import area_breakdown
from cosim.cli import main
from cosim.outputs.report import load_workload


def _cell_block(run_dir) -> str:
    w = load_workload(run_dir)
    blocks = area_breakdown(w.hardware)["block"].tolist()
    return next(b for b in blocks if b.startswith("cell_"))


@pytest.mark.parametrize("cell", ["0T1R", "1T1R"])
def test_a_haq_run_is_sized_on_its_own_cell_kind(tmp_path, cell):
    out = tmp_path / cell
    res = CliRunner().invoke(main, ["haq", "--cell", cell, "--backend", "ideal",
                                    "--vector-length", "8", "--outputs", "2", "--bits", "4",
                                    "--read-cycles", "0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "workload.json").read_text())["hardware"]["cell"] == cell
    assert _cell_block(out) == f"cell_{cell.lower()}"


@pytest.mark.slow
def test_a_field_run_is_sized_on_its_cell_macro_and_aggregation(tmp_path):
    out = tmp_path / "field"
    res = CliRunner().invoke(main, ["field", "run", "--phantom", "4x16x16", "--steps", "2",
                                    "--batch", "0", "--hardware", "paper", "--cell", "0T1R",
                                    "--macro-rows", "64", "--macro-cols", "128",
                                    "--aggregation", "analog", "-o", str(out)])
    assert res.exit_code == 0, res.output
    hw = json.loads((out / "workload.json").read_text())["hardware"]
    assert (hw["cell"], hw["rows_per_array"], hw["cols_per_array"]) == ("0T1R", 64, 128)
    assert hw["vcmac_columns"] > 0  # analog aggregation sized VCMAC columns
    assert _cell_block(out) == "cell_0t1r"
