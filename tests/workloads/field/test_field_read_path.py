"""The neural field on the realistic read path, and its spot-check against ngspice.

A tiny network (11 features, width 8, rank 2) on a 3 x 8 x 8 phantom keeps
every block small enough for ngspice without KLU (a few tenths of a second
per 1T1R macro).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError
from circuits.interconnect import R_WIRE_40NM_OHM
from cosim.cli import main
from cosim.hardware.presets import preset
from cosim.layers.placed import block_hardware, placed_tile
from cosim.outputs.field import save_checkpoint
from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.field.field import (
    FieldConfig,
    deploy_field,
    evaluate_field,
    forward_voxels,
    prepare,
    train_field,
)
from cosim.workloads.field.mlp import MLPConfig, TrainConfig
from cosim.workloads.haq.mvm import HaqExperimentConfig
from tests.hardware_helpers import sim

TINY = FieldConfig(phantom_shape=(3, 8, 8), encoder=EncoderConfig(n_frequencies=4),
                         mlp=MLPConfig(width=8, rank=2), training=TrainConfig(steps=200, batch=0))
HARDWARE = {"paper": preset("paper"),
            "realistic": preset("realistic").with_parts(noise={"write": 0.15, "read": 0.0})}
"""The two read paths, with the NF code's write noise and no read noise on both."""
CALIBRATED = sim(backend="calibrated")


@pytest.fixture(scope="module")
def trained():
    """``{read path: (config, prepared, state)}``: each path trains on its own encoder's B."""
    out = {}
    for rp, hardware in HARDWARE.items():
        prep = prepare(TINY, hardware, CALIBRATED)
        out[rp] = TINY, prep, train_field(TINY, prep)
    return out


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory, trained):
    dirs = {}
    for rp, (cfg, prep, state) in trained.items():
        dirs[rp] = tmp_path_factory.mktemp(f"nf-{rp}")
        save_checkpoint(dirs[rp], cfg, HARDWARE[rp], CALIBRATED, prep.truth, state)
    return dirs


@pytest.mark.slow
def test_haq_test_and_field_share_one_tile_builder(trained):
    """The HAQ test and the field place and cut their tiles alike (cosim.layers.placed):
    same placement, same block, same TIA."""
    real = HARDWARE["realistic"]
    h = HaqExperimentConfig(vector_length=20, n_outputs=5, n_bits=6)
    tile, lay = placed_tile(real, CALIBRATED, 20, 30, 6)
    assert h.layout(real, CALIBRATED) == lay
    assert tile.hardware == block_hardware(real, lay)
    cfg, prep, state = trained["realistic"]
    layer = deploy_field(cfg, real, CALIBRATED, prep, state.params, "haq").layers["W_in"]
    t, lay = layer.tile.hardware, layer.placement
    assert (t.cell.kind.name, t.readout.kind, t.array.r_wire_ohm) == ("1T1R", "tia",
                                                                       R_WIRE_40NM_OHM)
    assert (t.array.macro_rows, t.array.macro_cols) == (lay.rows_used, lay.cols_used)
    assert t == placed_tile(real, CALIBRATED, 11, 8 * 14, 14)[0].hardware
    scheme = cfg.mapping("haq").make_scheme("W_in")
    assert scheme.on_hardware(t.programming, lay.mean_attenuation).passes == 16
    assert t.programming.verify_read == "transfer"
    assert HARDWARE["paper"].programming.verify_read == "first_order"
    assert scheme.on_hardware(HARDWARE["paper"].programming, 1.0).passes == 1


