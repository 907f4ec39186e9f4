"""The stage registry and the one writer of workload results."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from cosim.accounting.events import Events
from cosim.accounting.workload import mvm_workload
from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.outputs.report import load_workload
from cosim.outputs.results import write_result
from cosim.stages import DEFAULT_STAGES, STAGES, Context, workload_stage


@dataclass(frozen=True)
class _Result:
    events: Events

    def summary(self):
        return {"rmse": 0.5}

    def tables(self):
        return {"outputs": pd.DataFrame({"y": [1.0, 2.0]})}

    def workload(self):
        from dataclasses import replace

        return replace(mvm_workload({"rows": 4, "cols": 2, "bits": 1}), events=self.events)


def test_a_workload_stage_writes_what_the_report_reads(tmp_path):
    counted = Events(cell_reads=8, adc_conversions=2, tia_active_s=2e-7)
    hardware, sim = preset("paper"), SimOptions(backend="ideal")
    seen = []

    def compute(cfg, hw, sim_):
        seen.append((hw, sim_))
        return _Result(events=counted)

    run = workload_stage(compute, write_result)
    summary = run(Context(config={"hardware": hardware, "sim": sim}, run_dir=tmp_path,
                          results={}, name="toy"), None)
    out = tmp_path / "toy"
    assert seen == [(hardware, sim)]  # the job's hardware and sim reach the workload
    assert summary["rmse"] == 0.5 and summary["hardware_name"] == "paper"
    assert pd.read_csv(out / "outputs.csv")["y"].tolist() == [1.0, 2.0]
    assert load_workload(out).events == counted  # the report sees the counted events
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rmse"] == 0.5 and "git_revision" in manifest


def test_registry_stages_have_a_config_each_with_working_defaults():
    assert list(STAGES) == ["tia", "vcmac", "haq", "field", "nerf", "snn", "inpaint",
                            "baseline", "report"]
    assert "inpaint" not in DEFAULT_STAGES and len(DEFAULT_STAGES) == len(STAGES) - 1
    for stage in STAGES.values():
        stage.config(**{k: 0 for k in stage.from_run} if stage.from_run else {})
