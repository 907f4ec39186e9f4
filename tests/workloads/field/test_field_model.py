"""Neural-field network: JAX training, pruning, deployment on analog layers, metrics, ordering."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.hardware.presets import preset
from cosim.workloads.field.cordic import CordicConfig
from cosim.workloads.field.deploy import WeightMapping, deploy_mlp, input_scales
from cosim.workloads.field.field import FieldConfig, config_from_dict, run_field
from cosim.workloads.field.metrics import psnr, ssim_slices
from cosim.workloads.field.mlp import (
    PAPER_MLP,
    WIDE,
    MLPConfig,
    TrainConfig,
    forward,
    init_params,
    learning_rate_schedule,
    matrices,
    n_weights,
    prune_width,
    train,
)
from tests.hardware_helpers import hw, sim

RNG = np.random.default_rng
PAPER = preset("paper")
"""No wires, a virtual ground, write noise 0.15 of g_LRS, one HAQ pass, first-order verify."""


def test_paper_network_size():
    p = init_params(PAPER_MLP, 131, RNG(0))
    assert matrices(p) == ["W_in", "U1", "V1", "W_out"]
    assert n_weights(p) == 131 * 100 + 100 * 10 + 10 * 100 + 100  # 15,200: "about 15,000"
    full = init_params(MLPConfig(width=32, rank=0, n_hidden=2, activation="relu"), 9, RNG(0))
    assert matrices(full) == ["W_in", "H1", "H2", "W_out"]
    wide = init_params(WIDE, 131, RNG(0))
    assert matrices(wide) == ["W_in", "H1", "W_out"]
    assert n_weights(wide) == 131 * 128 + 128 * 128 + 128 > 2 * n_weights(p)


@pytest.mark.slow
def test_jax_forward_matches_numpy_and_training_lowers_the_loss():
    cfg = MLPConfig(width=24, rank=4)
    f = RNG(1).uniform(-1, 1, (256, 9))
    t = np.sin(3 * f[:, 0]) * 0.5 + 0.5
    p0 = init_params(cfg, 9, RNG(0))
    loss0 = np.mean((forward(p0, f, cfg) - t) ** 2)
    st = train(p0, f, t, cfg, TrainConfig(steps=60, batch=0, learning_rate=1e-3), log_every=10)
    assert st.step == 60 and st.losses.size == 6
    # the loss JAX reports is the numpy forward's (float32 vs float64)
    assert st.losses[-1] < loss0 / 5
    # resume: 60 more steps from the state
    st2 = train(p0, f, t, cfg, TrainConfig(steps=120, batch=0, learning_rate=1e-3), state=st,
                log_every=10)
    assert st2.step == 120 and st2.losses[-1] < st.losses[-1]


def test_pruning_removes_neurons_that_carry_nothing():
    cfg = MLPConfig(width=16, rank=4)
    p = init_params(cfg, 7, RNG(0))
    p["W_out"][[1, 5, 9], :] = 0.0      # three dead neurons of the last hidden layer
    p["U1"][[2, 3, 4], :] = 0.0         # three dead neurons of the first hidden layer
    q = prune_width(p, 13)
    assert q["W_in"].shape == (7, 13) and q["U1"].shape == (13, 4)
    assert q["V1"].shape == (4, 13) and q["W_out"].shape == (13, 1) and q["b1"].shape == (13,)
    f = RNG(1).uniform(-1, 1, (50, 7))
    np.testing.assert_allclose(forward(q, f, cfg), forward(p, f, cfg), atol=1e-6)
    with pytest.raises(ConfigError, match="neurons kept"):
        prune_width(p, 0)


def test_deployed_network_matches_software_with_ideal_tile_and_many_bits():
    cfg = MLPConfig(width=20, rank=5)
    p = init_params(cfg, 9, RNG(0))
    f = RNG(1).uniform(-1, 1, (300, 9))
    ref = forward(p, f, cfg)
    scales = input_scales(p, f, cfg)
    ideal = sim(backend="ideal")
    exact = WeightMapping(scheme="ptq", bits=(16, 16, 16))
    dep = deploy_mlp(p, cfg, exact, hw(PAPER, write_noise=0.0), ideal, scales, rng=RNG(2),
                     cordic=CordicConfig(iterations=30, frac_bits=40))
    y, ev, steps = dep.forward(f)
    # 16-bit weights, exact writes, a 30-step CORDIC: the deployed pass is the software one
    assert np.abs(y - ref).max() < 2e-3 * np.abs(ref).max()
    assert steps == 300 * 20 * 2 * 30
    assert ev.cell_reads == 300 * 16 * (9 * 20 + 20 * 5 + 5 * 20 + 20 * 1)
    # write noise: HAQ's verify corrects it, PTQ's open-loop writes do not
    noisy = {s: deploy_mlp(p, cfg, WeightMapping(scheme=s), PAPER, ideal, scales, rng=RNG(3))
             for s in ("haq", "ptq")}
    err = {s: np.sqrt(np.mean((d.forward(f)[0] - ref) ** 2)) for s, d in noisy.items()}
    assert err["haq"] * 10 < err["ptq"]


def test_column_scaling_deploys_columns_of_unequal_size_more_accurately():
    """W_in's columns spread over two decades (as trained fields' are: a few large
    weights set the matrix's full scale): HAQ with one scale per column keeps the small
    columns' weights closer to the trained ones (the network's output gains where
    those columns matter: the README's wide config)."""
    cfg = MLPConfig(width=20, rank=5)
    p = init_params(cfg, 9, RNG(0))
    p["W_in"] = p["W_in"] * np.geomspace(1.0, 0.01, 20)
    f = RNG(1).uniform(-1, 1, (300, 9))
    ref = forward(p, f, cfg)
    # headroom: no deployed activation saturates a DAC, so the pass is exactly linear
    scales = {k: 1.25 * v for k, v in input_scales(p, f, cfg).items()}
    err: dict[str, np.ndarray] = {}
    for scaling in ("matrix", "column"):
        dc = WeightMapping(scheme="haq", bits=(8, 8, 8), scaling=scaling)
        dep = deploy_mlp(p, cfg, dc, PAPER, sim(backend="ideal"), scales, rng=RNG(3),
                         cordic=CordicConfig(iterations=30, frac_bits=40))
        err[scaling] = np.abs(dep.layers["W_in"].programmed.weights() - p["W_in"]).max(axis=0)
        # the tile's pass applies each column's scale: it computes the decoded weights
        held = {**p, **{n: layer.programmed.weights() for n, layer in dep.layers.items()}}
        np.testing.assert_allclose(dep.forward(f)[0], forward(held, f, cfg),
                                   atol=1e-6 * np.abs(ref).max())
    small = slice(10, 20)  # the columns at most a tenth of the largest
    assert np.all(err["column"][small] * 5 < err["matrix"][small])
    assert np.all(err["column"] <= err["matrix"] * 1.5)  # none much worse (fresh noise)


