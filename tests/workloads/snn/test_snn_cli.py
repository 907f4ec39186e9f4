"""``cosim snn run|train|eval|sweep-threshold|sweep-noise`` end to end on a tiny N-MNIST
folder (ideal backend); Ctrl-C during training and ``--resume`` (train and run); bad inputs
give one-line errors. The commands share one network config, so JAX compiles its training
step once."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError
from cosim.accounting.energy import EnergyTable
from cosim.cli import main
from cosim.commands import snn as snn_commands
from cosim.outputs.report import load_workload
from cosim.outputs.snn import load_checkpoint
from cosim.workloads.snn.dvs import DVSConfig, synthesize
from cosim.workloads.snn.nmnist import encode_events


@pytest.fixture(scope="module")
def nmnist_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("nmnist")
    rng = np.random.default_rng(0)
    img = np.zeros((30, 28, 28), np.uint8)
    labels = np.arange(30) % 10
    for i, c in enumerate(labels):
        img[i, 2 + 2 * c:8 + 2 * c, 4:24] = 255
        img[i] = np.where(rng.random((28, 28)) < 0.02, 255, img[i])
    es = synthesize(img, labels, DVSConfig(saccade_us=20_000))
    for i, c in enumerate(labels):
        (root / str(c)).mkdir(exist_ok=True)
        (root / str(c) / f"{i:05d}.bin").write_bytes(encode_events(es.sample(i)))
    return root


SMALL = ["--frames", "3", "--epochs", "2", "--train", "20", "--test", "10"]


def _run(args, command="run"):
    return CliRunner().invoke(main, ["snn", command, *args])


def _one_line_error(r, msg):
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:") and msg in lines[0], r.output


def _interrupting_epoch_bar(bar):
    def on_epoch(row):
        raise KeyboardInterrupt
    return on_epoch


@pytest.fixture(scope="module")
def trained(nmnist_folder, tmp_path_factory, request):
    """A train folder made the hard way: Ctrl-C after epoch 1 of 2, then --resume."""
    out = tmp_path_factory.mktemp("train") / "t"
    mp = pytest.MonkeyPatch()

    mp.setattr(snn_commands, "_epoch_bar", _interrupting_epoch_bar)
    r = _run(["--data", str(nmnist_folder), *SMALL, "-o", str(out)], "train")
    mp.undo()
    assert r.exit_code == 130, r.output
    assert "interrupted" in r.output and "keeps 1 of 2 epochs" in r.output
    first = load_checkpoint(out)[0].history
    assert len(first) == 1
    r = _run(["--resume", "-o", str(out), "--json"], "train")
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["epochs"] == 2 and s["train_history"][0] == first[0]
    assert (out / "history.csv").is_file() and (out / "manifest.json").is_file()
    return out


@pytest.mark.slow
def test_train_resume_continues_where_ctrl_c_stopped(trained):
    net, cfg, source, _ = load_checkpoint(trained)
    assert [h["epoch"] for h in net.history] == [0, 1]
    assert cfg.net.n_frames == 3 and cfg.n_train == 20 and source
    # a finished training has nothing to resume
    _one_line_error(_run(["--resume", "-o", str(trained)], "train"), "already trained 2")


@pytest.mark.slow
def test_eval_json_and_run_folder(trained, tmp_path):
    r = _run([str(trained), "--backend", "ideal", "--threshold", "0.5", "-o",
              str(tmp_path / "e"), "--json"], "eval")
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["threshold"] == 0.5 and 1.0 <= s["avg_timesteps"] <= 3.0
    assert 0.0 <= s["accuracy"] <= 1.0
    assert (tmp_path / "e" / "workload.json").is_file()
    assert (tmp_path / "e" / "confusion.csv").is_file()


@pytest.mark.slow
def test_sweep_threshold_has_one_point_per_threshold(trained, tmp_path):
    r = _run([str(trained), "--backend", "ideal", "--thresholds", "0.2,0.6,1", "-o",
              str(tmp_path / "s"), "--json"], "sweep-threshold")
    assert r.exit_code == 0, r.output
    pts = json.loads(r.output)["points"]
    assert [p["threshold"] for p in pts] == [0.2, 0.6, 1.0]
    assert all({"accuracy", "avg_timesteps", "threshold"} <= set(p) for p in pts)
    # a lower threshold stops no later
    assert pts[0]["avg_timesteps"] <= pts[1]["avg_timesteps"] <= pts[2]["avg_timesteps"] == 3


@pytest.mark.slow
def test_sweep_noise_has_one_point_per_scale(trained, tmp_path):
    r = _run([str(trained), "--backend", "ideal", "--read-noise", "0,0.1", "-o",
              str(tmp_path / "n"), "--json"], "sweep-noise")
    assert r.exit_code == 0, r.output
    pts = json.loads(r.output)["points"]
    assert [p["read_noise"] for p in pts] == [0.0, 0.1]
    assert all({"accuracy", "avg_timesteps", "threshold"} <= set(p) for p in pts)
    assert (tmp_path / "n" / "accuracy_vs_read_noise.png").is_file()


@pytest.mark.slow
def test_snn_run_writes_a_run_folder(nmnist_folder, tmp_path, monkeypatch):
    out = tmp_path / "run"
    # Ctrl-C after the first epoch keeps the checkpoint; --resume trains on and evaluates
    with monkeypatch.context() as mp:
        mp.setattr(snn_commands, "_epoch_bar", _interrupting_epoch_bar)
        r = _run(["--data", str(nmnist_folder), *SMALL, "--backend", "ideal", "-o", str(out)])
    assert r.exit_code == 130 and "keeps 1 of 2 epochs" in r.output, r.output
    assert "cosim snn run --resume" in r.output
    r = _run(["--resume", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert [h["epoch"] for h in load_checkpoint(out)[0].history] == [0, 1]
    s = json.loads(r.output)
    assert {"accuracy", "avg_timesteps", "threshold", "points"} <= set(s)
    assert 0 <= s["accuracy"] <= 1 and len(s["points"]) >= 1
    assert s["zero_peak_fraction_after_pruning"] >= 0.5  # half the pairs RESET
    for f in ("thresholds.csv", "confusion.csv", "history.csv", "workload.json",
              "manifest.json", "conductance_histogram.png", "accuracy_vs_timesteps.svg"):
        assert (out / f).is_file(), f
    # the report reads both workloads: one inference of T = 3 steps, and with early stop
    full, early = load_workload(out), load_workload(out / "workload_early_stop.json")
    assert full.events.cell_reads == 3 * 2 * (2312 * 250 + 250 * 250 + 250 * 10)
    assert full.extra_counts["lif_updates"] == 3 * (250 + 250)
    assert full.claim == "SNN N-MNIST"
    assert full.hardware.arrays == 5 + 1 + 1  # 2312 rows: 5 macros of 512
    t_es = s["energy_per_inference_j"]
    assert early.extra_counts["lif_updates"] <= full.extra_counts["lif_updates"]
    led = full.ledger(EnergyTable.cited()).set_index("component")
    assert led.loc["lif_update", "energy_per_inference_j"] == pytest.approx(1500 * 2.933e-12)
    assert t_es["early_stop"] <= t_es["no_early_stop"] == pytest.approx(
        led["energy_per_inference_j"].sum())


@pytest.mark.slow
def test_compare_writes_fig_3e_rows_and_fig_3g_points(nmnist_folder, tmp_path):
    out = tmp_path / "c"
    r = _run(["--data", str(nmnist_folder), *SMALL, "--backend", "ideal", "--write-noise",
              "0,0.5", "-o", str(out), "--json"], "compare")
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert [row["method"] for row in s["rows"]] == [
        "weight-trained SNN", "software pruning", "memristor pruning",
        "random untrained, software", "random untrained, memristor"]
    assert [p["write_noise"] for p in s["points"]] == [0.0, 0.5]
    # on the ideal backend without write noise, hardware equals software (float64 numpy vs
    # float32 JAX: a sample on a decision boundary may flip, 1 of 10)
    acc = {row["method"]: row["accuracy"] for row in s["rows"]}
    one = 0.1 + 1e-9
    assert abs(acc["memristor pruning"] - acc["software pruning"]) <= one
    assert abs(acc["random untrained, memristor"] - acc["random untrained, software"]) <= one
    assert s["points"][0]["memristor_pruning"] == acc["memristor pruning"]
    assert s["points"][0]["weight_tuning"] == pytest.approx(acc["weight-trained SNN"], abs=one)
    for f in ("comparison.csv", "write_noise.csv", "comparison.png", "manifest.json"):
        assert (out / f).is_file(), f


@pytest.mark.slow
def test_the_snn_stage_writes_what_the_report_reads(nmnist_folder, tmp_path):
    from cosim.outputs.snn import write_run
    from cosim.stages import Context, build, workload_stage
    from cosim.workloads.snn.data import read_nmnist_folder
    from cosim.workloads.snn.stage import SnnStage, compute_snn_stage, snn_headline
    from tests.hardware_helpers import sim

    cfg = SnnStage(n_train=20, n_test=10, epochs=2, n_frames=3, hardware="prime")
    data = read_nmnist_folder(nmnist_folder)
    run = workload_stage(lambda c, hw, sim_: compute_snn_stage(c, hw, sim_, data),
                         lambda r, out: write_run(r, out, "snn run"))
    s = run(Context(config={"sim": sim(backend="ideal")}, run_dir=tmp_path, results={},
                    name="snn"), cfg)
    assert 0 <= s["accuracy"] <= 1 and "early stop" in snn_headline(s)
    w = load_workload(tmp_path / "snn")
    assert w.extra_counts["lif_updates"] == 3 * 500 and w.claim == "SNN N-MNIST"
    for t in ("thresholds", "confusion", "history", "energy_per_inference"):
        assert (tmp_path / "snn" / f"{t}.csv").is_file()
    with pytest.raises(ConfigError, match="unknown sim.backend 'spcie'"):
        build("sim", {"backend": "spcie"})  # the backend is the job's [sim] now
    with pytest.raises(ConfigError, match="unknown hardware 'primo'"):
        SnnStage(hardware="primo")
    with pytest.raises(ConfigError, match="epochs"):
        SnnStage(epochs=-1)


@pytest.mark.parametrize("args, msg", [
    (["--data", "/nonexistent/folder"], "does not exist"),
    (["--frames", "0"], "T"),
    (["--backend", "spcie"], "backend"),
    (["--train", "0"], "n_train"),
    (["--read-noise", "2"], "hardware.noise.read must be in [0, 1]"),
    (["--net", "cnn"], "'cnn' is not one of"),
])
def test_bad_inputs_are_one_line_errors(args, msg, tmp_path):
    _one_line_error(_run([*args, "-o", str(tmp_path / "x")]), msg)


def _bad_checkpoint(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "checkpoint.npz").write_bytes(b"PK\x03\x04 truncated")
    return str(tmp_path / "bad")


@pytest.mark.parametrize("command, args, msg", [
    ("train", ["--resume"], "--resume continues a training folder"),
    ("train", ["--resume", "-o", "{empty}"], "no checkpoint.npz"),
    ("run", ["--resume"], "--resume continues a run folder"),
    ("run", ["--resume", "-o", "{empty}"], "no checkpoint.npz"),
    ("train", ["--epochs", "-1", "-o", "{x}"], "epochs"),
    ("eval", ["{empty}", "-o", "{x}"], "no checkpoint.npz"),
    ("eval", ["{bad}", "-o", "{x}"], "not a readable SNN checkpoint"),
    ("eval", ["{bad}", "--threshold", "0", "-o", "{x}"], "threshold"),
    ("eval", ["{bad}", "--threshold", "1.5", "-o", "{x}"], "threshold"),
    ("eval", ["{bad}", "--backend", "spcie", "-o", "{x}"], "backend"),
    ("sweep-threshold", ["{bad}", "--thresholds", "0.5,abc", "-o", "{x}"],
     "numbers separated by commas"),
    ("sweep-threshold", ["{bad}", "--thresholds", "0.5,1.2", "-o", "{x}"], "threshold"),
    ("sweep-noise", ["{bad}", "--read-noise", "0.01,2", "-o", "{x}"],
     "noise.read must be in [0, 1]"),
    ("sweep-noise", ["{bad}", "--read-noise", ",", "-o", "{x}"], "--read-noise: empty item"),
    ("sweep-noise", ["{bad}", "--threshold", "-1", "-o", "{x}"], "threshold"),
    ("compare", ["--write-noise", "0.1,-0.2", "-o", "{x}"], "write noise"),
    ("compare", ["--write-noise", "x", "-o", "{x}"], "numbers separated by commas"),
    ("compare", ["--backend", "spcie", "-o", "{x}"], "backend"),
])
def test_bad_inputs_of_the_subcommands_are_one_line_errors(command, args, msg, tmp_path):
    (tmp_path / "empty").mkdir()
    where = {"empty": str(tmp_path / "empty"), "bad": _bad_checkpoint(tmp_path),
             "x": str(tmp_path / "x")}
    _one_line_error(_run([a.format(**where) for a in args], command), msg)


def test_eval_refuses_a_busy_output_folder(trained, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "other.txt").write_text("x")
    _one_line_error(_run([str(trained), "-o", str(tmp_path / "full")], "eval"), "not empty")
