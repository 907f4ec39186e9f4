"""Pop-up training, deployment as pruned random pairs, the analog timestep loop, early stop."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.hardware.presets import preset
from cosim.workloads.snn.deployed import confidence, deploy, early_stop, run_timesteps
from cosim.workloads.snn.network import SNNConfig, random_pair_weights, train
from tests.hardware_helpers import sim

PRIME = preset("prime")
"""PRIME's setting: resistor cells, no wires, a virtual ground, exact writes, no read noise."""
IDEAL = sim(backend="ideal")

CFG = SNNConfig(sizes=(2312, 12, 8, 3), n_frames=3, epochs=2, batch_size=8, seed=3)


def _frames(n=24, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    fr = (rng.random((n, 3, 2, 34, 34)) < 0.02).astype(np.float32)
    for i, c in enumerate(labels):  # class c lights a band of rows
        fr[i, :, 1, 10 * c:10 * c + 8, 5:25] += rng.random((3, 8, 20)) < 0.4
    return fr, labels


@pytest.fixture(scope="module")
def net():
    fr, lab = _frames()
    return train(fr, lab, CFG)


@pytest.mark.slow
def test_popup_keeps_half_of_each_layer_and_leaves_weights_fixed(net):
    for m, w, w0 in zip(net.masks(), net.weights(), random_pair_weights(CFG), strict=True):
        assert m.mean() == pytest.approx(0.5, abs=1.0 / m.size)
        np.testing.assert_array_equal(w, w0 * m)
    assert len(net.history) == 2 and np.isfinite(net.history[-1]["loss"])


@pytest.mark.slow
def test_training_learns_a_separable_task():
    fr, lab = _frames(60)
    trained = train(fr, lab, SNNConfig(sizes=(2312, 20, 3), n_frames=3, epochs=8, batch_size=10,
                                       lr=2e-2))
    acc = np.mean(trained.logits(fr)[-1].argmax(-1) == lab)
    assert acc >= 0.9
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]


def _numpy_reference(weights, fr, cfg):
    """Independent forward pass: numpy matmuls and eq. 1-2 written out."""
    x = np.minimum(fr.reshape(fr.shape[0], cfg.n_frames, -1), cfg.max_count).astype(float)
    ws = [w * cfg.weight_scale for w in weights]
    u = [np.zeros((x.shape[0], w.shape[1])) for w in ws[:-1]]
    o = [np.zeros_like(a) for a in u]
    acc, out = np.zeros((x.shape[0], ws[-1].shape[1])), []
    for t in range(cfg.n_frames):
        cur = x[:, t]
        for i, w in enumerate(ws[:-1]):
            u[i] = cfg.tau * u[i] * (1 - o[i]) + cur @ w
            o[i] = (u[i] > cfg.v_th).astype(float)
            cur = o[i]
        acc = acc + cur @ ws[-1]  # output potential U_t, no leak, no spike
        out.append(acc)
    return np.cumsum(out, axis=0) / np.arange(1, cfg.n_frames + 1)[:, None, None]  # mean of U


def test_ideal_backend_matches_numpy_and_pruned_pairs_sit_at_zero(net):
    fr, _ = _frames(10, seed=5)
    layers = deploy(net, PRIME, IDEAL)
    for layer, w in zip(layers, net.weights(), strict=True):
        np.testing.assert_allclose(layer.weights(), w, atol=1e-9)
        pw = layer.programmed
        diff = (pw.g_actual_siemens - pw.g_actual_neg_siemens)[~net.masks()[layers.index(layer)]]
        assert np.all(diff == 0.0)  # both cells RESET to HRS (exact writer)
    logits, counts = run_timesteps(layers, net, fr, batch_size=4)
    np.testing.assert_allclose(logits, _numpy_reference(net.weights(), fr, net.config),
                               atol=1e-9)
    # every timestep reads every cell of every layer once per sample (pairs: 2 cells)
    cells = sum(2 * a * b for a, b in net.config.shapes)
    assert [e.cell_reads for e in counts.events] == [cells * 10] * 3
    # one LIF update per hidden neuron (12 + 8), sample (10) and step
    assert counts.samples == 10 and counts.lif_updates == [20 * 10] * 3
    # scale (one multiply per output of each layer), output accumulation (one add per class)
    assert all(e.digital_mults >= 10 * (12 + 8 + 3) for e in counts.events)
    ev, lif = counts.per_inference(1.5)
    assert lif == 20 * 1.5 and ev.cell_reads == cells * 1.5


def test_read_noise_is_fresh_at_every_step(net):
    fr, _ = _frames(6, seed=7)
    fr[:] = fr[:, :1]  # the same frame at every step
    layers = deploy(net, PRIME.with_parts(noise={"read": 0.05}), IDEAL)
    a, _ = run_timesteps(layers, net, fr)
    b, _ = run_timesteps(layers, net, fr)
    assert not np.allclose(a, b)