def test_metrics_known_cases():
    truth = RNG(0).uniform(0, 1, (3, 16, 16))
    assert psnr(truth + 0.1, truth) == pytest.approx(20.0)
    assert psnr(truth, truth) == float("inf")
    np.testing.assert_allclose(ssim_slices(truth, truth), 1.0)
    assert np.all(ssim_slices(np.clip(truth + RNG(1).normal(0, 0.2, truth.shape), 0, 1),
                              truth) < 0.9)
    with pytest.raises(ConfigError, match="differ in shape"):
        psnr(truth[:2], truth)


@pytest.mark.slow
def test_dense_run_orders_software_haq_ptq():
    cfg = FieldConfig(phantom_shape=(4, 16, 16),
                            training=TrainConfig(steps=100, batch=0))
    r = run_field(cfg, PAPER, sim(backend="ideal"))
    s = r.summary()
    assert s["psnr_software"] > 30
    assert s["psnr_software"] >= s["psnr_haq"] > s["psnr_ptq"] + 10
    assert s["ssim_haq"] > s["ssim_ptq"]
    assert s["cordic_max_error"] <= s["cordic_error_bound"]
    haq = r.recon["haq"]
    assert haq.volume.shape == (4, 16, 16) and haq.psnr_slices.shape == (4,)
    # every voxel went through every layer: the encoder pairs and the weight cells
    cells = sum(layer.programmed.g_actual_siemens.size
                for layer in haq.deployed.layers.values())
    assert haq.events.cell_reads == 4 * 16 * 16 * (cells + 3 * 64 * 2)


