"""``cosim field run``: run folder, --json keys, --volume round trip, one-line bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cosim.cli import main
from cosim.workloads.field.phantom import shepp_logan_3d

TINY = ["--phantom", "3x16x16", "--steps", "30", "--batch", "0", "--backend", "ideal"]


def _run(args):
    return CliRunner().invoke(main, ["field", "run", *args], catch_exceptions=False)


@pytest.mark.slow
def test_run_folder_and_json(tmp_path):
    res = _run([*TINY, "--json", "-o", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("psnr_software", "psnr_haq", "psnr_ptq", "ssim_software", "ssim_haq",
                "ssim_ptq"):
        assert isinstance(out[key], float), key
    assert out["psnr_haq"] > out["psnr_ptq"]
    run = tmp_path / "run"
    for name in ("metrics.csv", "metrics_slices.csv", "training.csv", "workload.json",
                 "manifest.json", "slices.png", "slices.svg", "conductance.png",
                 "checkpoint.npz"):
        assert (run / name).is_file(), name
    wl = json.loads((run / "workload.json").read_text())
    assert wl["inferences"] == 3 * 16 * 16
    assert wl["events"]["cell_reads"] > 0 and wl["events"]["cordic_steps"] > 0
    assert "no wires" in out["hardware_text"] and "; ideal backend" in out["hardware_text"]


@pytest.mark.slow
def test_nifti_and_npy_give_the_same_result(tmp_path):
    nib = pytest.importorskip("nibabel")
    vol = shepp_logan_3d(3, 16, 16) * 900 - 100  # any intensity scale: normalised on load
    np.save(tmp_path / "v.npy", vol)
    nib.save(nib.Nifti1Image(np.swapaxes(vol, 0, 2), np.eye(4)), str(tmp_path / "v.nii.gz"))
    outs = []
    for name in ("v.npy", "v.nii.gz"):
        res = _run(["--volume", str(tmp_path / name), "--steps", "20", "--batch", "0",
                    "--backend", "ideal", "--json",
                    "-o", str(tmp_path / name.replace(".", "_"))])
        assert res.exit_code == 0, res.output
        outs.append(json.loads(res.output))
    for key in ("psnr_software", "psnr_haq", "psnr_ptq", "ssim_haq"):
        assert outs[0][key] == outs[1][key], key


@pytest.mark.parametrize("args, match", [
    (["--bits", "14,14"], "--bits must be three integers"),
    (["--bits", "0,14,12"], "input bits must be"),
    (["--bits", "14,20,12"], "hidden bits must be"),
    (["--amp-ratio", "0.5"], "amplification ratio"),
    (["--weight-scaling", "columns"], "unknown weight scaling 'columns'"),
    (["--backend", "spice"], "the field deploys on the ideal or calibrated backend"),
    (["--phantom", "40x128"], "--phantom must be"),
    (["--phantom", "4x3x16"], "phantom height"),
    (["--phantom-angles", "30,25"], "phantom angles must be three numbers"),
    (["--phantom-angles", "30,x,0"], "--phantom-angles must be comma-separated numbers"),
    (["--phantom-angles", "0,0,720"], "phantom angle psi"),
    (["--steps", "0"], "training steps"),
    (["--encoder-reads", "0"], "encoder reads must be in [1, 4096], got 0"),
    (["--encoder-reads", "5000"], "encoder reads must be in"),
    (["--layer-reads", "0"], "layer reads must be in [1, 4096], got 0"),
    (["--layer-reads", "5000"], "layer reads must be in"),
    (["--encoding", "gauss"], "unknown encoding"),
    (["--sigma", "nan"], "sigma"),
    (["--frame", "0"], "--frame needs --volume"),
    (["--lr-schedule", "step"], "unknown learning-rate schedule 'step'"),
    (["--psnr-every", "-5"], "--psnr-every must be 0"),
])
@pytest.mark.timeout(60)  # a bad option accepted would train and deploy the full field
def test_bad_options_are_one_line_errors(tmp_path, args, match):
    res = CliRunner().invoke(main, ["field", "run", *args, "-o", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0], res.output
    assert not (tmp_path / "r").exists()  # refused before the run folder


def test_bad_volumes_are_one_line_errors(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((16, 16)))
    np.save(tmp_path / "nan.npy", np.full((2, 16, 16), np.nan))
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "four.npy", np.random.default_rng(0).random((2, 16, 16, 3)))
    (tmp_path / "noread.npy").write_bytes(b"x")
    (tmp_path / "noread.npy").chmod(0)
    cases = [(["--volume", str(tmp_path / "flat.npy")], "must be a 3D array"),
             (["--volume", str(tmp_path / "nan.npy")], "NaN"),
             (["--volume", str(tmp_path / "empty.npy")], "cannot be read"),
             (["--volume", str(tmp_path / "missing.npy")], "no such file"),
             (["--volume", str(tmp_path / "four.npy")], "choose one with --frame"),
             (["--volume", str(tmp_path / "four.npy"), "--frame", "5"], "--frame must be"),
             (["--volume", str(tmp_path / "noread.npy")], "cannot be read")]
    for args, match in cases:
        res = CliRunner().invoke(main, ["field", "run", *args, "-o", str(tmp_path / "r")])
        assert res.exit_code == 2, (args, res.output)
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and match in lines[0], (args, res.output)
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_train_writes_the_psnr_curve(tmp_path):
    res = CliRunner().invoke(main, ["field", "train", *TINY, "--psnr-every", "10",
                                    "--lr-schedule", "exponential", "--json",
                                    "-o", str(tmp_path / "t")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    curve = out["psnr_curve"]
    assert [c["step"] for c in curve] == [10, 20, 30]
    # the last point is the trained network's own PSNR, as the command reports it
    assert curve[-1]["psnr_db"] == pytest.approx(out["psnr_software"], abs=1e-9)
    assert all(b["train_s"] > a["train_s"] for a, b in zip(curve, curve[1:], strict=False))
    assert out["config"]["training"]["schedule"] == "exponential"
    for name in ("psnr_curve.csv", "psnr_curve.png", "psnr_curve.svg"):
        assert (tmp_path / "t" / name).is_file(), name
