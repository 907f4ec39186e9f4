"""The trained SNN on hardware: pruned random pairs in analog layers, the timestep loop,
dynamic early stop.

**Deployment** (pop-up networks): layer ``l`` is programmed with
``Pruned(RandomPairs(seed + l), keep=mask_l)`` through
:meth:`cosim.layers.analog.AnalogLayer.place`: the same forming draw the
network was trained on (:func:`cosim.workloads.snn.network.random_pair_weights`),
then the pruned pairs RESET to HRS, so their ``G+ - G-`` is about zero.

**Timestep loop**: at every step ``t`` each layer's synaptic input ``x_t =
weight_scale * forward(spikes_t)`` comes from the layer's ``forward`` on its tile's
backend (fresh read noise at every call: the tiles draw read noise ``per_call``, one
draw per timestep shared by the batch, because a ``per_vector`` draw of 2312 x 500
cells for every sample costs more than the MVM itself), followed by the LIF update
(:mod:`cosim.workloads.spiking.lif`) in numpy. Counted per step (:class:`StepCounts`):
every layer call's events, the output accumulation (one add per output) and the scale
(one multiply per output), and the LIF updates (one per hidden neuron, sample and
step) in their own counter ``lif_updates``, which the energy table prices as a whole
update (its multiply, add and compare), so they are not counted again as digital
operations.

**Early stop** (PRIME eq. 5): after step ``t`` the confidence is the largest
softmax of ``logits_t / alpha``; a sample stops at the first step where it
reaches the threshold (else at ``T``) and is classified there. The network
is causal, so one pass over all ``T`` steps gives every threshold's result.
"""

from __future__ import annotations

import numpy as np

from circuits.errors import ConfigError, check_range
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.workloads.snn.conv import ConvConfig, conv_states, conv_step
from cosim.workloads.snn.network import TrainedSNN
from cosim.workloads.spiking.lif import lif_step_numpy
from cosim.workloads.spiking.pairs import StepCounts, deploy_pairs
from cosim.workloads.spiking.popup import pair_scheme


def deploy(net: TrainedSNN, hardware: HardwareSpec, sim: SimOptions, *, seed: int = 0,
           write_noise: float | None = None, keep_all: bool = False) -> list[AnalogLayer]:
    """Place and program every layer of ``net`` on ``hardware``
    (:func:`cosim.workloads.spiking.pairs.deploy_pairs`).

    A pop-up network is written as pruned random pairs (the formed pairs stay,
    the pruned ones are RESET to HRS); a weight-trained network
    (``mode="weights"``) by tuning every cell of its pairs
    (:class:`cosim.programming.pairs.TunedPairs`). The first layer's full-scale
    input is ``max_count`` events.

    Args:
        hardware: the hardware; its write noise is every write's programming noise
            (:class:`cosim.programming.pairs.TuningWriter`).
        sim: how the tiles compute.
        seed: layer ``l``'s read noise uses ``seed + l``, its writes ``seed + 1000 + l``.
        write_noise: overrides the hardware's write noise (PRIME Fig. 3g's sweep).
        keep_all: pop-up networks only: keep every formed pair (the random,
            untrained network on hardware).
    """
    cfg = net.config
    if keep_all and cfg.mode != "popup":
        raise ConfigError("keep_all keeps the random pairs of a pop-up network; this one is "
                          "weight-trained")
    shapes = cfg.shapes
    keep = [np.ones(s, bool) for s in shapes] if keep_all else net.masks()
    return deploy_pairs(shapes, hardware, sim,
                        bases=[pair_scheme(cfg, i) for i in range(len(shapes))], keep=keep,
                        weights=net.weights() if cfg.mode == "weights" else None,
                        input_scales=[cfg.max_count] + [1.0] * (len(shapes) - 1), seed=seed,
                        write_noise=write_noise)


def run_timesteps(layers: list[AnalogLayer], net: TrainedSNN, frames: np.ndarray,
                  batch_size: int = 500, progress=None) -> tuple[np.ndarray, StepCounts]:
    """Per-step logits ``(T, N, classes)`` through the analog layers, and what each step
    counted (all samples) — see the module docstring."""
    cfg = net.config
    x = cfg.prepare(frames)
    n, t_n = x.shape[0], cfg.n_frames
    logits = np.zeros((t_n, n, cfg.classes))
    step_events = [Events() for _ in range(t_n)]
    step_lif = [0] * t_n
    conv = isinstance(cfg, ConvConfig)
    for start in range(0, n, batch_size):
        xb = x[start:start + batch_size].astype(float)
        b = xb.shape[0]
        if conv:
            states = conv_states(cfg, b)
        else:
            states = [(np.zeros((b, w)), np.zeros((b, w))) for w in cfg.sizes[1:-1]]
        u_out = np.zeros((b, cfg.classes))
        for t in range(t_n):
            if conv:
                inc, states, ev, lif = conv_step(layers, cfg, states, xb[:, t])
                u_out = u_out + inc
                step_lif[t] += lif
            else:
                ev = Events()
                cur = xb[:, t]
                for i, layer in enumerate(layers):
                    y, e = layer.forward(cur)
                    ev += e + Events(digital_mults=y.size)  # weight_scale
                    syn = cfg.weight_scale * y
                    if i < len(layers) - 1:
                        u, o = lif_step_numpy(*states[i], syn, tau=cfg.tau, v_th=cfg.v_th)
                        states[i] = (u, o)
                        step_lif[t] += u.size
                        cur = o
                    else:
                        u_out = u_out + syn
                        ev += Events(digital_adds=u_out.size)
            logits[t, start:start + b] = u_out
            step_events[t] += ev
        if progress is not None:
            progress(b)
    steps = np.arange(1, t_n + 1)[:, None, None]
    return (np.cumsum(logits, axis=0) / steps,
            StepCounts(samples=n, events=step_events, lif_updates=step_lif))


def confidence(logits: np.ndarray, alpha: float) -> np.ndarray:
    """PRIME eq. 5: the largest softmax of ``logits / alpha`` (last axis)."""
    z = logits / alpha
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p.max(axis=-1) / p.sum(axis=-1)


def early_stop(logits: np.ndarray, labels: np.ndarray, threshold: float, alpha: float = 2.0
               ) -> dict:
    """Accuracy and timesteps when each sample stops at confidence ``>= threshold``.

    Args:
        logits: per-step logits ``(T, N, classes)``.
        labels: ``(N,)``.
        threshold: in ``(0, 1]``; 1 only stops at ``T`` (unless a softmax saturates).
        alpha: softmax temperature (PRIME code 2).

    Returns:
        ``{"threshold", "accuracy", "avg_timesteps", "steps" (N,), "pred" (N,)}``.
    """
    check_range("threshold", threshold, 0.0, 1.0, lo_open=True)
    check_range("alpha", alpha, 0.0, 1e6, lo_open=True)
    labels = np.asarray(labels)
    if logits.ndim != 3 or labels.shape != (logits.shape[1],):
        raise ConfigError(f"labels {labels.shape} do not match logits {logits.shape}")
    t_n = logits.shape[0]
    conf = confidence(logits, alpha)  # (T, N)
    hit = conf >= threshold
    stop = np.where(hit.any(axis=0), hit.argmax(axis=0), t_n - 1)
    pred = logits[stop, np.arange(logits.shape[1])].argmax(-1)
    return {"threshold": float(threshold), "accuracy": float(np.mean(pred == labels)),
            "avg_timesteps": float(np.mean(stop + 1)), "steps": stop + 1, "pred": pred}