@pytest.mark.parametrize("kw, match", [
    ({"bits": (0, 14, 12)}, "input bits must be"),
    ({"bits": (14, 17, 12)}, "hidden bits"),
    ({"bits": (14, 14)}, "three widths"),
    ({"amp_ratio": 1.0}, "amplification ratio"),
    ({"phantom_shape": (4, 4, 16)}, "phantom height"),
    ({"weight_scaling": "row"}, "unknown weight scaling 'row'"),
    ({"layer_reads": 0}, r"layer reads must be .*\[1, 4096\], got 0"),
    ({"layer_reads": 4097}, "layer reads must be"),
    ({"layer_reads": 2.0}, "layer reads must be an integer"),
])
def test_bad_config(kw, match):
    with pytest.raises(ConfigError, match=match):
        FieldConfig(**kw)


def test_bad_backend_and_write_noise_of_a_field_run():
    """The backend and the write noise moved to SimOptions and the hardware."""
    with pytest.raises(ConfigError, match="did you mean 'ideal'"):
        sim(backend="idael")
    with pytest.raises(ConfigError, match="write must be"):
        hw(PAPER, write_noise=-0.1)


def test_config_round_trips_through_its_stored_form():
    """A checkpoint stores ``asdict(cfg)`` as JSON; the orientation and scaling come back."""
    cfg = FieldConfig(phantom_angles=(30.0, 25.0, 15.0), weight_scaling="column",
                      layer_reads=4)
    back = config_from_dict(json.loads(json.dumps(asdict(cfg))))
    assert back == cfg and back.phantom_angles == (30.0, 25.0, 15.0)
    # a model stored before the key: one read per layer, as it was deployed then
    old = {k: v for k, v in asdict(FieldConfig()).items() if k != "layer_reads"}
    assert config_from_dict(json.loads(json.dumps(old))).layer_reads == 1


def test_averaged_layer_reads_cut_the_output_spread_by_sqrt_reads():
    """Each read of a matrix draws its own read noise: over repeated forwards of the same
    voxels, the network output's spread with ``reads`` averaged reads per matrix is
    ``1 / sqrt(reads)`` of one read's (small noise: the network is linear in it), and
    every read is counted: ``reads`` times one read's cells and conversions, plus
    ``reads - 1`` digital additions per output of every matrix."""
    cfg = MLPConfig(width=12, rank=3)
    p = init_params(cfg, 9, RNG(0))
    n, repeats, reads, bits = 200, 10, 16, 8
    f = RNG(1).uniform(-1, 1, (n, 9))
    scales = input_scales(p, f, cfg)
    noisy = hw(PAPER, write_noise=0.0, read_noise=0.002)
    spread, events = {}, {}
    for r in (1, reads):
        dep = deploy_mlp(p, cfg, WeightMapping(scheme="ptq", bits=(bits,) * 3), noisy,
                         sim(backend="ideal"), scales, rng=RNG(3), reads=r)
        ys = np.array([dep.forward(f)[0] for _ in range(repeats)])
        spread[r] = np.sqrt(np.mean(np.var(ys, axis=0, ddof=1)))
        events[r] = dep.forward(f)[1]
        layers = dep.layers
    assert spread[1] > 0
    # the pooled spreads have 1,800 degrees of freedom each: about 2.4 % on their ratio
    assert spread[1] / spread[reads] == pytest.approx(np.sqrt(reads), rel=0.12)
    one, many = events[1], events[reads]
    shapes = [np.asarray(p[k]).shape for k in matrices(p)]
    assert many.cell_reads == reads * one.cell_reads == reads * n * bits * sum(
        a * b for a, b in shapes)
    assert many.adc_conversions == reads * one.adc_conversions > 0
    assert many.dac_conversions == reads * one.dac_conversions
    per_read = sum((layer.forward(np.zeros((n, layer.in_features)))[1]
                    for layer in layers.values()), start=type(one)())
    outputs = n * sum(b for _, b in shapes)
    assert many.digital_adds == one.digital_adds + (reads - 1) * (per_read.digital_adds
                                                                  + outputs)
    assert many.digital_mults == one.digital_mults + (reads - 1) * per_read.digital_mults
    with pytest.raises(ConfigError, match="layer reads must be"):
        deploy_mlp(p, cfg, WeightMapping(scheme="ptq"), noisy, sim(backend="ideal"), scales,
                   rng=RNG(3), reads=0)


