"""Spiking networks written with ``nir`` in the tests, deployed and run step by step.

The reference for the timestep loop is the NIR equations stepped by forward Euler,
written out here from the NIR definitions (not the SNN workload's code): on exact
hardware (tuned pairs, no write noise) the deployed loop gives the same logits.
"""

from __future__ import annotations

import nir
import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.workloads.imported.nir_model import load_nir
from cosim.workloads.imported.results import ImportConfig
from cosim.workloads.imported.spiking import run_nir
from cosim.workloads.snn.experiment import DEFAULT_THRESHOLDS

EXACT = SimOptions(backend="calibrated", use_cache=False)


def _lif(n, tau, r, v_th, v_leak=0.0, v_reset=0.0):
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, r), v_leak=np.full(n, v_leak),
                   v_threshold=np.full(n, v_th), v_reset=np.full(n, v_reset))


def _euler_lif(v, spiked, i_in, tau, r, v_th, v_leak, v_reset, dt):
    """One forward-Euler step of NIR's LIF: tau dv/dt = (v_leak - v) + R I, reset after a
    spike to v_reset."""
    v = np.where(spiked, v_reset, v)
    v = v + dt / tau * (v_leak - v + r * i_in)
    return v, v > v_th


@pytest.fixture
def two_layer(tmp_path):
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(0, 0.6, (20, 12)), rng.normal(0, 0.6, (4, 20))
    p1 = dict(tau=2.0, r=1.5, v_th=0.4, v_leak=0.1, v_reset=-0.05)
    p2 = dict(tau=4.0, r=2.0, v_th=0.3, v_leak=0.0, v_reset=0.0)
    g = nir.NIRGraph.from_list(nir.Input(input_type=np.array([12])), nir.Linear(weight=w1),
                               _lif(20, **p1), nir.Linear(weight=w2), _lif(4, **p2),
                               nir.Output(output_type=np.array([4])))
    path = tmp_path / "snn.nir"
    nir.write(path, g)
    return path, w1, w2, p1, p2


def test_linear_lif_linear_lif_runs_its_timestep_loop(two_layer):
    path, w1, w2, p1, p2 = two_layer
    rng = np.random.default_rng(1)
    x = (rng.random((25, 9, 12)) < 0.4).astype(float)
    labels = rng.integers(0, 4, 25)
    dt = 0.5
    r = run_nir(ImportConfig(schemes=("pairs", "haq"), dt=dt), preset("prime"), EXACT,
                load_nir(path), x, labels)
    # the NIR equations, stepped here
    v1, s1 = np.zeros((25, 20)), np.zeros((25, 20), bool)
    v2, s2 = np.zeros((25, 4)), np.zeros((25, 4), bool)
    outs = []
    for t in range(9):
        v1, s1 = _euler_lif(v1, s1, x[:, t] @ w1.T, dt=dt, **_args(p1))
        v2, s2 = _euler_lif(v2, s2, s1 @ w2.T, dt=dt, **_args(p2))
        outs.append(s2.astype(float))
    rate = np.cumsum(outs, axis=0) / np.arange(1, 10)[:, None, None]
    pairs = r.runs["pairs"]
    assert np.array_equal(pairs.logits, rate)  # spike for spike
    assert np.array_equal(r.reference[0], rate[-1])
    assert rate.std() > 0  # the network spikes, and not everywhere
    assert pairs.accuracy == r.software_accuracy == np.mean(rate[-1].argmax(-1) == labels)
    # the loop counted one LIF update per neuron and step, and early stop rows per threshold
    assert pairs.extra["lif_updates"] == 25 * 9 * 24
    assert len(pairs.early_stop) == len(DEFAULT_THRESHOLDS)
    assert all(1 <= row["avg_timesteps"] <= 9 for row in pairs.early_stop)
    w = r.workload("pairs")
    assert w.extra_counts["lif_updates"] == 9 * 24 and w.read_steps == 2 * 9
    assert [ly.name for ly in r.runs["haq"].layers] == ["linear", "linear_1"]


def _args(p):
    return {"tau": p["tau"], "r": p["r"], "v_th": p["v_th"], "v_leak": p["v_leak"],
            "v_reset": p["v_reset"]}


def test_conv_pool_flatten_and_other_neurons(tmp_path):
    """Conv2d -> CubaLIF -> SumPool2d -> Flatten -> Affine -> IF -> Affine -> LI: on exact
    hardware the deployed loop equals its float model."""
    rng = np.random.default_rng(2)
    k = rng.normal(0, 0.5, (3, 2, 3, 3))
    n = 3 * 3 * 3
    g = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([2, 8, 8])),
        nir.Conv2d(input_shape=(8, 8), weight=k, stride=1, padding=0, dilation=1, groups=1,
                   bias=np.zeros(3)),
        nir.CubaLIF(tau_syn=np.full((3, 6, 6), 2.0), tau_mem=np.full((3, 6, 6), 3.0),
                    r=np.full((3, 6, 6), 3.0), v_leak=np.zeros((3, 6, 6)),
                    v_threshold=np.full((3, 6, 6), 0.3)),
        nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                      padding=np.array([0, 0])),
        nir.Flatten(input_type={"input": np.array([3, 3, 3])}, start_dim=0, end_dim=-1),
        nir.Affine(weight=rng.normal(0, 0.5, (10, n)), bias=rng.normal(0, 0.1, 10)),
        nir.IF(r=np.ones(10), v_threshold=np.full(10, 0.5)),
        nir.Affine(weight=rng.normal(0, 0.5, (3, 10)), bias=np.zeros(3)),
        nir.LI(tau=np.full(3, 2.0), r=np.full(3, 2.0), v_leak=np.zeros(3)),
        nir.Output(output_type=np.array([3])), type_check=False)
    path = tmp_path / "conv.nir"
    nir.write(path, g)
    x = (rng.random((6, 5, 2, 8, 8)) < 0.3).astype(float)
    r = run_nir(ImportConfig(schemes=("pairs",)), preset("prime"), EXACT, load_nir(path), x)
    run = r.runs["pairs"]
    assert run.output_error[0]["max"] < 1e-9
    assert [ly.op for ly in run.layers] == ["Conv", "Gemm", "Gemm"]
    assert run.layers[0].vectors == 5 * 36  # one patch per output position and step


