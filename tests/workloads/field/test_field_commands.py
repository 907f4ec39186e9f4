"""``cosim field train|deploy|eval|sparse``: checkpoints, resume after Ctrl-C, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import cosim.workloads.field.field as nf_field
from cosim.cli import main

TINY = ["--phantom", "3x16x16", "--batch", "0", "--backend", "ideal"]
KEYS = ("psnr_software", "psnr_haq", "psnr_ptq", "ssim_software", "ssim_haq", "ssim_ptq")


def _field(*args):
    return CliRunner().invoke(main, ["field", *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("nf") / "train"
    res = _field("train", *TINY, "--steps", 30, "--json", "-o", d)
    assert res.exit_code == 0, res.output
    return d, json.loads(res.output)


@pytest.mark.slow
def test_train_then_eval_equals_run(model, tmp_path):
    d, train = model
    assert train["training_steps"] == 30 and not train["interrupted"]
    assert (d / "checkpoint.npz").is_file() and (d / "training.csv").is_file()
    ev = _field("eval", "--model", d, "--json", "-o", tmp_path / "e")
    assert ev.exit_code == 0, ev.output
    ev = json.loads(ev.output)
    run = json.loads(_field("run", *TINY, "--steps", 30, "--json", "-o", tmp_path / "r").output)
    for k in KEYS:  # the checkpoint holds the very model, volume and seeds
        assert isinstance(ev[k], float) and ev[k] == run[k], k
    assert ev["psnr_software"] == pytest.approx(train["psnr_software"])
    assert ev["psnr_haq"] > ev["psnr_ptq"]


@pytest.mark.slow
def test_layer_reads_are_stored_and_every_read_counted(model, tmp_path):
    """``--layer-reads`` of train is the model's (eval takes it unless given); each read of
    the network's matrices is counted, the encoder's once (its own ``--encoder-reads``)."""
    d, _ = model
    res = _field("train", *TINY, "--steps", 30, "--layer-reads", 2, "--json",
                 "-o", tmp_path / "t2")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["config"]["layer_reads"] == 2
    outs, reads = {}, {}
    for name, args in (("stored", ["--model", tmp_path / "t2"]),
                       ("three", ["--model", d, "--layer-reads", 3])):
        res = _field("eval", *args, "--json", "-o", tmp_path / name)
        assert res.exit_code == 0, res.output
        outs[name] = json.loads(res.output)
        wl = json.loads((tmp_path / name / "workload.json").read_text())
        reads[name] = wl["events"]["cell_reads"] - 3 * 16 * 16 * 3 * 64 * 2  # less the encoder
    assert [outs[k]["config"]["layer_reads"] for k in outs] == [2, 3]
    assert reads["stored"] * 3 == reads["three"] * 2 > 0
    # the same training; ideal backend, no read noise: the averaged reads are one read's
    assert outs["three"]["psnr_haq"] == pytest.approx(outs["stored"]["psnr_haq"], abs=1e-9)


@pytest.mark.slow
def test_deploy_reports_cells_and_weight_error(model, tmp_path):
    d, _ = model
    res = _field("deploy", "--model", d, "--bits", "10,10,8", "--json", "-o", tmp_path / "d")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["bits"] == [10, 10, 8]
    assert out["weight_rmse_rel_haq"] < out["weight_rmse_rel_ptq"]
    table = (tmp_path / "d" / "deploy.csv").read_text().splitlines()
    assert len(table) == 1 + 2 * 4  # header + (W_in, U1, V1, W_out) x (HAQ, PTQ)
    assert out["cells_haq"] > 0 and (tmp_path / "d" / "conductance.png").is_file()


@pytest.mark.slow
def test_sparse_writes_table_and_plot(model, tmp_path):
    d, _ = model
    res = _field("sparse", "--model", d, "--slices", "2", "--finetune-steps", 10, "--batch", 0,
                 "--json", "-o", tmp_path / "s")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [r["slices_used"] for r in out["sparse"]] == [0, 2]
    assert out["target"] == "phantom 3x16x16 moved by 0.05"
    for name in ("sparse.csv", "sparse_psnr.png", "sparse_psnr.svg", "manifest.json",
                 "slices_2/metrics.csv"):
        assert (tmp_path / "s" / name).is_file(), name


@pytest.mark.slow
def test_hapo_command_writes_table_and_plot(model, tmp_path):
    d, _ = model
    res = _field("hapo", "--model", d, "--bits-input", "6,14", "--bits-hidden", 14,
                 "--bits-output", 12, "--amp-ratios", 1.5, "--eval-voxels", 0, "--json",
                 "-o", tmp_path / "h")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["hapo_points"] == 2 and "log2" in out["hapo_objective"]
    for name in ("hapo.csv", "hapo.png", "hapo.svg", "manifest.json"):
        assert (tmp_path / "h" / name).is_file(), name


@pytest.mark.slow
def test_interrupt_keeps_the_checkpoint_and_resume_continues(tmp_path, monkeypatch):
    real = nf_field.train

    def interrupting(*a, progress=None, **kw):
        def tick(step, loss):
            if step == 50:
                raise KeyboardInterrupt
        return real(*a, progress=tick, **kw)

    monkeypatch.setattr(nf_field, "train", interrupting)
    res = CliRunner().invoke(main, ["field", "train", *TINY, "--steps", "100",
                                 "-o", str(tmp_path / "t")])
    assert res.exit_code == 130, res.output
    assert "interrupted at step 50" in res.stderr and "--resume" in res.stderr
    monkeypatch.setattr(nf_field, "train", real)
    with np.load(tmp_path / "t" / "checkpoint.npz") as z:
        assert int(z["step"]) == 50
    res = _field("train", "--resume", "--json", "-o", tmp_path / "t")
    assert res.exit_code == 0, res.output
    resumed = json.loads(res.output)
    whole = json.loads(_field("train", *TINY, "--steps", 100, "--json", "-o",
                              tmp_path / "w").output)
    assert resumed["training_steps"] == 100
    # full-batch Adam resumed from its saved moments = the uninterrupted run
    assert resumed["psnr_software"] == pytest.approx(whole["psnr_software"], abs=1e-4)


def test_bad_inputs_are_one_line_errors(model, tmp_path):
    d, _ = model
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.npz").write_bytes(b"not a zip")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    cases = [
        (["eval", "--model", tmp_path / "missing"], "no such folder"),
        (["deploy", "--model", tmp_path / "empty"], "holds no checkpoint.npz"),
        (["eval", "--model", tmp_path / "bad"], "cannot be read"),
        (["deploy", "--model", d, "--bits", "14,30,12"], "hidden bits must be"),
        (["eval", "--model", d, "--backend", "spcie"], "did you mean 'spice'"),
        (["sparse", "--model", d, "--slices", "4"], "larger than the volume"),
        (["sparse", "--model", d, "--slices", "2,x"], "--slices must be"),
        (["sparse", "--model", d, "--slices", "2,2"], "repeat"),
        (["sparse", "--model", d, "--motion", "0.8"], "motion"),
        (["sparse", "--model", d, "--anchor-weight", "17"], "sparse anchor weight"),
        (["train", "--resume", None], "--resume needs -o"),
        (["train", "--resume", "-o", tmp_path / "empty"], "holds no checkpoint.npz"),
        (["train", *TINY, "--steps", "5", "-o", tmp_path / "busy"], "not empty"),
        (["eval", "--model", d, "--frame", "1"], "--frame needs --volume"),
        (["hapo", "--model", d, "--bits-hidden", "14,20"], "hidden bits must be"),
        (["hapo", "--model", d, "--bits-input", "a"], "--bits-input must be"),
        (["hapo", "--model", d, "--amp-ratios", "1.5,x"], "--amp-ratios must be"),
        (["hapo", "--model", d, "--keep", "1.5"], "kept fraction"),
        (["hapo", "--model", d, "--penalty", "-1"], "penalty"),
        (["hapo", "--model", tmp_path / "missing"], "no such folder"),
        (["deploy", "--model", d, "--weight-scaling", "rows"], "unknown weight scaling"),
        (["hapo", "--model", d, "--weight-scaling", "Column"], "unknown weight scaling"),
        (["train", *TINY, "--phantom-angles", "nan,0,0"], "angle phi must be a finite"),
        (["encodings", "--phantom-angles", "0,0"], "phantom angles must be three"),
        (["eval", "--model", d, "--layer-reads", "0"], "layer reads must be"),
        (["deploy", "--model", d, "--layer-reads", "5000"], "layer reads must be"),
        (["train", *TINY, "--layer-reads", "0"], "layer reads must be"),
    ]
    for args, match in cases:
        out = [] if "-o" in args or None in args else ["-o", str(tmp_path / "r")]
        res = CliRunner().invoke(main, ["field", *(str(a) for a in args if a is not None),
                                        *out])
        assert res.exit_code == 2, (args, res.output)
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0], \
            (args, res.output)
    assert not (tmp_path / "r").exists()


def _two_phases(path):
    """A two-phase 4D NIfTI at ``path``: the phantom and the phantom moved by 0.1."""
    nib = pytest.importorskip("nibabel")
    from cosim.workloads.field.phantom import shepp_logan_3d

    phases = np.stack([shepp_logan_3d(4, 16, 16), shepp_logan_3d(4, 16, 16, motion=0.1)],
                      axis=-1)  # (z, y, x, t)
    nib.save(nib.Nifti1Image(np.swapaxes(phases, 0, 2), np.eye(4)), str(path))
    return path


@pytest.mark.slow
def test_sparse_on_a_4d_volume_fine_tunes_the_other_phase(tmp_path):
    path = _two_phases(tmp_path / "phases.nii.gz")
    res = _field("train", "--volume", path, "--frame", 0, "--steps", 30, "--batch", 0,
                 "--backend", "ideal", "--json", "-o", tmp_path / "train")
    assert res.exit_code == 0, res.output
    dense_psnr = json.loads(res.output)["psnr_software"]
    res = _field("sparse", "--model", tmp_path / "train", "--volume", path, "--frame", 0,
                 "--target-frame", 1, "--slices", 2, "--finetune-steps", 5, "--batch", 0,
                 "--json", "-o", tmp_path / "s")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["target"].endswith("frame 1 (model: frame 0)")
    rows = {r["slices_used"]: r for r in out["sparse"]}
    assert sorted(rows) == [0, 2]
    # the no-fine-tune row is the trained model scored against phase 1: below its own
    # score on phase 0 (the phases differ), and the phase-1 fine-tune improves on it
    assert rows[0]["psnr_software"] < dense_psnr - 1.0
    assert rows[2]["psnr_used_software"] > rows[0]["psnr_used_software"]


def test_sparse_4d_frames_are_checked(model, tmp_path):
    d, _ = model  # trained on the 3 x 16 x 16 phantom, not on the file's frames
    path = _two_phases(tmp_path / "phases.nii.gz")
    cases = [
        (["--volume", path, "--frame", 0, "--target-frame", 2],
         "--target-frame must be an integer in 0..1"),
        (["--volume", path, "--frame", 0, "--target-frame", -1],
         "--target-frame must be an integer in 0..1"),
        (["--volume", path, "--frame", 5, "--target-frame", 1],
         "--frame must be an integer in 0..1"),
        (["--volume", path, "--frame", 0, "--target-frame", 1], "was not trained on frame 0"),
        (["--volume", path, "--target-frame", 1], "--target-frame needs a 4D --volume"),
        (["--target-frame", 1], "--target-frame needs a 4D --volume"),
    ]
    for args, match in cases:
        res = CliRunner().invoke(main, ["field", "sparse", "--model", str(d),
                                        *map(str, args), "-o", str(tmp_path / "r")])
        assert res.exit_code == 2, (args, res.output)
        lines = [line for line in res.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0], \
            (args, res.output)
    assert not (tmp_path / "r").exists()