@pytest.mark.slow
def test_realistic_read_path_measured_and_said(trained):
    out = {}
    for rp, (cfg, prep, state) in trained.items():
        res = evaluate_field(cfg, HARDWARE[rp], CALIBRATED, prep, state)
        out[rp] = res.summary()
        assert set(res.tables()["metrics"].hardware) == {rp}
    real, paper = out["realistic"], out["paper"]
    assert real["hardware_text"].startswith("realistic: 1T1R cells")
    for words in ("TIA readout", "ir-aware placement", "HAQ 16 passes (transfer verify)"):
        assert words in real["hardware_text"]
    assert real["hardware_name"] == "realistic" and paper["hardware_name"] == "paper"
    assert paper["macros_haq"] == 4 and real["macros_haq"] == 6  # W_in and V1 split in two
    # evaluate_field folds affine layers (paper path); the TIA's clamp keeps the layer path
    assert paper["forward_path_haq"] == "folded" and real["forward_path_haq"] == "layer"
    assert real["placements_haq"]["W_in"]["min_attenuation"] < 0.95
    # the encoder's B is what its layer computes: the hardware features are the software ones
    assert real["psnr_software_hw_features"] == pytest.approx(real["psnr_software"], abs=0.05)
    # The realistic path costs HAQ PSNR that the paper's does not: its wires, 1T1R cells and
    # TIA are in the loop (the paper's HAQ stays within 1 dB of software, above). Seed 0:
    # HAQ 20.78 dB realistic against 26.56 paper with the earlier three bit-by-bit passes;
    # with the 16 targeted re-verify passes the gap has narrowed, 27.79 against 29.65 dB on
    # a 2-core AMD EPYC (the analog figures move a little from machine to machine,
    # docs/measurements/README.md).
    assert paper["psnr_haq"] > paper["psnr_software"] - 1.0
    assert real["psnr_haq"] > real["psnr_ptq"] + 5
    assert real["psnr_haq"] < paper["psnr_haq"] - 1


@pytest.mark.ngspice
@pytest.mark.slow
def test_field_verify_checks_a_deployed_run_against_spice(model_dirs, tmp_path):
    """``cosim field verify`` is ``cosim verify``: a realistic eval run's recorded layers
    (encoder, HAQ and PTQ layers on 1T1R cells, wires and TIA) each within the stated
    error of the fast read model against ngspice."""
    run = tmp_path / "eval"
    res = CliRunner().invoke(main, ["field", "eval", "--model", str(model_dirs["realistic"]),
                                    "-o", str(run)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["field", "verify", str(run), "--workers", "1",
                                    "--slices", "1", "--vectors", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)  # stderr: the backend's OutsideValidatedRange warnings
    assert out["passed"] and out["failed"] == 0
    names = [v["name"] for v in out["layers"]]
    assert "encoder" in names and any(n.startswith("haq") for n in names), names
    for v in out["layers"]:
        assert v["cell"] == "1T1R" and 0 < v["max_rel_error"] <= v["stated_error"] < 1e-4, v


def test_read_path_option_is_checked(model_dirs, tmp_path):
    res = CliRunner().invoke(main, ["field", "eval", "--model", str(model_dirs["paper"]),
                                    "--hardware", "realstic", "-o", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert "unknown hardware 'realstic'; did you mean 'realistic'?" in res.output
    res = CliRunner().invoke(main, ["field", "eval", "--model", str(model_dirs["paper"]),
                                    "--backend", "calibrated", "--hardware", "realistic",
                                    "-o", str(tmp_path / "x")])
    assert res.exit_code != 0 and "needs a model trained on it" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_folded_layers_compute_the_same_pass_and_refuse_a_tia(trained):
    """The benchmark's folded path: same outputs and events as the layer path."""
    cfg, prep, state = trained["paper"]
    dep = deploy_field(cfg, HARDWARE["paper"], CALIBRATED, prep, state.params, "haq")
    y0, e0, s0 = forward_voxels(prep.encoder, dep, prep.x, 50)
    y1, e1, s1 = forward_voxels(prep.encoder, dep, prep.x, 50, fold=True)
    assert np.max(np.abs(y1 - y0)) <= 1e-12 * np.max(np.abs(y0)) and s1 == s0
    for k, v in e0.as_dict().items():
        assert getattr(e1, k) == pytest.approx(v, rel=1e-12), k
    rcfg, rprep, rstate = trained["realistic"]
    real = deploy_field(rcfg, HARDWARE["realistic"], CALIBRATED, rprep, rstate.params, "haq")
    with pytest.raises(ConfigError, match="cannot fold a layer with a TIA readout"):
        real.folded()


@pytest.mark.parametrize("args, message", [
    (["eval", "--r-wire", "-1"], "r_wire_ohm"),
])
def test_bad_wire_options_are_one_line_errors(model_dirs, tmp_path, args, message):
    res = CliRunner().invoke(main, ["field", args[0], "--model", str(model_dirs["paper"]),
                                    *args[1:], "-o", str(tmp_path / "x")])
    assert res.exit_code != 0 and message in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "x").exists()
