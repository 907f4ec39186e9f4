"""The NF paper MVM test, the resumable sweep runner and the ``cosim haq`` commands."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError, CosimWarning
from cosim.cli import main
from cosim.hardware.spec import HardwareSpec
from cosim.sweep import ROWS_FILE, LocalBackend, grid, load_rows, parse_range, run_sweep
from cosim.workloads.haq.mvm import (
    HaqExperimentConfig,
    best_amp_ratio,
    run_mvm_experiment,
    sweep_point,
)
from tests.hardware_helpers import sim

SMALL = {"vector_length": 100, "n_outputs": 16, "n_vectors": 16, "read_cycles": 0}
IDEAL = sim(backend="ideal")
QUIET = HardwareSpec().with_parts(noise={"read": 0.0})
"""The realistic hardware without read noise."""
POINT = functools.partial(sweep_point, hardware=QUIET.as_dict(), sim=asdict(IDEAL))
"""One sweep point on QUIET hardware, ideal backend."""


# -- the MVM test ----------------------------------------------------------------------


@pytest.mark.slow
def test_paper_setting_haq_at_least_10x_better_than_ptq():
    """NF paper Fig. 2f,g: length 100, 8-bit inputs, 12-bit weights, s = 1.5."""
    res = run_mvm_experiment(HaqExperimentConfig(read_cycles=5), sim=IDEAL)
    assert res.ratio >= 10.0
    # Same scale as the paper (PTQ 0.789, HAQ 0.049) under our normalisation.
    assert 0.5 < res.ptq.rmse < 1.2
    assert 0.02 < res.haq.rmse < 0.1
    s = res.summary()
    assert {"rmse_ptq", "rmse_haq", "ratio", "normalisation"} <= set(s)
    # Read noise is fresh per read: cycles differ, but only slightly.
    c = res.haq.rmse_cycles
    assert c.shape == (5,) and c.std() > 0 and c.std() < 0.1 * c.mean()


@pytest.mark.slow
def test_best_s_falls_as_write_noise_rises(tmp_path):
    """NF paper Supp. Fig. 1a, on a small sweep table (12 bits)."""
    points = grid({"amp_ratio": parse_range("1.2:2.0:0.1", "s"),
                   "write_noise": [0.05, 0.15, 0.30], "bits": [12], "seed": [0, 1]},
                  **{k: v for k, v in SMALL.items()})
    res = run_sweep(POINT, points, tmp_path / "sw", progress=False)
    best = best_amp_ratio(res.table)
    s_best = best.sort_values("write_noise")["best_amp_ratio"].to_numpy()
    assert np.all(np.diff(s_best) <= 1e-9), best
    assert s_best[0] > s_best[-1]
    assert (tmp_path / "sw" / "sweep.parquet").exists()
    assert (tmp_path / "sw" / "sweep.csv").exists()
    assert len(pd.read_parquet(tmp_path / "sw" / "sweep.parquet")) == len(points)


# -- range parsing ---------------------------------------------------------------------


def test_parse_range():
    assert parse_range("1.1:2.5:0.1", "s") == [round(1.1 + 0.1 * k, 10) for k in range(15)]
    assert parse_range("0.05:0.30:0.05", "noise")[-1] == 0.3
    assert parse_range("4,8,12,16", "bits", integer=True) == [4, 8, 12, 16]
    assert parse_range("1.5", "s") == [1.5]


@pytest.mark.parametrize("text, match", [
    ("2.5:1.1:0.1", "ends"), ("1.1:2.5:0", "step"), ("1.1:2.5", "a:b:step"),
    ("1.1:x:0.1", "not a number"), ("", "empty"), ("4.5", "whole"),
])
def test_parse_range_malformed(text, match):
    with pytest.raises(ConfigError, match=match):
        parse_range(text, "--x", integer=(text == "4.5"))


# -- the sweep runner ------------------------------------------------------------------


CALLS: list[dict] = []


def _square(point):
    CALLS.append(dict(point))
    if point.get("fail"):
        raise KeyboardInterrupt
    return {"y": point["a"] ** 2}


def test_resume_recomputes_nothing(tmp_path):
    CALLS.clear()
    pts = grid({"a": [1, 2, 3, 4]})
    out = tmp_path / "run"
    first = run_sweep(_square, pts, out, progress=False)
    assert first.computed == 4 and len(CALLS) == 4
    again = run_sweep(_square, pts, out, resume=True, progress=False)
    assert again.computed == 0 and again.skipped == 4 and len(CALLS) == 4
    assert again.table["y"].tolist() == [1, 4, 9, 16]
    with pytest.raises(ConfigError, match="--resume"):
        run_sweep(_square, pts, out, progress=False)


def test_interrupted_sweep_resumes_where_it_stopped(tmp_path):
    CALLS.clear()
    out = tmp_path / "run"
    pts = [{"a": 1}, {"a": 2}, {"a": 3, "fail": True}, {"a": 4}]
    with pytest.raises(KeyboardInterrupt):
        run_sweep(_square, pts, out, progress=False)
    assert len(load_rows(out)) == 2
    # A row cut short by the interrupt is dropped, not misread.
    with open(out / ROWS_FILE, "a") as f:
        f.write('{"point_key": "abc", "a": ')
    pts[2] = {"a": 3}
    CALLS.clear()
    with pytest.warns(CosimWarning, match="cut short by an interrupt"):
        res = run_sweep(_square, pts, out, resume=True, progress=False)
    assert [c["a"] for c in CALLS] == [3, 4]
    assert res.computed == 2 and res.skipped == 2
    assert res.table["y"].tolist() == [1, 4, 9, 16]
    assert all(json.loads(line) for line in (out / ROWS_FILE).read_text().splitlines())


@pytest.mark.slow
def test_process_pool_backend(tmp_path):
    pts = grid({"amp_ratio": [1.5, 1.8], "write_noise": [0.15], "bits": [6], "seed": [0]},
               **SMALL)
    res = run_sweep(POINT, pts, tmp_path / "pool", backend=LocalBackend(workers=2),
                    progress=False)
    assert res.computed == 2
    serial = [POINT(p)["rmse_haq"] for p in pts]
    np.testing.assert_allclose(res.table["rmse_haq"], serial)


# -- the commands ----------------------------------------------------------------------


@pytest.mark.slow
def test_cosim_haq_json(tmp_path):
    r = CliRunner().invoke(main, ["haq", "--backend", "ideal", "--read-cycles", "3",
                                  "-o", str(tmp_path / "h"), "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["ratio"] >= 10 and "normalisation" in obj
    for f in ("scatter_weights.png", "scatter_weights.svg", "mvm.csv", "weights.csv"):
        assert (tmp_path / "h" / f).exists()


@pytest.mark.slow
def test_cosim_sweep_haq_and_resume(tmp_path):
    args = ["sweep", "haq", "--amp-ratio", "1.3:1.6:0.3", "--write-noise", "0.1,0.3",
            "--bits", "8",
            "--seeds", "1", "--backend", "ideal", "--workers", "1", "-o", str(tmp_path / "s")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "best amplification ratio" in r.output
    for f in ("sweep.parquet", "sweep.csv", "heatmap_rmse_haq_8bit.png",
              "heatmap_rmse_haq_8bit.svg", "best_amp_ratio.csv"):
        assert (tmp_path / "s" / f).exists()
    r2 = CliRunner().invoke(main, args + ["--resume", "--json"])
    assert r2.exit_code == 0, r2.output
    obj = json.loads(r2.stdout)
    assert obj["computed"] == 0 and obj["skipped"] == 4
    r3 = CliRunner().invoke(main, args)
    assert r3.exit_code == 2 and "--resume" in r3.output


@pytest.mark.parametrize("extra, match", [
    (["--amp-ratio", "1.0"], "amplification ratio"),
    (["--amp-ratio", "2.5:1.1:0.1"], "ends"),
    (["--bits", "17"], "bits"),
    (["--bits", "0"], "bits"),
    (["--write-noise", "-0.1"], "write must be in [0, 10]"),
    (["--backend", "spcie"], "did you mean 'spice'"),
])
def test_cosim_sweep_haq_bad_input(tmp_path, extra, match):
    r = CliRunner().invoke(main, ["sweep", "haq", "--seeds", "1", "-o", str(tmp_path / "b"),
                                  *extra])
    assert r.exit_code == 2
    assert match in r.output
    assert not (tmp_path / "b" / ROWS_FILE).exists()


@pytest.mark.parametrize("extra, match", [
    (["--amp-ratio", "1.0"], "amplification ratio"), (["--bits", "17"], "bits"),
    (["--write-noise", "-0.2"], "hardware.noise.write must be in [0, 10]"),
])
def test_cosim_haq_bad_input(tmp_path, extra, match):
    r = CliRunner().invoke(main, ["haq", "--backend", "ideal", "-o", str(tmp_path), *extra])
    assert r.exit_code == 2 and match in r.output


def test_measured_ratio_codec_and_ideal():
    from cosim.workloads.haq.mvm import decode_ratios, encode_ratios, measured_vcmac_ratios

    d = {5: 1.4997855, 10: 1.9998993}
    assert decode_ratios(encode_ratios(d)) == d
    assert encode_ratios(None) == "" and decode_ratios("") == {}
    with pytest.raises(ConfigError, match="code:ratio"):
        decode_ratios("5=1.5")
    assert measured_vcmac_ratios([1.5], "ideal") is None


@pytest.mark.ngspice
def test_analog_aggregation_with_the_measured_vcmac():
    """The transistor-level VCMAC's measured ratio drives HAQ: the analog chain then
    computes the digital powers of that ratio, so both give the same outputs."""
    from cosim.workloads.haq.mvm import measured_vcmac_ratios

    measured = measured_vcmac_ratios([1.5], "calibrated", points=5)
    assert set(measured) == {5} and measured[5] == pytest.approx(1.5, rel=0.01)
    base = dict(SMALL, n_bits=12, seed=2)
    dig = run_mvm_experiment(HaqExperimentConfig(**base, amp_ratio=measured[5]), QUIET, IDEAL)
    ana = run_mvm_experiment(HaqExperimentConfig(**base),
                             QUIET.with_parts(aggregation={"kind": "analog"}), IDEAL,
                             vcmac_measured=measured)
    assert ana.haq_ratio_programmed == measured[5]
    np.testing.assert_allclose(ana.haq.y, dig.haq.y, rtol=0,
                               atol=1e-9 * np.abs(dig.haq.y).max())


# -- damaged or foreign points.jsonl ----------------------------------------------------


def test_resume_keeps_every_good_row_after_a_corrupt_line(tmp_path):
    CALLS.clear()
    pts = grid({"a": list(range(36))})
    out = tmp_path / "run"
    run_sweep(_square, pts, out, progress=False)
    path = out / ROWS_FILE
    lines = path.read_text().splitlines(keepends=True)
    assert json.loads(lines[0])["cosim_sweep"] == 1 and len(lines) == 37
    lines[5] = '{"point_key": "2f1c", "a": 4, "y"\n'  # line 6 of the file, cut and joined
    lines[9] = "\x00\x00garbage\n"  # line 10
    damaged = "".join(lines)
    path.write_text(damaged)
    CALLS.clear()
    with pytest.warns(CosimWarning, match="lines 6, 10 are not a valid sweep row"):
        res = run_sweep(_square, pts, out, resume=True, progress=False)
    assert res.skipped == 34 and res.computed == 2  # only the two damaged points again
    assert sorted(c["a"] for c in CALLS) == [4, 8]
    assert res.table["y"].tolist() == [a * a for a in range(36)]
    text = path.read_text()
    assert text.startswith(damaged)  # the bad lines are left as they were
    assert len(text.splitlines()) == 39


@pytest.mark.slow
def test_cosim_sweep_haq_resume_warns_of_a_corrupt_line(tmp_path):
    args = ["sweep", "haq", "--amp-ratio", "1.3,1.5", "--write-noise", "0.1", "--bits", "6",
            "--seeds", "1", "--backend", "ideal", "--workers", "1", "-o", str(tmp_path / "s")]
    assert CliRunner().invoke(main, args).exit_code == 0
    path = tmp_path / "s" / ROWS_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "{broken\n" + "".join(lines[2:]))
    r = CliRunner().invoke(main, args + ["--resume", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["computed"] == 1
    assert f"warning: {path}: line 2 is not a valid sweep row" in r.stderr


def test_resume_refuses_a_points_file_it_did_not_write(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    foreign = "x,y\n1,2\n3,4\n"
    (out / ROWS_FILE).write_text(foreign)
    with pytest.raises(ConfigError, match="not a cosim sweep file") as err:
        run_sweep(_square, grid({"a": [1, 2]}), out, resume=True, progress=False)
    assert "\n" not in str(err.value)
    assert (out / ROWS_FILE).read_text() == foreign  # not truncated
    assert sorted(p.name for p in out.iterdir()) == [ROWS_FILE]
    # Rows without the header (e.g. hand-made) are refused too, and left alone.
    rows = '{"point_key": "k", "a": 1, "y": 1}\n{"point_key": "k2", "a": '
    (out / ROWS_FILE).write_text(rows)
    with pytest.raises(ConfigError, match="not a cosim sweep file"):
        run_sweep(_square, grid({"a": [1, 2]}), out, resume=True, progress=False)
    assert (out / ROWS_FILE).read_text() == rows


def test_cosim_sweep_haq_resume_on_a_foreign_file_is_one_line(tmp_path):
    out = tmp_path / "s"
    out.mkdir()
    (out / ROWS_FILE).write_text("not json\n")
    r = CliRunner().invoke(main, ["sweep", "haq", "--amp-ratio", "1.5", "--write-noise", "0.1",
                                  "--bits", "8", "--seeds", "1", "--backend", "ideal",
                                  "--workers", "1", "-o", str(out), "--resume"])
    assert r.exit_code == 2 and "not a cosim sweep file" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert (out / ROWS_FILE).read_text() == "not json\n"


def test_resume_into_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a sweep to resume"):
        run_sweep(_square, grid({"a": [1]}), tmp_path, resume=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(ConfigError, match="not empty"):
        run_sweep(_square, grid({"a": [1]}), tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
