"""``cosim nerf run|train|deploy|eval``: the whole path on a tiny scene, checkpoints, resume
after Ctrl-C, the report reading the run, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import cosim.workloads.nerf.nerf as nerf_mod
from cosim.cli import main

TINY = ["--quick", "--size", "10", "--train-views", "4", "--test-views", "1", "--rays", "32",
        "--samples", "8", "--width", "8", "--rank", "2"]
KEYS = ("psnr_software", "psnr_haq", "psnr_ptq", "ssim_software", "ssim_haq", "ssim_ptq")


def _nerf(*args):
    return CliRunner().invoke(main, ["nerf", *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("nerf") / "run"
    res = _nerf("run", *TINY, "--steps", 50, "--json", "-o", d)
    assert res.exit_code == 0, res.output
    return d, json.loads(res.output)


@pytest.mark.slow
def test_run_writes_the_folder_and_the_report_reads_it(run, tmp_path):
    d, out = run
    for k in KEYS:
        assert isinstance(out[k], float), k
    assert out["lpips"] is None and "pretrained" in out["lpips_note"]
    assert out["task"] == "NeRF" and out["training_steps"] == 50
    for name in ("metrics.csv", "metrics_views.csv", "parameters.csv", "training.csv",
                 "views.png", "conductance.png", "parameters.png", "workload.json",
                 "manifest.json", "checkpoint.npz", "scene/transforms_train.json",
                 "scene/transforms_test.json", "scene/test/r_0.png"):
        assert (d / name).is_file(), name
    wl = json.loads((d / "workload.json").read_text())
    assert wl["claim"] == "NeRF" and wl["inferences"] == 1.0
    assert wl["events"]["cell_reads"] > 0 and wl["events"]["cordic_steps"] > 0
    res = CliRunner().invoke(main, ["report", str(d), "--no-simulate", "--baseline", "a100",
                                    "-o", str(tmp_path / "rep")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    claims = (tmp_path / "rep" / "claimed_ratios.csv").read_text()
    row = next(line for line in claims.splitlines() if line.startswith("nf_nerf_a100_energy"))
    assert ",35.5," in row and row.split(",")[5] != ""  # ours beside the paper's 35.5x


@pytest.mark.slow
def test_eval_and_deploy_use_the_checkpoint(run, tmp_path):
    d, out = run
    ev = _nerf("eval", "--model", d, "--json", "-o", tmp_path / "e")
    assert ev.exit_code == 0, ev.output
    ev = json.loads(ev.output)
    for k in KEYS:  # the checkpoint holds the very model, scene and seeds
        assert ev[k] == pytest.approx(out[k], abs=1e-9), k
    dep = _nerf("deploy", "--model", d, "--json", "-o", tmp_path / "dp")
    assert dep.exit_code == 0, dep.output
    dep = json.loads(dep.output)
    assert dep["cells_haq"] == out["rram_cells_haq"] > 0
    assert dep["weight_rmse_rel_ptq"] > dep["weight_rmse_rel_haq"]


@pytest.mark.slow
def test_interrupt_keeps_the_checkpoint_and_resume_continues(run, tmp_path, monkeypatch):
    real = nerf_mod.train_nerf

    def interrupting(*a, progress=None, **kw):
        def tick(step, loss):
            if step == 25:
                raise KeyboardInterrupt
        return real(*a, progress=tick, **kw)

    monkeypatch.setattr(nerf_mod, "train_nerf", interrupting)
    res = CliRunner().invoke(main, ["nerf", "train", *TINY, "--steps", "50",
                                    "-o", str(tmp_path / "t")])
    assert res.exit_code == 130, res.output
    assert "step 25" in res.stderr and "--resume" in res.stderr
    monkeypatch.setattr(nerf_mod, "train_nerf", real)
    with np.load(tmp_path / "t" / "checkpoint.npz") as z:
        assert int(z["step"]) == 25
    res = _nerf("train", "--resume", "--json", "-o", tmp_path / "t")
    assert res.exit_code == 0, res.output
    resumed = json.loads(res.output)
    assert resumed["training_steps"] == 50 and not resumed["interrupted"]
    # batches drawn per step and Adam's moments restored: the run trained without a break
    assert resumed["psnr_software"] == pytest.approx(run[1]["psnr_software"], abs=1e-4)


def test_bad_inputs_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.npz").write_bytes(b"not a zip")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    (tmp_path / "scene").mkdir()
    (tmp_path / "scene" / "transforms_train.json").write_text("{}")
    cases = [
        (["eval", "--model", tmp_path / "missing"], "no such folder"),
        (["eval", "--model", tmp_path / "empty"], "holds no checkpoint.npz"),
        (["deploy", "--model", tmp_path / "bad"], "cannot be read"),
        (["run", "--steps", "0", "-o", tmp_path / "o1"], "training steps"),
        (["run", "--width", "4", "--rank", "8", "-o", tmp_path / "o2"], "rank (8) must be <="),
        (["run", "--bits", "14,14", "-o", tmp_path / "o3"], "--bits"),
        (["run", "--amp-ratio", "0.5", "-o", tmp_path / "o4"], "amp"),
        (["run", "-o", tmp_path / "busy"], "not empty"),
        (["run", "--resume", "-o", tmp_path / "empty"], "holds no checkpoint.npz"),
        (["run", "--scene", tmp_path / "nowhere", "-o", tmp_path / "o5"], "no such folder"),
        (["run", "--scene", tmp_path / "scene", "-o", tmp_path / "o6"],
         "transforms_train.json: lacks the key 'camera_angle_x'"),
        (["run", "--downscale", "2", "-o", tmp_path / "o7"], "--downscale"),
        (["run", "--quick", "--paper-size", "-o", tmp_path / "o8"], "exclude"),
        (["run", "--backend", "spice", "-o", tmp_path / "o9"], "ideal or calibrated"),
        (["run", "--size", "2", "-o", tmp_path / "o10"], "image size"),
    ]
    for args, fragment in cases:
        res = CliRunner().invoke(main, ["nerf", *map(str, args)])
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), \
            (args, res.output, res.stderr)
        assert fragment in lines[0], (fragment, lines[0])
    for k in range(1, 11):
        assert not (tmp_path / f"o{k}").exists(), k  # refused before the folder was made


def test_prune_option_sets_the_paper_targets_and_the_longer_schedule():
    from cosim.commands.nerf import _config

    kw = dict(dynamic=False, quick=False, paper_size=False, width=None, rank=None,
              prune=False, prune_width=None, prune_rank=None, steps=None, rays=None,
              samples=None, lr=None, seed=0, size_px=None, train_views=None,
              eval_views=None, bits="14,14,12", amp_ratio=1.5, weight_scaling="matrix")
    plain = _config(**kw)[0].training
    assert (plain.prune_width, plain.prune_rank, plain.steps) == (0, 0, 1500)
    pruned = _config(**{**kw, "prune": True})[0].training
    assert (pruned.prune_width, pruned.prune_rank, pruned.steps) == (26, 3, 5000)
    assert _config(**{**kw, "prune_width": 20})[0].training.prune_width == 20  # implies it
    assert _config(**{**kw, "prune": True, "steps": 800})[0].training.steps == 800
    assert _config(**{**kw, "prune": True, "quick": True})[0].training.steps == 1200
