"""A 3-layer MLP and a small CNN written with ``onnx.helper``, deployed on analog layers.

- float pass: this toolkit's executor equals the ONNX reference evaluator (float32 and
  float64 models);
- ideal backend: with exact tuned pairs the outputs equal the reference evaluator to
  1e-6 of full scale; with HAQ (12 bits, the paper preset's write noise) they equal the
  reference evaluator run on the model with the weights the cells hold (the read path
  adds nothing), and the per-layer error is the weights' own;
- realistic preset (slow): every layer's error is reported and HAQ beats PTQ, layer by
  layer and end to end; the counted events give a workload the ledger prices.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from cosim.accounting.energy import EnergyTable
from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.workloads.imported.onnx_model import FloatOracle, graph_to_proto, load_onnx, with_weights
from cosim.workloads.imported.results import ImportConfig, output_error
from cosim.workloads.imported.run import run_onnx
from tests.workloads.imported.onnx_models import cnn, mlp3

IDEAL = SimOptions(backend="ideal", use_cache=False)


def _load(model, tmp_path, name="m.onnx"):
    onnx.save(model, tmp_path / name)
    return load_onnx(tmp_path / name)


MODELS = {"mlp": (lambda: mlp3(), (40, 16)), "mlp-double": (lambda: mlp3(double=True), (40, 16)),
          "mlp-opset11": (lambda: mlp3(opset=11), (40, 16)), "cnn": (cnn, (12, 2, 10, 10))}


@pytest.mark.parametrize("name", list(MODELS))
def test_float_pass_equals_reference_evaluator(name, tmp_path):
    build, shape = MODELS[name]
    loaded = _load(build(), tmp_path)
    x = np.random.default_rng(0).normal(size=shape)
    r = run_onnx(ImportConfig(schemes=("pairs",)), preset("prime"), IDEAL, loaded, x)
    assert r.software_vs_reference < 1e-12
    # exact pairs on exact hardware: the deployed network is the float network
    for e in r.runs["pairs"].output_error:
        assert e["max"] < 1e-6


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_ideal_backend_equals_reference_with_the_cells_weights(name, tmp_path):
    build, shape = MODELS[name]
    loaded = _load(build(), tmp_path)
    x = np.random.default_rng(1).normal(size=shape)
    r = run_onnx(ImportConfig(schemes=("haq",)), preset("paper"), IDEAL, loaded, x)
    run = r.runs["haq"]
    assert all(ly.saturated == 0 for ly in run.layers)
    oracle = FloatOracle(graph_to_proto(with_weights(loaded.graph, loaded.matrices,
                                                     run.cell_weights), dtype="float64"))
    for ours, ref in zip(run.outputs, oracle({"x": x}), strict=True):
        assert output_error(ours, ref)["max"] < 1e-6
    # each layer's error is what its weights hold: nonzero (write noise 0.15), a few %
    for ly in run.layers:
        assert 1e-4 < ly.max_error < 0.1 and ly.rms_error < ly.max_error
        assert ly.cells == ly.rows * ly.cols * 12 and ly.macros >= 1


def _realistic(model, x, tmp_path, name):
    loaded = _load(model, tmp_path, name)
    r = run_onnx(ImportConfig(bits=6), preset("realistic"), SimOptions(use_cache=False),
                 loaded, x, np.arange(len(x)) % r_classes(loaded))
    haq, ptq = r.runs["haq"], r.runs["ptq"]
    names = [ly.name for ly in haq.layers]
    assert names == [ly.name for ly in ptq.layers] == list(loaded.matrices)
    for a, b in zip(haq.layers, ptq.layers, strict=True):
        assert 0 < a.rms_error < b.rms_error, (a.name, a.rms_error, b.rms_error)
        assert a.full_scale > 0 and a.vectors >= 1
    assert haq.output_error[0]["rms"] < ptq.output_error[0]["rms"]
    w = r.workload("haq")
    led = w.ledger(EnergyTable.cited())
    assert led["energy_per_inference_j"].sum() > 0
    assert w.hardware.cell == "1T1R" and w.events.tia_active_s > 0
    return r


def r_classes(loaded) -> int:
    return int(loaded.graph.outputs[0].shape[-1])


@pytest.mark.slow
def test_realistic_preset_haq_beats_ptq_per_layer(tmp_path):
    rng = np.random.default_rng(2)
    _realistic(mlp3(sizes=(8, 12, 6, 4)), rng.normal(size=(24, 8)), tmp_path, "mlp.onnx")
    _realistic(cnn(), rng.normal(size=(4, 2, 10, 10)), tmp_path, "cnn.onnx")


def test_a_model_the_reference_evaluator_cannot_run_uses_the_float_pass(tmp_path):
    """The reference evaluator has no grouped ConvTranspose: the deployment still runs,
    against this toolkit's own float pass, and says so."""
    from onnx import TensorProto, helper, numpy_helper

    k = np.random.default_rng(0).normal(size=(4, 2, 3, 3)).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("ConvTranspose", ["x", "k"], ["y"], group=2, strides=[2, 2])], "ct",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 11, 11])],
        initializer=[numpy_helper.from_array(k, "k")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    loaded = _load(m, tmp_path)
    x = np.random.default_rng(1).normal(size=(3, 4, 5, 5))
    r = run_onnx(ImportConfig(schemes=("pairs",)), preset("prime"), IDEAL, loaded, x)
    assert np.isnan(r.software_vs_reference)
    assert any("reference evaluator cannot run" in n for n in r.notes)
    assert r.runs["pairs"].output_error[0]["max"] < 1e-6


def test_operators_reading_one_weight_share_one_deployment(tmp_path):
    """Two MatMuls read initializer ``W`` (a layer used twice, as an unrolled network uses
    it at every step) and a third reads an equal copy under another name: ``W`` is placed
    once and both of its nodes read the same cells, so with HAQ (the paper preset's write
    noise) the outputs equal the reference evaluator on the cells' weights."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(0, 0.4, (6, 6))
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"], name="first"),
         helper.make_node("Relu", ["h"], ["a"], name="relu"),
         helper.make_node("MatMul", ["a", "W"], ["h2"], name="again"),
         helper.make_node("MatMul", ["h2", "W_copy"], ["y"], name="copy")], "shared",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["N", 6])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(w, "W_copy")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    loaded = _load(m, tmp_path)
    assert loaded.owners == {"again": "first"} and list(loaded.deployed) == ["first", "copy"]
    assert any("'W' is used by 2 nodes" in n for n in loaded.notes)
    x = np.random.default_rng(1).normal(size=(30, 6))
    r = run_onnx(ImportConfig(schemes=("haq",)), preset("paper"), IDEAL, loaded, x)
    run = r.runs["haq"]
    assert [ly.name for ly in run.layers] == ["first", "copy"]
    assert [ly.vectors for ly in run.layers] == [2, 1]  # products per input
    assert run.cells == 2 * 36 * 12
    cells = with_weights(loaded.graph, loaded.matrices, run.cell_weights, loaded.owners)
    assert not np.array_equal(run.cell_weights["first"][0], w)  # written with noise
    oracle = FloatOracle(graph_to_proto(cells, dtype="float64"))
    assert output_error(run.outputs[0], oracle({"x": x})[0])["max"] < 1e-6
