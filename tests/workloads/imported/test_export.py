"""The project's own networks exported and brought back.

- the SIREN (with its Gaussian encoder) as ONNX: the reference evaluator on the
  exported file computes what the field's own software model computes; re-imported on
  the ideal backend the deployed outputs equal the reference evaluator (exact pairs: on
  the file's weights; HAQ: on the weights its cells hold) to 1e-6 of full scale; on the
  realistic preset (slow) each layer's error is reported and HAQ beats PTQ;
- the SNN (MLP) as NIR: deployed from the file with tuned pairs on the SNN's own
  hardware (prime: exact writes) and seed, it gives the same logits at every step, and
  so the same accuracy, as the workload's own deployment of the trained network.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.outputs.export import write_model
from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.field.export import field_graph
from cosim.workloads.field.field import FieldConfig, prepare
from cosim.workloads.field.mlp import MLPConfig, forward, init_params
from cosim.workloads.imported.nir_model import load_nir
from cosim.workloads.imported.onnx_model import FloatOracle, graph_to_proto, load_onnx, with_weights
from cosim.workloads.imported.results import ImportConfig, output_error
from cosim.workloads.imported.run import run_onnx
from cosim.workloads.imported.spiking import run_nir
from cosim.workloads.snn.conv import ConvConfig
from cosim.workloads.snn.deployed import deploy, early_stop, run_timesteps
from cosim.workloads.snn.experiment import DEFAULT_THRESHOLDS
from cosim.workloads.snn.export import check_exportable, snn_graph
from cosim.workloads.snn.network import SNNConfig, TrainedSNN, random_pair_weights
from cosim.workloads.snn.network import init_params as snn_init

IDEAL = SimOptions(backend="ideal", use_cache=False)


@pytest.fixture(scope="module")
def siren(tmp_path_factory):
    """A small SIREN on a small phantom (untrained weights: the maths is what is tested),
    exported as ONNX."""
    cfg = FieldConfig(phantom_shape=(4, 16, 16), encoder=EncoderConfig(n_frequencies=8),
                      mlp=MLPConfig(width=16, rank=4))
    prep = prepare(cfg, preset("paper"), IDEAL)
    params = init_params(cfg.mlp, prep.feats.shape[1], np.random.default_rng(0))
    path = tmp_path_factory.mktemp("siren") / "siren.onnx"
    write_model(field_graph(params, cfg.mlp, prep.encoder), "onnx", path)
    return cfg, prep, params, path


def test_exported_siren_computes_the_field_model(siren):
    """The file holds float32 (the exchange default): the network's own weights are
    float32 already; the encoder's 2 pi B is rounded to float32, and with that the field's
    software model and the reference evaluator on the file agree to rounding."""
    cfg, prep, params, path = siren
    b_rad = np.asarray(2 * np.pi * prep.encoder.b.T, np.float32).astype(float)
    proj = prep.x @ b_rad
    ours = forward(params, np.concatenate([prep.x, np.sin(proj), np.cos(proj)], 1), cfg.mlp)
    loaded = load_onnx(path)
    ref = FloatOracle(loaded.proto)({"coords": prep.x})[0][:, 0]
    assert np.max(np.abs(ref - ours)) < 1e-9 * np.max(np.abs(ours))
    assert list(loaded.matrices) == ["proj", "z_in", "low1", "z1", "intensity"]


def test_reimported_siren_on_the_ideal_backend_equals_the_reference(siren):
    _, prep, _, path = siren
    loaded = load_onnx(path)
    exact = preset("paper").with_parts(noise={"write": 0.0})
    r = run_onnx(ImportConfig(schemes=("pairs",)), exact, IDEAL, loaded, prep.x)
    assert r.software_vs_reference < 1e-12
    assert r.runs["pairs"].output_error[0]["max"] < 1e-6
    # the paper preset's write noise (0.15) garbles the encoder's phases: room for that
    r = run_onnx(ImportConfig(schemes=("haq",), input_headroom=2.0), preset("paper"), IDEAL,
                 loaded, prep.x)
    run = r.runs["haq"]
    assert all(ly.saturated == 0 for ly in run.layers)
    oracle = FloatOracle(graph_to_proto(with_weights(loaded.graph, loaded.matrices,
                                                     run.cell_weights), dtype="float64"))
    assert output_error(run.outputs[0], oracle({"coords": prep.x})[0])["max"] < 1e-6


@pytest.mark.slow
def test_reimported_siren_on_the_realistic_preset(siren):
    _, prep, _, path = siren
    r = run_onnx(ImportConfig(bits=6), preset("realistic"), SimOptions(use_cache=False),
                 load_onnx(path), prep.x[::4])
    haq, ptq = r.runs["haq"], r.runs["ptq"]
    for a, b in zip(haq.layers, ptq.layers, strict=True):
        assert 0 < a.rms_error < b.rms_error, (a.name, a.rms_error, b.rms_error)
    assert haq.output_error[0]["rms"] < ptq.output_error[0]["rms"]


@pytest.mark.slow
def test_snn_exported_to_nir_gives_the_original_accuracy(tmp_path):
    cfg = SNNConfig(sizes=(24, 16, 4), n_frames=6, seed=3)
    fixed = random_pair_weights(cfg)
    params = {"scores": [np.asarray(s) for s in snn_init(cfg, fixed)["scores"]]}
    net = TrainedSNN(config=cfg, fixed=fixed, params=params)
    rng = np.random.default_rng(5)
    frames = rng.poisson(0.8, (40, 6, 24)).astype(np.float32)
    labels = rng.integers(0, 4, 40)
    hw, sim = preset("prime"), SimOptions(use_cache=False)
    # the workload's own deployment (pruned random pairs) and timestep loop
    original, counts = run_timesteps(deploy(net, hw, sim, seed=0), net, frames)
    path = tmp_path / "snn.nir"
    write_model(snn_graph(net), "nir", path)
    r = run_nir(ImportConfig(schemes=("pairs",), seed=0), hw, sim, load_nir(path),
                cfg.prepare(frames).astype(float), labels)
    imported = r.runs["pairs"].logits
    assert np.allclose(imported, original, rtol=0, atol=1e-12)
    assert original[-1].std() > 0
    acc = float(np.mean(original[-1].argmax(-1) == labels))
    assert r.runs["pairs"].accuracy == acc
    for row, th in zip(r.runs["pairs"].early_stop, DEFAULT_THRESHOLDS, strict=True):
        assert row["accuracy"] == early_stop(original, labels, th)["accuracy"]
    # and it counts the same events per inference as the workload's own loop
    events, lif = counts.per_inference(cfg.n_frames)
    w = r.workload("pairs")
    assert w.extra_counts["lif_updates"] == pytest.approx(lif)
    for k, v in events.as_dict().items():
        assert getattr(w.events, k) == pytest.approx(v, rel=1e-12), k


def test_snn_graph_writes_lif_steps_as_nir_equations():
    cfg = SNNConfig(sizes=(8, 5, 3), tau=0.25, v_th=0.7)
    fixed = random_pair_weights(cfg)
    net = TrainedSNN(config=replace(cfg, mode="weights"), fixed=fixed,
                     params={"w": [np.asarray(w) for w in fixed]})
    g = snn_graph(net, dt=0.5)
    kinds = [n.kind for n in g.nodes]
    assert kinds == ["Input", "Linear", "LIF", "Linear", "I", "Output"]
    lif = g.node("lif0").params
    # tau = dt / (1 - beta), r = tau / dt: Euler gives v_t = beta v + x_t back
    assert np.allclose(lif["tau"], 0.5 / 0.75) and np.allclose(lif["r"], 1 / 0.75)
    assert np.allclose(g.node("fc0").params["weight"], (fixed[0] * cfg.weight_scale).T)
    with pytest.raises(ConfigError, match="max pooling has no NIR primitive"):
        check_exportable(ConvConfig())