def test_calibrated_without_wires_agrees_with_ideal():
    # A wire-free 0T1R array is linear: the calibrated transfer is G itself, so the
    # deployed pass (same write-noise draws) must agree with the ideal backend.
    cfg = MLPConfig(width=12, rank=3)
    p = init_params(cfg, 9, RNG(0))
    f = RNG(1).uniform(-1, 1, (64, 9))
    scales = input_scales(p, f, cfg)
    ys = {}
    for backend in ("ideal", "calibrated"):
        ys[backend] = deploy_mlp(p, cfg, WeightMapping(scheme="haq"), PAPER,
                                 sim(backend=backend), scales, rng=RNG(4)).forward(f)[0]
    np.testing.assert_allclose(ys["calibrated"], ys["ideal"], rtol=1e-7, atol=1e-9)


def test_learning_rate_schedules_follow_their_formulas():
    steps, lr, frac = 1000, 2e-3, 0.01
    cos = learning_rate_schedule(TrainConfig(steps=steps, learning_rate=lr))
    exp = learning_rate_schedule(TrainConfig(steps=steps, learning_rate=lr,
                                             schedule="exponential"))
    const = learning_rate_schedule(TrainConfig(steps=steps, learning_rate=lr,
                                               schedule="constant"))
    for t in (0, 250, 500, 1000):
        # half a cosine from lr to frac * lr; lr * frac ** (t / steps); lr
        want_cos = lr * (frac + (1 - frac) * 0.5 * (1 + np.cos(np.pi * t / steps)))
        assert float(cos(t)) == pytest.approx(want_cos, rel=1e-5)
        assert float(exp(t)) == pytest.approx(lr * frac ** (t / steps), rel=1e-5)
        assert float(const(t)) == pytest.approx(lr, rel=1e-6)


@pytest.mark.parametrize("kw, match", [
    ({"schedule": "linear"}, "unknown learning-rate schedule 'linear'"),
    ({"final_lr_fraction": 0.0}, "final learning-rate fraction"),
    ({"final_lr_fraction": 1.5}, "final learning-rate fraction"),
    ({"final_lr_fraction": float("nan")}, "final learning-rate fraction"),
])
def test_bad_schedules_are_refused(kw, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kw)


def test_monitor_sees_the_parameters_at_its_steps():
    cfg = MLPConfig(width=8, rank=2)
    f = RNG(1).uniform(-1, 1, (64, 5))
    t = 0.5 + 0.3 * np.sin(2 * f[:, 1])
    seen = {}
    st = train(init_params(cfg, 5, RNG(0)), f, t, cfg,
               TrainConfig(steps=25, batch=0, learning_rate=1e-3),
               monitor=lambda step, p: seen.setdefault(step, p), monitor_every=10)
    assert sorted(seen) == [10, 20, 25]  # every 10 steps and after the last
    for k, v in st.params.items():
        np.testing.assert_array_equal(seen[25][k], v)
    assert not np.array_equal(seen[10]["W_in"], seen[20]["W_in"])
    with pytest.raises(ConfigError, match="monitor interval"):
        train(init_params(cfg, 5, RNG(0)), f, t, cfg, TrainConfig(steps=2, batch=0),
              monitor=lambda step, p: None, monitor_every=-1)
