"""NeRF / D-NeRF training: the deformation learnt on a scene that does not move stays near
zero; structured pruning during training ends at its targets."""

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
    structure,
    time_frequencies,
    trunk,
)
from cosim.workloads.nerf.render import ray_segments
from cosim.workloads.nerf.scene import BLENDER, DEFAULT_BLOBS, SceneConfig, render_views
from cosim.workloads.nerf.stage import PRUNED, default_config
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


def _dnerf_encodings() -> Encodings:
    """D-NeRF's encodings with seeded Gaussian matrices."""
    rng = np.random.default_rng(0)
    return Encodings(matrices={k: rng.normal(0.0, e.sigma, (e.n_frequencies, 3))
                               for k, e in DNERF.encoders.items()},
                     time_frequencies=time_frequencies(DNERF.time_frequencies))


@pytest.mark.slow
def test_deformation_stays_near_zero_on_a_scene_that_does_not_move():
    rays = _still_scene_rays()
    enc = _dnerf_encodings()
    params = init_params(DNERF, np.random.default_rng(1))
    # the default run's step sizes (cosim.workloads.nerf.stage.default_config)
    tcfg = TrainConfig(steps=150, rays=64, samples=8, learning_rate=1e-2,
                       final_learning_rate=1e-3)
    state = train_nerf(DNERF, tcfg, Geometry(), enc, rays, params)
    assert state.losses[-1] < state.losses[0]  # it learns the scene
    # the frames agree at every time, so any motion learned is an error: at most 0.1 of
    # the box's half-width (0.15 scene units, under the blobs' typical size 0.2)
    assert _displacement_rms(state.params, enc, rays) < 0.1


def test_pruning_schedule_ends_at_the_paper_width_and_rank():
    cfg, _ = default_config(prune=True)
    t, net = cfg.training, cfg.model.canonical
    plan = t.prune_plan(net.width, net.rank, cfg.model.view_width)
    steps = sorted(plan)
    assert len(steps) == t.prune_stages
    assert plan[steps[-1]] == (*PRUNED, PRUNED[0] // 2)  # NF paper: width 26, rank 3
    # the full network trains first, the cut one is fine-tuned for the rest
    assert t.prune_start * t.steps <= steps[0] and steps[-1] <= t.prune_end * t.steps
    assert steps[-1] < t.steps / 2
    cuts = [(net.width, net.rank, cfg.model.view_width)] + [plan[s] for s in steps]
    # every cut removes neurons and singular values
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        assert all(y < x for x, y in zip(a, b, strict=True)), (a, b)
    # a last cut at the end of training still happens (before the last step)
    end = TrainConfig(steps=10, prune_width=4, prune_rank=2, prune_start=0.5, prune_end=1.0,
                      prune_stages=3)
    assert max(end.prune_plan(8, 4, 4)) == 9 and end.prune_plan(8, 4, 4)[9] == (4, 2, 2)


@pytest.mark.slow
def test_training_with_pruning_ends_with_the_cut_network():
    rays = _still_scene_rays()
    enc = _dnerf_encodings()
    tcfg = TrainConfig(steps=6, rays=32, samples=8, learning_rate=1e-2,
                       final_learning_rate=1e-3, prune_width=20, prune_rank=3,
                       prune_stages=1, prune_start=0.5, prune_end=0.5)
    state = train_nerf(DNERF, tcfg, Geometry(), enc, rays,
                       init_params(DNERF, np.random.default_rng(1)), log_every=1)
    assert state.step == 6 and np.all(np.isfinite(state.losses))
    p = state.params
    assert structure(p) == {"width": 20, "rank": 3, "view_width": 10}
    assert p["deform/b_0"].shape == (20,) and p["deform/U_2"].shape == (20, 3)
