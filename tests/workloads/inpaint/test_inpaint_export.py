"""The spiking VAE exported as ONNX and brought back (``cosim inpaint --export onnx``).

At the quick size (32 channels, latent 128, T = 4) on masked MNIST digits, with an
untrained pop-up VAE (the maths is what is tested; its LIF layers fire from the start):

- the ONNX reference evaluator on the exported file computes what the workload's own
  JAX forward pass computes: in float64 (both on the file's float32 weights) to 1e-12 of
  full scale; the float32 file as another tool would run it (the reference evaluator in
  float32), to float32 rounding;
- re-imported by ``cosim deploy``'s importer, each of the eight matrices is deployed
  once and used at every step, and on exact hardware (ideal backend, tuned pairs, no
  write or read noise) the outputs equal the reference evaluator to 1e-6 of full scale.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.outputs.export import write_model
from cosim.workloads.imported.onnx_model import FloatOracle, load_onnx
from cosim.workloads.imported.results import ImportConfig
from cosim.workloads.imported.run import run_onnx
from cosim.workloads.inpaint.data import inpainting_set
from cosim.workloads.inpaint.export import LAYERS, exported_inputs, vae_graph
from cosim.workloads.inpaint.network import (
    TrainedVAE,
    VAEConfig,
    latent_uniforms,
    output_offset,
    vae_forward,
)
from cosim.workloads.snn.data import mnist_digits
from cosim.workloads.spiking.popup import init_params, random_pair_weights

CFG = VAEConfig(n_frames=4)  # the quick setting's size (InpaintStage)
N = 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    images, labels = mnist_digits()
    data = inpainting_set(images[:200], labels[:200])
    fixed = random_pair_weights(CFG)
    params = {"scores": [np.asarray(s) for s in init_params(CFG, fixed)["scores"]],
              "offset": [output_offset(data.target)]}
    net = TrainedVAE(config=CFG, fixed=fixed, params=params)
    path = tmp_path_factory.mktemp("vae") / "vae.onnx"
    write_model(vae_graph(net), "onnx", path)
    masked = data.masked[:N]
    return net, masked, path, exported_inputs(masked, CFG, seed=3)


def _forward64(net: TrainedVAE, masked: np.ndarray, seed: int) -> np.ndarray:
    """The workload's forward pass (:func:`vae_forward`) in float64 on the float32 weights
    the software row uses: ``(N, T, 32, 32)``."""
    with jax.enable_x64(True):
        ws = [jnp.asarray(w, jnp.float64) for w in net.scaled_weights()]
        u = jnp.asarray(latent_uniforms(seed, masked.shape[0], net.config), jnp.float64)
        out, _ = vae_forward(ws, jnp.asarray(masked, jnp.float64), u, net.config,
                             offset=jnp.asarray(net.offset, jnp.float64))
        return np.asarray(out).transpose(1, 0, 2, 3)


@pytest.mark.slow
def test_exported_vae_computes_the_workloads_forward_pass(exported):
    net, masked, path, x = exported
    loaded = load_onnx(path)
    ref = FloatOracle(loaded.proto)({"x": x})[0]
    ours = _forward64(net, masked, seed=3)
    assert ref.shape == (N, CFG.n_frames, 32, 32)
    assert np.max(np.abs(ref - ours)) < 1e-12 * np.max(np.abs(ours))
    # the network is not trivial: digits differ, frames differ, and the latent draws
    # (an input of the graph) change the output
    assert np.abs(ref[0, -1] - ref[1, -1]).mean() > 1e-2
    assert np.abs(ref[:, -1] - ref[:, 0]).mean() > 1e-2
    other = FloatOracle(loaded.proto)({"x": exported_inputs(masked, CFG, seed=4)})[0]
    assert np.abs(other - ref).mean() > 1e-3
    # the float32 file as another tool runs it: float32 rounding, no spike flipped
    from onnx.reference import ReferenceEvaluator

    ref32 = ReferenceEvaluator(loaded.proto).run(None, {"x": x})[0]
    assert ref32.dtype == np.float32
    assert np.max(np.abs(ref32 - ours)) < 1e-5


@pytest.mark.slow
def test_reimported_vae_on_exact_hardware_equals_the_reference(exported):
    _, _, path, x = exported
    loaded = load_onnx(path)
    assert list(loaded.deployed) == list(LAYERS)  # one deployment per weight, T uses
    assert len(loaded.matrices) == len(LAYERS) * CFG.n_frames
    exact = preset("prime").with_parts(noise={"write": 0.0, "read": 0.0})
    r = run_onnx(ImportConfig(schemes=("pairs",)), exact,
                 SimOptions(backend="ideal", use_cache=False), loaded, x.astype(float))
    assert r.software_vs_reference < 1e-12
    run = r.runs["pairs"]
    assert run.output_error[0]["max"] < 1e-6
    # the workload's own matrices and products: T steps of each layer's vectors
    for ly, (rows, cols), v in zip(run.layers, CFG.shapes, CFG.vectors_per_step, strict=True):
        assert (ly.rows, ly.cols) == (rows, cols)
        assert ly.vectors == v * CFG.n_frames and ly.cells == 2 * rows * cols
        assert ly.saturated == 0
