"""``cosim inpaint run|train|eval|sweep-noise`` on a tiny image folder (ideal backend);
``--export onnx`` and the export back through ``cosim deploy``; Ctrl-C and
``--resume``; bad inputs give one-line errors before any work."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError
from cosim.cli import main
from cosim.hardware.presets import load_hardware
from cosim.outputs.inpaint import load_checkpoint
from cosim.outputs.report import load_workload
from cosim.workloads.inpaint import network as vae_network
from cosim.workloads.inpaint.export import LAYERS


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(0)
    img = np.zeros((24, 28, 28), np.uint8)
    labels = np.arange(24) % 10
    for i, c in enumerate(labels):
        img[i, 4 + 2 * c:10 + 2 * c, 6:22] = 255
        img[i] = np.where(rng.random((28, 28)) < 0.02, 255, img[i])
    np.save(root / "images.npy", img)
    np.save(root / "labels.npy", labels)
    return root


SMALL = ["--frames", "2", "--epochs", "1", "--train", "16", "--test", "6"]


def _run(args, command="run"):
    return CliRunner().invoke(main, ["inpaint", command, *args])


def _one_line_error(r, msg):
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:") and msg in lines[0], r.output


@pytest.mark.slow
def test_run_eval_sweep_and_resume(folder, tmp_path, monkeypatch):
    out = tmp_path / "run"
    r = _run([*SMALL, "--backend", "ideal", "--data", str(folder), "--export", "onnx",
              "--json", "-o", str(out)])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["export"] == {"model": "model.onnx", "inputs": "model_inputs.npz",
                           "format": "onnx"}
    assert json.loads((out / "manifest.json").read_text())["export"]["format"] == "onnx"
    for key in ("mse_masked_software", "mse_masked_hardware", "score_software",
                "score_hardware", "avg_timesteps"):
        assert s[key] is not None, key
    assert [row["row"] for row in s["rows"]][:3] == ["weight-trained software",
                                                     "pruned random pairs, software",
                                                     "pruned random pairs, hardware"]
    for name in ("rows.csv", "thresholds.csv", "inpainting_grid.png", "workload.json",
                 "checkpoint.npz"):
        assert (out / name).is_file(), name
    w = load_workload(out / "workload.json")
    assert w.claim == "SNN inpainting" and w.extra_counts["lif_updates"] > 0
    # eval and sweep-noise on the run folder: the same test images
    r = _run([str(out), "--backend", "ideal", "--json", "-o", str(tmp_path / "ev")], "eval")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["mse_masked_hardware"] == pytest.approx(
        s["mse_masked_hardware"], rel=1e-6)  # same hardware, seeds and images
    r = _run([str(out), "--backend", "ideal", "--read-noise", "0,0.1", "--thresholds", "0",
              "--json", "-o", str(tmp_path / "sw")], "sweep-noise")
    assert r.exit_code == 0, r.output
    pts = json.loads(r.output)["points"]
    assert [p["read_noise"] for p in pts] == [0.0, 0.1]
    assert pts[0]["mse_masked"] == pytest.approx(s["mse_masked_hardware"], rel=1e-6)
    # the exported pop-up VAE comes back through cosim deploy: on exact hardware its
    # outputs (every step's image) equal the reference evaluator's
    r = CliRunner().invoke(main, [
        "deploy", str(out / "model.onnx"), "--data", str(out / "model_inputs.npz"),
        "--hardware", "prime", "--write-noise", "0", "--read-noise", "0", "--backend",
        "ideal", "--scheme", "pairs", "--json", "-o", str(tmp_path / "back")])
    assert r.exit_code == 0, r.output
    back = json.loads(r.output)
    assert back["inputs"] == 6 and back["outputs"] == ["images"]
    assert back["software_vs_reference"] < 1e-12
    assert back["output_error_pairs"][0]["max"] < 1e-6
    assert [ly["name"] for ly in back["layers_pairs"]] == list(LAYERS)

    # Ctrl-C after the first epoch keeps the checkpoint; --resume trains on and evaluates
    part = tmp_path / "part"
    real = vae_network.train_epochs

    def interrupted(*a, **kw):
        real(*a, **kw)
        raise KeyboardInterrupt

    monkeypatch.setattr(vae_network, "train_epochs", interrupted)
    r = _run([*SMALL, "--data", str(folder), "-o", str(part)], "train")
    assert r.exit_code == 130 and "--resume" in r.output
    trained, *_ = load_checkpoint(part)
    assert len(trained.net.history) == 1 and trained.baseline is None
    monkeypatch.setattr(vae_network, "train_epochs", real)
    r = _run(["--resume", "--json", "-o", str(part)], "train")
    assert r.exit_code == 0, r.output
    trained, *_ = load_checkpoint(part)
    assert len(trained.net.history) == 1 and len(trained.baseline.history) == 1
    _one_line_error(_run(["--resume", "-o", str(part)], "train"), "already trained")


def test_bad_inputs_are_one_line_errors(folder, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    np.save(big / "images.npy", np.arange(3 * 40 * 40).reshape(3, 40, 40))
    _one_line_error(_run([*SMALL, "--data", str(big), "-o", str(tmp_path / "a")]),
                    "40 x 40 pixels")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "images.npy").write_bytes(b"")
    _one_line_error(_run([*SMALL, "--data", str(empty), "-o", str(tmp_path / "b")]),
                    "is empty")
    _one_line_error(_run([*SMALL, "--data", str(tmp_path / "none"), "-o",
                          str(tmp_path / "c")]), "does not exist")
    _one_line_error(_run([*SMALL, "--data", str(folder), "--mask", "40", "-o",
                          str(tmp_path / "d")]), "mask size")
    _one_line_error(_run([*SMALL, "--data", str(folder), "--mask", "28", "-o",
                          str(tmp_path / "d2")]), "not smaller than the 28 x 28")
    _one_line_error(_run([*SMALL, "--frames", "0", "-o", str(tmp_path / "e")]), "T")
    _one_line_error(_run([*SMALL, "--train", "20", "--test", "20", "--data", str(folder),
                          "-o", str(tmp_path / "f")]), "more than the 24 images")
    _one_line_error(_run([str(tmp_path / "none"), "-o", str(tmp_path / "g")], "eval"),
                    "no checkpoint.npz")
    _one_line_error(_run(["--resume", *SMALL]), "name it with -o")
    for command in ("run", "train"):
        _one_line_error(_run([*SMALL, "--export", "nir", "-o", str(tmp_path / "h")], command),
                        "export the VAE as onnx")
    assert not (tmp_path / "h").exists()


@pytest.mark.slow
def test_main_job_stage_writes_the_run_folder_of_inpaint_run(tmp_path):
    """The stage computes what ``cosim inpaint run`` does and writes with its writer (the
    same network config as the CLI test above, so JAX compiles once)."""
    from cosim.outputs.inpaint import write_run
    from cosim.workloads.inpaint.stage import (
        InpaintStage,
        compute_inpaint_stage,
        inpaint_headline,
    )
    from tests.hardware_helpers import sim

    stage = InpaintStage(n_train=16, n_test=6, epochs=1, n_frames=2)
    hw = load_hardware(stage.hardware)
    s = write_run(compute_inpaint_stage(stage, hw, sim(backend="ideal")), tmp_path)
    assert (tmp_path / "workload.json").is_file() and (tmp_path / "inpainting_grid.png").is_file()
    assert "masked MSE" in inpaint_headline(s) and s["T"] == 2
    with pytest.raises(ConfigError):
        InpaintStage(n_frames=0)