def test_dt_beyond_a_time_constant_is_refused(two_layer):
    path = two_layer[0]
    with pytest.raises(ConfigError, match="dt 3 exceeds its time constant"):
        run_nir(ImportConfig(dt=3.0), preset("prime"), EXACT, load_nir(path),
                np.zeros((2, 3, 12)))


def test_recurrent_and_unsupported_nodes_are_refused(tmp_path):
    w = np.eye(4)
    rec = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([4])),
                              "a": nir.Linear(weight=w), "b": _lif(4, 2.0, 2.0, 0.5),
                              "c": nir.Linear(weight=w), "out": nir.Output(
                                  output_type=np.array([4]))},
                       edges=[("in", "a"), ("a", "b"), ("b", "c"), ("c", "b"), ("b", "out")])
    nir.write(tmp_path / "rec.nir", rec)
    with pytest.raises(ConfigError, match="form a loop"):
        load_nir(tmp_path / "rec.nir")
    delay = nir.NIRGraph.from_list(nir.Input(input_type=np.array([4])),
                                   nir.Delay(delay=np.ones(4)),
                                   nir.Output(output_type=np.array([4])))
    nir.write(tmp_path / "delay.nir", delay)
    with pytest.raises(ConfigError, match=r"NIR node 'delay' \(Delay\) is not handled"):
        load_nir(tmp_path / "delay.nir")


def _euler_reference(kind: str, p: dict, x: np.ndarray, dt: float) -> np.ndarray:
    """One neuron kind driven by ``x (T, N, n)``, stepped here from NIR's definitions."""
    n_t = x.shape[0]
    v = np.zeros(x.shape[1:])
    i_syn = np.zeros(x.shape[1:])
    spiked = np.zeros(x.shape[1:], bool)
    out = []
    for t in range(n_t):
        if kind == "CubaLIF":
            i_syn = i_syn + dt / p["tau_syn"] * (-i_syn + p["w_in"] * x[t])
            v, spiked = _euler_lif(v, spiked, i_syn, p["tau_mem"], p["r"], p["v_threshold"],
                                   p["v_leak"], p["v_reset"], dt)
            out.append(spiked.astype(float))
        elif kind == "IF":
            v = np.where(spiked, p["v_reset"], v) + dt * p["r"] * x[t]
            spiked = v > p["v_threshold"]
            out.append(spiked.astype(float))
        elif kind == "LI":
            v = v + dt / p["tau"] * (p["v_leak"] - v + p["r"] * x[t])
            out.append(v.copy())
        else:  # I
            v = v + dt * p["r"] * x[t]
            out.append(v.copy())
    return np.cumsum(out, axis=0) / np.arange(1, n_t + 1)[:, None, None]


NEURONS = {
    "CubaLIF": dict(tau_syn=1.5, tau_mem=2.5, r=2.0, v_leak=0.05, v_threshold=0.2,
                    v_reset=-0.1, w_in=0.8),
    "IF": dict(r=0.7, v_threshold=0.6, v_reset=0.1),
    "LI": dict(tau=3.0, r=1.2, v_leak=0.2),
    "I": dict(r=0.9),
}


@pytest.mark.parametrize("kind", list(NEURONS))
def test_neuron_kinds_follow_the_nir_equations(kind, tmp_path):
    n = 5
    p = NEURONS[kind]
    neuron = getattr(nir, kind)(**{k: np.full(n, v) for k, v in p.items()})
    g = nir.NIRGraph.from_list(nir.Input(input_type=np.array([n])),
                               nir.Linear(weight=np.eye(n)), neuron,
                               nir.Output(output_type=np.array([n])))
    nir.write(tmp_path / "n.nir", g)
    x = np.random.default_rng(4).uniform(-0.5, 1.0, (7, 6, n))
    dt = 0.75
    r = run_nir(ImportConfig(schemes=("pairs",), dt=dt), preset("prime"), EXACT,
                load_nir(tmp_path / "n.nir"), x)
    ref = _euler_reference(kind, p, np.swapaxes(x, 0, 1), dt)
    assert np.allclose(r.runs["pairs"].logits, ref, rtol=0, atol=1e-12)
    if kind in ("CubaLIF", "IF"):
        assert 0 < ref[-1].mean() < 1  # some neurons spike, not all the time
