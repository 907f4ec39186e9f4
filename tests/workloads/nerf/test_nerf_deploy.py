"""The network on analog layers: HAQ on noiseless cells is the software network, PTQ under
write noise is worse than HAQ, the counted cell reads follow the layers' shapes, and the
HAQ pass is a workload the report reads."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cosim.accounting.workload import make_workload, workload_to_json
from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.field.mlp import TrainState
from cosim.workloads.nerf.data import scene_from_views
from cosim.workloads.nerf.deploy import HardwareOps
from cosim.workloads.nerf.model import ModelConfig, NetConfig, SoftwareOps, layer_names
from cosim.workloads.nerf.nerf import (
    NerfConfig,
    deploy_nerf,
    evaluate,
    initial_params,
    prepare,
    render_view,
)
from cosim.workloads.nerf.scene import BLENDER, SceneConfig, render_views
from cosim.workloads.nerf.train import TrainConfig

MODEL = ModelConfig(position=EncoderConfig(kind="gaussian", n_frequencies=4, sigma=1.0),
                    direction=EncoderConfig(kind="gaussian", n_frequencies=2, sigma=0.5),
                    warp=EncoderConfig(kind="gaussian", n_frequencies=3, sigma=0.5),
                    canonical=NetConfig(depth=3, width=8, rank=2, skip=2), view_width=4,
                    deform=NetConfig(depth=2, width=6, rank=2, skip=0), time_frequencies=1)


@pytest.fixture(scope="module")
def scenes():
    out = {}
    for dynamic in (False, True):
        cfg = SceneConfig(dynamic=dynamic, size_px=6, n_train=3, n_val=0, n_test=1,
                          gt_samples=32)
        out[dynamic] = scene_from_views(render_views(cfg), BLENDER["camera_angle_x"], "memory")
    return out


def _setup(scene, dynamic: bool, hardware):
    cfg = NerfConfig(model=replace(MODEL, dynamic=dynamic),
                     training=TrainConfig(steps=1, rays=4, samples=6), eval_views=1)
    rng = np.random.default_rng(3)
    params = {k: (v + rng.normal(0, 0.2, v.shape)).astype(np.float32)
              for k, v in initial_params(cfg).items()}
    prep = prepare(cfg, hardware, SimOptions(backend="ideal"), scene)
    return cfg, prep, params


@pytest.mark.parametrize("dynamic", [False, True])
def test_haq_on_noiseless_cells_is_the_software_network(scenes, dynamic):
    hw = preset("paper").with_parts(noise={"write": 0.0})
    cfg, prep, params = _setup(scenes[dynamic], dynamic, hw)
    cfg = replace(cfg, bits=(16, 16, 16), amp_ratio=1.8)  # smallest bit 1.8^-15 of full scale
    # a training view: every layer's input lies within the scale measured on training rays
    soft = render_view(SoftwareOps(params, prep.encodings), cfg, prep.scene, "train", 0, 16)
    dep = deploy_nerf(cfg, hw, SimOptions(backend="ideal"), prep, params, "haq")
    ops = HardwareOps(dep)
    hard = render_view(ops, cfg, prep.scene, "train", 0, 16)
    assert np.abs(hard - soft).max() < 1e-3  # and a 20-bit CORDIC
    # every cell of every matrix is read once per sample point, each encoder pair twice
    # over (two cells) per use of the encoder (positions once: with a deformation only
    # the deformed point is encoded)
    points = prep.scene.height * prep.scene.width * cfg.training.samples
    cells = sum(params[n].size * cfg.bits[("input", "hidden", "output").index(
        "input" if n.endswith("W_0") else "output" if n[-3:] in ("W_s", "W_c", "W_x")
        else "hidden")] for n in layer_names(cfg.model, params))
    enc = 2 * 3 * (MODEL.position.n_frequencies
                   + MODEL.direction.n_frequencies + (MODEL.warp.n_frequencies if dynamic else 0))
    assert ops.events.cell_reads == points * (cells + enc)


def test_ptq_under_write_noise_is_worse_than_haq(scenes):
    hw = preset("paper")  # write noise 0.15
    cfg, prep, params = _setup(scenes[False], False, hw)
    state = TrainState(params=params, opt_state=None, step=0, losses=np.zeros(0))
    res = evaluate(cfg, hw, SimOptions(backend="ideal"), prep, state)
    soft = res.renders["software"].images
    err = {m: np.abs(res.renders[m].images - soft).mean() for m in ("haq", "ptq")}
    assert err["ptq"] > 3 * err["haq"]
    w = make_workload(workload_to_json(res.workload()))
    assert w.claim == "NeRF" and w.inferences == 1.0
    assert w.events.cell_reads == res.renders["haq"].events.cell_reads
    assert w.extra_counts["cordic_steps"] > 0 and w.hardware.arrays >= len(
        layer_names(cfg.model, params))