def test_early_stop_by_hand():
    # 2 samples, T = 3, 2 classes; alpha = 1
    logits = np.array([[[0.0, 0.1], [0.0, 3.0]],
                       [[0.0, 2.0], [1.0, 0.0]],
                       [[0.0, 4.0], [0.0, 5.0]]])
    c = confidence(logits, 1.0)
    np.testing.assert_allclose(c[0, 1], 1 / (1 + np.exp(-3.0)))
    r = early_stop(logits, np.array([1, 0]), 0.85, alpha=1.0)
    # sample 0: conf 0.525, 0.881 -> stops at 2, predicts 1; sample 1: 0.953 at 1 -> predicts 1
    assert r["steps"].tolist() == [2, 1] and r["pred"].tolist() == [1, 1]
    assert r["accuracy"] == 0.5 and r["avg_timesteps"] == 1.5
    full = early_stop(logits, np.array([1, 0]), 1.0, alpha=1.0)
    assert full["avg_timesteps"] == 3.0


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_threshold_outside_0_1_is_refused(bad):
    with pytest.raises(ConfigError):
        early_stop(np.zeros((2, 1, 3)), np.zeros(1, int), bad)


def test_bad_sizes_and_labels_are_refused():
    with pytest.raises(ConfigError):
        SNNConfig(n_frames=0)
    with pytest.raises(ConfigError):
        SNNConfig(sizes=(2312,))
    with pytest.raises(ConfigError):
        SNNConfig(keep=0.0)
    with pytest.raises(ConfigError, match="warmup_epochs"):
        SNNConfig(warmup_epochs=-1.0)
    fr, lab = _frames(6)
    with pytest.raises(ConfigError, match="labels do not match"):
        train(fr, lab[:5], CFG)
    with pytest.raises(ConfigError, match=r"frames must be \(N, 3"):
        train(fr[:, :2], lab, CFG)


def test_weight_trained_and_unpruned_networks_deploy_as_their_weights(net):
    from dataclasses import replace as dc_replace

    fr, _ = _frames(6, seed=9)
    layers = deploy(net, PRIME, IDEAL, keep_all=True)
    for layer, w in zip(layers, random_pair_weights(CFG), strict=True):
        np.testing.assert_allclose(layer.weights(), w, atol=1e-9)
    rng = np.random.default_rng(2)
    tuned = dc_replace(net, config=dc_replace(CFG, mode="weights"),
                       params={"w": [rng.standard_normal(s) for s in CFG.shapes]})
    layers = deploy(tuned, PRIME, IDEAL)
    logits, _ = run_timesteps(layers, tuned, fr)
    np.testing.assert_allclose(logits, _numpy_reference(tuned.weights(), fr, CFG), atol=1e-9)
    with pytest.raises(ConfigError, match="keep_all"):
        deploy(tuned, PRIME, IDEAL, keep_all=True)


def test_conv_net_shapes_and_macros():
    from cosim.workloads.snn.conv import ConvConfig

    cfg = ConvConfig()
    # im2col: each 5x5 kernel over 2 (then 12) channels is one column
    assert cfg.shapes == [(50, 12), (300, 64), (1600, 10)]
    assert cfg.vectors_per_step == [30 * 30, 11 * 11, 1]
    assert cfg.lif_per_step == 12 * 30 * 30 + 64 * 11 * 11
    assert cfg.macros() == 1 + 1 + 4  # pairs take 2 columns; 1600 rows take 4 macros
    with pytest.raises(ConfigError):
        ConvConfig(kernel=20)


@pytest.mark.slow
def test_conv_net_on_the_ideal_backend_matches_its_jax_forward():
    from cosim.workloads.snn.conv import ConvConfig
    from cosim.workloads.snn.network import TrainedSNN, init_params

    cfg = ConvConfig(channels=(4, 6), n_frames=2, n_classes=3, layer_scales=(0.5, 0.3, 0.2))
    fixed = random_pair_weights(cfg)
    net = TrainedSNN(config=cfg, fixed=fixed, params=init_params(cfg, fixed))
    fr = (np.random.default_rng(0).random((5, 2, 2, 34, 34)) < 0.1).astype(np.float32) * 2
    logits, counts = run_timesteps(deploy(net, PRIME, IDEAL), net, fr,
                                   batch_size=3)
    np.testing.assert_allclose(logits, net.logits(fr), atol=1e-5)
    assert np.abs(logits).max() > 0.01  # spikes reached the classifier
    # every patch reads its kernel's pairs: 900 x 50 x 4 + 121 x 100 x 6 + 150 x 3, x 2 cells
    assert counts.events[0].cell_reads == 5 * 2 * (900 * 50 * 4 + 121 * 100 * 6 + 150 * 3)
    assert counts.lif_updates == [5 * (4 * 900 + 6 * 121)] * 2


def test_kth_largest_equals_the_sorted_value_with_ties_zeros_and_extremes():
    """The bisection on bit patterns against numpy's sort (independent), on values with
    ties, exact zeros, subnormals and a wide range of magnitudes."""
    import jax

    from cosim.workloads.spiking.popup import kth_largest

    f = jax.jit(kth_largest)  # k traced: one compilation per shape
    rng = np.random.default_rng(5)
    cases = [np.zeros(5), np.array([1e-40, 0.0, 2e-45, 1e38, 5.0]), np.array([3.0])]
    for _ in range(20):
        v = np.abs(rng.standard_normal(300)) * 10.0 ** rng.integers(-20, 20)
        cases.append(np.round(v, int(rng.integers(0, 3))) if rng.random() < 0.5 else v)
    for v in cases:
        a = np.asarray(v, np.float32)
        for k in {1, a.size, max(1, a.size // 2), int(rng.integers(1, a.size + 1))}:
            assert float(f(a, k)) == np.sort(a)[a.size - k], (a, k)
