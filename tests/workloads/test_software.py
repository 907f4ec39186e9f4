"""The workloads' software networks timed on this device (``cosim baseline``)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError
from cosim.accounting.workload import make_workload, write_workload_json
from cosim.cli import main
from cosim.outputs.manifest import write_manifest
from cosim.outputs.report import ReportOptions, build_report
from cosim.workloads.baselines import SOFTWARE_NETS
from cosim.workloads.software import (
    ASSUMED_CPU_W_PER_CORE,
    NvidiaSmiPower,
    cpu_power,
    jax_device,
    measure_net,
)


def test_operations_per_inference_follow_each_workloads_rule():
    # counted by hand from the networks' shapes (the rules of their workload.json files)
    assert SOFTWARE_NETS["haq"]().ops_per_inference == 2 * 100 * 100
    # 131 -> 100, rank 10 (100 x 10, 10 x 100), -> 1
    assert SOFTWARE_NETS["field"]().ops_per_inference == 2 * (131 * 100 + 100 * 10 + 10 * 100
                                                              + 100 * 1)
    # T = 10 steps of three products and 2 x 250 LIF updates of 4 operations
    assert SOFTWARE_NETS["snn"]().ops_per_inference == 10 * (
        2 * (2312 * 250 + 250 * 250 + 250 * 10) + 4 * 500)


@pytest.mark.slow
def test_field_software_forward_is_the_numpy_network_on_the_encoding():
    """The JAX forward timed (encoding + jax_forward) against the numpy float64 network of
    cosim.workloads.field.mlp on features computed in numpy."""
    from cosim.workloads.field.mlp import PAPER_MLP, forward

    net = SOFTWARE_NETS["field"]()
    x = net.make_input(64, np.random.default_rng(3))
    p = net.params
    proj = 2 * np.pi * (x.astype(float) @ p["B"].T.astype(float))
    feats = np.concatenate([x, np.sin(proj), np.cos(proj)], axis=1)
    ref = forward({k: v for k, v in p.items() if k != "B"}, feats, PAPER_MLP)
    got = np.asarray(net.apply(p, x))
    assert got.shape == (64,)
    np.testing.assert_allclose(got, ref, atol=2e-4 * np.abs(ref).max())


def test_measure_net_rows():
    dev = jax_device("cpu")
    rows = measure_net(SOFTWARE_NETS["haq"](), dev, batches=(1, 8), min_time_s=0.0)
    assert [r["batch"] for r in rows] == [1, 8]
    for r in rows:
        assert r["repeats"] >= 3
        assert r["inferences_per_s"] == pytest.approx(r["batch"] / r["seconds_per_batch"])
        assert r["flops_per_s"] == pytest.approx(2e4 * r["inferences_per_s"])
        assert r["best_flops_per_s"] >= r["flops_per_s"]


def test_cpu_power_is_rated_when_given_else_assumed_and_labelled():
    given = cpu_power(65.0)
    assert (given.watts, given.origin) == (65.0, "rated")
    assumed = cpu_power(None, cores=3)
    assert assumed.watts == 3 * ASSUMED_CPU_W_PER_CORE and assumed.origin == "assumed"
    assert "--power-w" in assumed.source
    with pytest.raises(ConfigError, match="--power-w"):
        cpu_power(-1.0)


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_nvidia_smi_power_is_sampled_and_a_failure_is_one_error(tmp_path):
    fake = _script(tmp_path / "nvidia-smi", 'echo "123.5"')
    with NvidiaSmiPower(command=fake, period_s=0.01) as meter:
        pass
    assert len(meter.samples) >= 2 and meter.mean_w == pytest.approx(123.5)
    broken = _script(tmp_path / "broken-smi", 'echo "[N/A]"; exit 3')
    with pytest.raises(ConfigError, match="no power reading.*--power-w"):
        NvidiaSmiPower(command=broken).read()
    with pytest.raises(ConfigError, match="cannot run"):
        NvidiaSmiPower(command=str(tmp_path / "missing")).read()


def test_no_gpu_is_one_line_error_before_a_folder_is_made(tmp_path):
    import jax

    try:
        if jax.devices("gpu"):
            pytest.skip("JAX sees a GPU here")
    except RuntimeError:
        pass
    out = tmp_path / "b"
    result = CliRunner().invoke(main, ["baseline", "--device", "gpu", "-o", str(out)])
    assert result.exit_code == 2
    assert "JAX sees no GPU" in result.stderr and "[gpu]" in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_baseline_rows_price_the_matching_workload_in_the_report(tmp_path):
    base = tmp_path / "base"
    result = CliRunner().invoke(main, ["baseline", "--workload", "haq", "--batch", "1,16",
                                       "--min-time", "0", "--power-w", "50", "--json",
                                       "-o", str(base)])
    assert result.exit_code == 0, result.output
    measured = pd.read_csv(base / "measured_baselines.csv")
    assert list(measured["batch"]) == [1, 16] and (measured["origin"] == "measured").all()
    assert (measured["power_w"] == 50).all() and (measured["power_origin"] == "rated").all()
    np.testing.assert_allclose(measured["energy_per_inference_j"],
                               50 / measured["inferences_per_s"], rtol=1e-5)
    assert json.loads(result.stdout)["device"] == "cpu"

    runs = []
    for name, rows in (("haq", 100), ("other", 50)):  # the second is not the timed network
        run = tmp_path / name
        write_workload_json(run, make_workload({"kind": "mvm", "name": f"mvm {rows}",
                                                "rows": rows, "cols": 100, "bits": 12,
                                                "inferences": 100}))
        write_manifest(run, {"command": "haq"})
        runs.append(run)
    out = tmp_path / "report"
    build_report([*runs, base], out, ReportOptions(simulate=False))
    eff = pd.read_csv(out / "efficiency.csv")
    mine = eff[eff["key"] == "measured_cpu"]
    assert list(mine["workload"]) == ["mvm 100"]
    best = measured.loc[measured["inferences_per_s"].idxmax()]
    assert mine["energy_per_inference_j"].item() == pytest.approx(
        best["energy_per_inference_j"], rel=1e-5)
    ours = eff[(eff["workload"] == "mvm 100") & (eff["key"] == "ours")]
    ratio = pd.read_csv(out / "ratios.csv").set_index(["workload", "baseline"])
    assert ratio.loc[("mvm 100", "measured_cpu"), "energy_efficiency_ratio"] == pytest.approx(
        best["energy_per_inference_j"] / ours["energy_per_inference_j"].item(), rel=1e-5)
    assert "measured" in (out / "report.html").read_text()
    assert os.path.exists(out / "measured_baselines.csv")


def test_manifests_name_the_device_jax_ran_on():
    import jax

    from cosim.outputs.manifest import versions

    v = versions(simulator=False)
    assert v["jax"] == jax.__version__ and v["jax_backend"] == jax.default_backend()
