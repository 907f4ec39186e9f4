"""The trained SNN as an exchange graph (NIR semantics), for ``--export nir``.

The MLP (:class:`cosim.workloads.snn.network.SNNConfig`) becomes::

    Input(sizes[0]) -> Linear(W_0) -> LIF -> Linear(W_1) -> LIF ... -> Linear(W_L) -> I -> Output

with ``W_l`` the effective weights (the pairs' ``N(0, 1)`` weights times the
layer's digital scale, pruned pairs zero), written ``(out, in)`` as NIR wants.
Each hidden LIF step ``u_t = beta u_{t-1} (1 - o_{t-1}) + x_t`` (PRIME eq. 1-2,
``beta`` the config's ``tau``) is written in NIR's continuous form for the
timestep ``dt``, as snnTorch writes its discrete neurons:
``tau = dt / (1 - beta)``, ``r = tau / dt``, ``v_leak = v_reset = 0``,
``v_threshold = v_th`` (``beta = 1``: an ``IF`` with ``r = 1 / dt``); the
output layer's accumulation ``U_t = U_{t-1} + I_t`` is an integrator ``I``
with ``r = 1 / dt``. Stepped by forward Euler with the same ``dt``
(:mod:`cosim.workloads.imported.spiking`), the graph gives the workload's own
steps back; its logits are the running mean of the output, as here.

The inputs a network sees are the frames clipped at ``max_count`` (the first
layer's DAC full scale) and flattened to ``sizes[0]`` values per step
(:func:`exported_inputs` gives them for the run's test split). The conv net has
max pooling, which NIR has no primitive for: it is not exported.
"""

from __future__ import annotations

import numpy as np

from circuits.errors import ConfigError
from cosim.workloads.imported.ir import SpikingGraph, SpikingNode
from cosim.workloads.snn.dvs import EventSet
from cosim.workloads.snn.network import SNNConfig, TrainedSNN

DT = 1.0
"""The timestep the exported equations are written for (the importer's default)."""
EXPORT_FORMATS = {"nir": None,
                  "onnx": "ONNX has no spiking neuron or timestep loop; export the SNN as nir"}
"""Formats ``cosim snn --export`` writes (``None``) or refuses (the reason)."""


def check_exportable(cfg) -> None:
    """Refuse, before any work, a network :func:`snn_graph` cannot write (the conv net)."""
    if not isinstance(cfg, SNNConfig):
        raise ConfigError("--export nir: the conv net's max pooling has no NIR primitive; "
                          "export the MLP (--net mlp)")


def snn_graph(net: TrainedSNN, dt: float = DT) -> SpikingGraph:
    """The trained MLP as NIR nodes and edges (module docstring).

    Raises:
        ConfigError: the conv net (no NIR primitive for its max pooling).
    """
    cfg = net.config
    check_exportable(cfg)
    nodes = [SpikingNode(name="input", kind="Input", params={"shape": (cfg.sizes[0],)})]
    weights = [np.asarray(w, dtype=float) * k
               for w, k in zip(net.weights(), cfg.layer_scales, strict=True)]
    last = len(weights) - 1
    for i, w in enumerate(weights):
        nodes.append(SpikingNode(name=f"fc{i}", kind="Linear", params={"weight": w.T.copy()}))
        n = w.shape[1]
        if i < last:
            nodes.append(_lif(f"lif{i}", n, cfg.tau, cfg.v_th, dt))
        else:
            nodes.append(SpikingNode(name="integrator", kind="I",
                                     params={"r": np.full(n, 1.0 / dt)}))
    nodes.append(SpikingNode(name="output", kind="Output", params={"shape": (cfg.classes,)}))
    edges = tuple((a.name, b.name) for a, b in zip(nodes[:-1], nodes[1:], strict=True))
    return SpikingGraph(nodes=tuple(nodes), edges=edges)


def _lif(name: str, n: int, beta: float, v_th: float, dt: float) -> SpikingNode:
    if beta >= 1.0:
        return SpikingNode(name=name, kind="IF", params={
            "r": np.full(n, 1.0 / dt), "v_threshold": np.full(n, v_th),
            "v_reset": np.zeros(n)})
    tau = dt / (1.0 - beta)
    return SpikingNode(name=name, kind="LIF", params={
        "tau": np.full(n, tau), "r": np.full(n, tau / dt), "v_leak": np.zeros(n),
        "v_threshold": np.full(n, v_th), "v_reset": np.zeros(n)})


def exported_inputs(cfg, data: EventSet) -> tuple[np.ndarray, np.ndarray]:
    """The run's test split as the exported network takes it: ``(N, T, sizes[0])`` float32
    frames, clipped at ``max_count``, and the labels ``(N,)``.

    Args:
        cfg: the run (:class:`cosim.workloads.snn.experiment.SNNRunConfig`).
        data: the run's data set.
    """
    from cosim.workloads.snn.experiment import split_indices

    _, te = split_indices(data.labels, cfg.n_train, cfg.n_test, cfg.seed)
    frames = data.subset(te).frames(cfg.net.n_frames, cfg.split)
    return cfg.net.prepare(frames), np.asarray(data.labels[te], dtype=np.int64)
