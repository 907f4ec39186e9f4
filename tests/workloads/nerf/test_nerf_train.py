"""D-NeRF training on a scene that does not move: the deformation it learns stays near zero."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.nerf.data import scene_from_views
from cosim.workloads.nerf.model import (
    Encodings,
    Geometry,
    ModelConfig,
    NetConfig,
    SoftwareOps,
    init_params,
    time_frequencies,
    trunk,
)
from cosim.workloads.nerf.render import ray_segments
from cosim.workloads.nerf.scene import BLENDER, DEFAULT_BLOBS, SceneConfig, render_views
from cosim.workloads.nerf.train import TrainConfig, TrainingRays, train_nerf

DNERF = ModelConfig(position=EncoderConfig(kind="gaussian", n_frequencies=8, sigma=2.0),
                    direction=EncoderConfig(kind="gaussian", n_frequencies=2, sigma=0.5),
                    warp=EncoderConfig(kind="gaussian", n_frequencies=4, sigma=0.5),
                    canonical=NetConfig(depth=3, width=32, rank=8, skip=0), view_width=16,
                    dynamic=True, deform=NetConfig(depth=3, width=32, rank=8, skip=0),
                    time_frequencies=2)


def _still_scene_rays() -> TrainingRays:
    """Every pixel of 8 frames at times 0 .. 1 of the default blobs held still."""
    still = tuple(replace(b, velocity=(0.0, 0.0, 0.0), bounce=(0.0, 0.0, 0.0))
                  for b in DEFAULT_BLOBS)
    cfg = SceneConfig(dynamic=True, size_px=10, n_train=8, n_val=0, n_test=1, gt_samples=32,
                      blobs=still)
    scene = scene_from_views(render_views(cfg), BLENDER["camera_angle_x"], "still")
    o, d, t, c = scene.rays("train")
    t0, t1 = ray_segments(o, d, BLENDER["bound"], BLENDER["near"], BLENDER["far"])
    return TrainingRays(**{k: v.astype(np.float32) for k, v in
                           dict(o=o, d=d, t=t, t0=t0, t1=t1, target=c).items()})


def _displacement_rms(params, enc: Encodings, rays: TrainingRays) -> float:
    """RMS of ``dx`` (box half-widths) at the middle of every training ray."""
    ops = SoftwareOps(params, enc)
    s = 0.5 * (rays.t0 + rays.t1)
    x = np.clip((rays.o + s[:, None] * rays.d) / BLENDER["bound"], -1, 1).astype(float)
    t = rays.t.astype(float)
    h = trunk(ops, "deform", DNERF.deform,
              ops.concat([ops.encode("warp", x), ops.encode("time", t)]))
    u = ops.bias(ops.mm("deform/W_x", h), "deform/b_x")
    return float(np.sqrt(np.mean((u * t[:, None]) ** 2)))


@pytest.mark.slow
def test_deformation_stays_near_zero_on_a_scene_that_does_not_move():
    rays = _still_scene_rays()
    rng = np.random.default_rng(0)
    enc = Encodings(matrices={k: rng.normal(0.0, e.sigma, (e.n_frequencies, 3))
                              for k, e in DNERF.encoders.items()},
                    time_frequencies=time_frequencies(DNERF.time_frequencies))
    params = init_params(DNERF, np.random.default_rng(1))
    # the default run's step sizes (cosim.workloads.nerf.stage.default_config)
    tcfg = TrainConfig(steps=150, rays=64, samples=8, learning_rate=1e-2,
                       final_learning_rate=1e-3)
    state = train_nerf(DNERF, tcfg, Geometry(), enc, rays, params)
    assert state.losses[-1] < state.losses[0]  # it learns the scene
    # the frames agree at every time, so any motion learned is an error: at most 0.1 of
    # the box's half-width (0.15 scene units, under the blobs' typical size 0.2)
    assert _displacement_rms(state.params, enc, rays) < 0.1
