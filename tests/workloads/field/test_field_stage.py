"""The neural-field stage: config checks, and the workload result the main job's writer takes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from circuits.errors import ConfigError
from cosim.hardware.presets import preset
from cosim.outputs.field import write_field_run
from cosim.stages import build
from cosim.workloads.field.stage import FieldStage, compute_field_stage, field_headline
from tests.hardware_helpers import sim


@pytest.mark.parametrize("kw, match", [
    ({"height": 3}, "phantom height"),
    ({"bits_output": 30}, "output bits must be"),
    ({"hardware": "real"}, "unknown hardware 'real'"),
    ({"steps": 0}, "training steps"),
    ({"encoding": "gauss"}, "unknown encoding"),
    ({"encoder_reads": 0}, "encoder reads"),
    ({"layer_reads": 0}, "layer reads"),
    ({"wide": 1}, "wide must be"),
])
def test_bad_sections(kw, match):
    with pytest.raises(ConfigError, match=match):
        FieldStage(**kw)


def test_bad_backend_of_the_job_is_refused():
    """The backend moved from [field] to the job's [sim] section."""
    with pytest.raises(ConfigError, match="unknown sim.backend 'spcie'"):
        build("sim", {"backend": "spcie"})


@pytest.mark.slow
def test_quick_setting_and_a_tiny_stage(tmp_path):
    quick = FieldStage()
    cfg = quick.field_config()
    assert cfg.phantom_shape == (8, 48, 48) and cfg.training.steps == 300
    assert cfg.bits == (14, 14, 12) and cfg.amp_ratio == 1.5
    assert quick.hardware == ""  # the job's hardware
    res = compute_field_stage(FieldStage(slices=3, height=16, width=16, steps=30, batch=0,
                                         seed=3), preset("paper"), sim(backend="ideal"))
    summary = write_field_run(res, tmp_path / "field")
    for name in ("metrics.csv", "metrics_slices.csv", "training.csv", "workload.json",
                 "manifest.json"):
        assert (tmp_path / "field" / name).is_file(), name
    assert summary["psnr_haq"] > summary["psnr_ptq"]
    assert summary["config"]["seed"] == 3
    wl = json.loads((tmp_path / "field" / "workload.json").read_text())
    assert wl["inferences"] == 3 * 16 * 16 and wl["events"]["cell_reads"] > 0
    assert "HAQ" in field_headline(summary)


def test_quick_flag_is_the_stage_setting():
    from cosim.commands.field import _model_config

    opts = {"phantom": "40x128x128", "sigma": None, "wide": False, "steps": None,
            "batch": None, "lr": 1e-3, "seed": 0}
    quick = _model_config(quick=True, encoding="gaussian", **opts)
    stage = FieldStage().field_config()
    # the same encoder; --quick leaves sigma to the encoding's default, the stage names it
    assert replace(quick.encoder, sigma=quick.encoder.scale) == stage.encoder
    assert quick.encoder.scale == 2.0
    assert quick.encoder.reads == 16
    assert _model_config(encoding="gaussian", **opts).encoder.reads == 1
    assert quick.training == stage.training and quick.phantom_shape == stage.phantom_shape
    # the full-size default and another encoding keep their own scales
    assert _model_config(encoding="gaussian", **opts).encoder.scale == 2.0
    assert _model_config(quick=True, encoding="positional", **opts).encoder.scale == 32.0
