"""``cosim snn run`` end to end on a tiny N-MNIST folder; bad inputs give one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cosim.accounting.energy import EnergyTable
from cosim.cli import main
from cosim.outputs.report import load_workload
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


def _run(args):
    return CliRunner().invoke(main, ["snn", "run", *args])


def test_snn_run_writes_a_run_folder(nmnist_folder, tmp_path):
    out = tmp_path / "run"
    r = _run(["--data", str(nmnist_folder), "--backend", "ideal", "--frames", "3",
              "--epochs", "1", "--train", "20", "--test", "10", "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
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


@pytest.mark.parametrize("args, msg", [
    (["--data", "/nonexistent/folder"], "is not a folder"),
    (["--frames", "0"], "T"),
    (["--backend", "spcie"], "backend"),
    (["--train", "0"], "n_train"),
    (["--read-noise", "2"], "read noise"),
])
def test_bad_inputs_are_one_line_errors(args, msg, tmp_path):
    r = _run([*args, "-o", str(tmp_path / "x")])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error:") and msg in lines[0], r.output
