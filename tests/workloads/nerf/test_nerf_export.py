"""NeRF and D-NeRF exported as ONNX: the reference evaluator on the written file computes
what the workload's own forward pass computes, and the importer brings it back.

The ONNX package's reference evaluator is independent of this project's code: it reads
the file and applies each operator as the ONNX specification defines it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.outputs.export import check_export, write_model
from cosim.workloads.imported.onnx_model import FloatOracle, load_onnx
from cosim.workloads.imported.results import ImportConfig
from cosim.workloads.imported.run import run_onnx
from cosim.workloads.nerf.export import EXPORT_FORMATS, nerf_graph, sample_inputs
from cosim.workloads.nerf.model import Geometry, SoftwareOps, init_params, radiance

from .test_nerf_model import SMALL, _encodings, _inputs, _randomised


def _samples(dynamic: bool, n: int = 60) -> np.ndarray:
    x, d, t = _inputs(n)
    return np.concatenate([x, d] + ([t[:, None]] if dynamic else []), axis=1)


def _params(cfg):
    p = _randomised(init_params(cfg, np.random.default_rng(0)))
    if cfg.dynamic:  # a deformation large enough to push points out of the box
        p["deform/W_x"] = p["deform/W_x"] * 20
    return p


@pytest.mark.parametrize("dynamic", [False, True], ids=["nerf", "dnerf"])
def test_reference_evaluator_on_the_file_equals_the_forward_pass(dynamic, tmp_path):
    cfg = replace(SMALL, dynamic=dynamic)
    p, enc = _params(cfg), _encodings(cfg)
    path = write_model(nerf_graph(cfg, p, enc), "onnx", tmp_path / "m.onnx")
    s = _samples(dynamic)
    t = s[:, 6] if dynamic else None
    sigma, rgb = radiance(SoftwareOps(p, enc), cfg, s[:, :3], s[:, 3:6], t)
    ref = FloatOracle(load_onnx(path).proto)({"samples": s})[0]
    assert ref.shape == (len(s), 4)
    # the file holds float32 (the exchange default): agreement to its rounding
    assert np.abs(ref[:, 0] - sigma).max() <= 1e-5 * np.abs(sigma).max()
    assert np.abs(ref[:, 1:] - rgb).max() <= 1e-5
    if dynamic:  # the clamp to the box mattered on these samples
        h = SoftwareOps(p, enc)
        from cosim.workloads.nerf.model import trunk

        f = np.concatenate([h.encode("warp", s[:, :3]), h.encode("time", t)], 1)
        u = trunk(h, "deform", cfg.deform, f) @ p["deform/W_x"] + p["deform/b_x"]
        assert np.abs(s[:, :3] + u * t[:, None]).max() > 1.0


def test_every_matrix_and_encoding_is_a_crossbar_on_import(tmp_path):
    cfg = replace(SMALL, dynamic=True)
    p, enc = _params(cfg), _encodings(cfg)
    path = write_model(nerf_graph(cfg, p, enc), "onnx", tmp_path / "m.onnx")
    loaded = load_onnx(path)
    weights = [k for k, v in p.items() if v.ndim == 2]
    # each layer named by its matrix, and the warp, position and view encodings
    assert sorted(loaded.matrices) == sorted(weights + ["encode_warp", "encode_position",
                                                        "encode_direction"])
    exact = preset("paper").with_parts(noise={"write": 0.0})
    r = run_onnx(ImportConfig(schemes=("pairs",)), exact, SimOptions(backend="ideal"),
                 loaded, _samples(True))
    assert r.software_vs_reference < 1e-12
    assert r.runs["pairs"].output_error[0]["max"] < 1e-6


def test_sample_inputs_are_what_the_renderer_takes():
    cfg = replace(SMALL, dynamic=True)
    rng = np.random.default_rng(2)
    o = rng.normal(0, 0.1, (50, 3)) + [0, 0, 4.0]
    d = -o / np.linalg.norm(o, axis=1, keepdims=True)
    t = rng.uniform(0, 1, 50)
    s = sample_inputs(cfg, Geometry(), o, d, t, np.full(50, 2.0), np.full(50, 6.0), 4, rays=10)
    assert s.shape == (40, 7)
    # bin centres 2.5, 3.5, 4.5, 5.5 along the first ray, divided by the bound 1.5
    assert np.allclose(s[:4, :3], np.clip((o[0] + np.outer([2.5, 3.5, 4.5, 5.5], d[0])) / 1.5,
                                          -1, 1))
    assert np.allclose(s[:4, 3:6], d[0]) and np.allclose(s[:4, 6], t[0])


def test_nir_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match="export NeRF as onnx"):
        check_export("nir", EXPORT_FORMATS)
