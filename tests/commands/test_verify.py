"""``cosim verify RUN_DIR``: a run's recorded layers against ngspice, macro by macro."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cosim.cli import main

HAQ = ["haq", "--vector-length", "40", "--outputs", "4", "--bits", "6", "--read-cycles", "0",
       "--macro-rows", "16", "--macro-cols", "48"]


def _run(args, tmp_path, name):
    out = tmp_path / name
    res = CliRunner().invoke(main, [*args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.ngspice
@pytest.mark.slow
def test_a_realistic_haq_run_passes_and_an_ideal_one_does_not(tmp_path):
    """1T1R cells, wires, TIA (the realistic preset on 16-row macros): every macro of both
    layers within the calibrated backend's stated error. The same test on the ideal
    backend claims nothing, so it cannot pass."""
    run = _run(HAQ, tmp_path, "realistic")
    res = CliRunner().invoke(main, ["verify", str(run), "--workers", "1", "--slices", "2",
                                    "--vectors", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["passed"] and out["macros"] == 6 and out["failed"] == 0
    layers = pd.read_csv(run / "verify" / "layers.csv")
    assert list(layers["name"]) == ["ptq", "haq"] and layers["within"].all()
    macros = pd.read_csv(run / "verify" / "macros.csv")
    assert (macros["max_rel_error"] <= macros["stated_error"]).all()
    assert (macros["max_rel_error"] > 0).all()  # a real comparison, not a copy
    assert (run / "verify" / "verify.png").is_file()

    ideal = _run([*HAQ, "--backend", "ideal"], tmp_path, "ideal")
    res = CliRunner().invoke(main, ["verify", str(ideal), "--workers", "1", "--slices", "1",
                                    "--vectors", "2"])
    assert res.exit_code == 1 and "OVER" in res.output and "FAILED" in res.output


def test_verify_refuses_bad_inputs(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["verify", str(tmp_path)])
    assert res.exit_code == 2 and "no recorded layers" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(main, ["verify", str(tmp_path / "missing")])
    assert res.exit_code == 2
    for bad in (["--scheduler", "nowhere"], ["--slices", "-1"], ["--vectors", "0"],
                ["--workers", "0"], ["--timeout", "0"]):
        res = runner.invoke(main, ["verify", str(tmp_path), *bad])
        assert res.exit_code == 2, (bad, res.output)
        assert len(res.output.strip().splitlines()) == 1, res.output


@pytest.mark.ngspice
@pytest.mark.slow
def test_an_imported_model_deployed_on_the_realistic_preset_passes(tmp_path):
    """A 3-layer MLP written with onnx.helper, deployed by ``cosim deploy`` on 1T1R cells
    with wires and a TIA (16-row macros): its run folder keeps every layer of both
    schemes, and each is within the stated error against ngspice."""
    import numpy as np
    import onnx

    from tests.workloads.imported.onnx_models import mlp3

    model = tmp_path / "mlp.onnx"
    onnx.save(mlp3(sizes=(8, 12, 6, 4)), str(model))
    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).normal(size=(6, 8)))
    run = _run(["deploy", str(model), "--data", str(data), "--bits", "6", "--hardware",
                "realistic", "--macro-rows", "16", "--macro-cols", "48"], tmp_path, "deployed")
    res = CliRunner().invoke(main, ["verify", str(run), "--workers", "1", "--slices", "1",
                                    "--vectors", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    names = [ly["name"] for ly in out["layers"]]
    assert len(names) == 6 and {n.split("/")[0] for n in names} == {"haq", "ptq"}
    assert out["passed"] and all(ly["max_rel_error"] > 0 for ly in out["layers"])
