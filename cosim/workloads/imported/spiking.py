"""An imported NIR spiking network on the hardware: the timestep loop, early stop.

**Discretisation.** NIR states each neuron as a continuous-time equation
(:mod:`nir`); with the timestep ``dt`` (``ImportConfig.dt``) every neuron here
takes one forward-Euler step per timestep, the convention snnTorch and Norse
use for NIR, so that a discrete neuron ``v_t = beta v_{t-1} + I_t`` written as
NIR with ``tau = dt / (1 - beta)``, ``r = tau / dt`` comes back unchanged:

- ``LIF``: ``v_t = v' + dt/tau (v_leak - v' + r I_t)``, ``v'`` the previous
  potential, or ``v_reset`` after a spike; spike where ``v_t > v_threshold``.
  With ``w = v - v_reset`` this is the SNN workload's step
  (:func:`cosim.workloads.spiking.lif.lif_step_numpy`, PRIME eq. 1-2) with leak
  ``beta = 1 - dt/tau``, input ``dt r/tau I_t + dt/tau (v_leak - v_reset)`` and
  threshold ``v_threshold - v_reset``: that function runs it.
- ``IF``: the same with ``beta = 1`` and input ``dt r I_t``.
- ``LI``, ``I``: the same without spikes (the output is the potential).
- ``CubaLIF``: first the synaptic current ``I_t = (1 - dt/tau_syn) I_{t-1} +
  dt/tau_syn w_in S_t`` (a leaky integrator), then the ``LIF`` on ``I_t``
  with ``tau_mem``.

Every potential starts at 0, every synaptic current at 0. ``dt`` larger than a
time constant is refused (the Euler step would overshoot).

**Other nodes.** ``Affine``/``Linear`` (``y = W x (+ b)``) and ``Conv2d`` go
onto crossbars as ONNX ``Gemm``/``Conv`` would (:mod:`.matrices`);
``Flatten`` (over the dimensions of one sample, as NIR defines it),
``SumPool2d``, ``AvgPool2d`` and ``Scale`` run digitally (:mod:`.ops`). Several
edges into one node add (one add per value).

**Readout and early stop**, as the SNN workload: the logits after step ``t``
are the mean of the ``Output`` node's values over steps ``1..t`` (the spike
rate of a spiking output, the mean potential of an integrating one), and a
sample stops at the first step whose confidence reaches the threshold
(:func:`cosim.workloads.snn.deployed.early_stop`, PRIME eq. 5).

**Counts** per step: the analog layers' events; one ``lif_updates`` per
``LIF``/``IF`` neuron (and one per ``CubaLIF`` synapse update too), priced as
the SNN's; for ``LI``/``I`` one add per neuron and one multiply where it
leaks; one multiply per value where an input factor ``dt r / tau`` is not 1
and one add where a constant drive (``v_leak``) is not 0.

The tiles draw read noise once per timestep shared by the batch
(``per_call``), as the SNN workload's do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.record import recording
from cosim.workloads.imported.ir import Node, SpikingGraph, SpikingNode
from cosim.workloads.imported.matrices import Matrix, matrix_of
from cosim.workloads.imported.network import Tally
from cosim.workloads.imported.nir_model import NirModel, params_of
from cosim.workloads.imported.ops import Work, run_op
from cosim.workloads.imported.results import (
    ImportConfig,
    ImportResult,
    SchemeRun,
    accuracy,
    output_error,
)
from cosim.workloads.imported.run import (
    HardwareProduct,
    deploy_sim,
    digital_events,
    float_product,
    input_scales,
    place_all,
    recorded_layers,
)
from cosim.workloads.snn.deployed import early_stop
from cosim.workloads.spiking.lif import lif_step_numpy


@dataclass(frozen=True)
class _Neuron:
    """One neuron population's Euler step as :func:`lif_step_numpy` runs it, on the
    potential ``w = v - v_reset`` (``start``: ``w`` at ``v = 0``)."""

    beta: np.ndarray
    gain: np.ndarray
    drive: np.ndarray
    threshold: np.ndarray | None  # None: no spikes, the output is the potential
    start: np.ndarray | float = 0.0

    def work(self, size: int, spiking: bool) -> tuple[Work, int]:
        w = Work(mults=size if np.any(self.gain != 1.0) else 0,
                 adds=size if np.any(self.drive != 0.0) else 0)
        if spiking:
            return w, size
        extra = Work(adds=size, mults=size if np.any(self.beta != 1.0) else 0)
        return w + extra, 0


def _euler(tau: np.ndarray, dt: float, label: str) -> np.ndarray:
    if np.any(dt > tau):
        raise ConfigError(f"{label}: dt {dt:g} exceeds its time constant (down to "
                          f"{float(np.min(tau)):g}); the Euler step would overshoot: give a "
                          "smaller --dt")
    return 1.0 - dt / tau


def _neurons(n: SpikingNode, dt: float) -> list[_Neuron]:
    """The Euler steps of a neuron node (module docstring): one, or two for CubaLIF."""
    label = n.label
    inf = None
    if n.kind == "LIF":
        p = params_of(n, {"tau": 1.0, "r": 1.0, "v_leak": 0.0, "v_threshold": 1.0,
                          "v_reset": 0.0})
        return [_Neuron(beta=_euler(p["tau"], dt, label), gain=dt * p["r"] / p["tau"],
                        drive=dt / p["tau"] * (p["v_leak"] - p["v_reset"]),
                        threshold=p["v_threshold"] - p["v_reset"], start=-p["v_reset"])]
    if n.kind == "IF":
        p = params_of(n, {"r": 1.0, "v_threshold": 1.0, "v_reset": 0.0})
        return [_Neuron(beta=np.ones_like(p["r"]), gain=dt * p["r"], drive=np.zeros_like(p["r"]),
                        threshold=p["v_threshold"] - p["v_reset"], start=-p["v_reset"])]
    if n.kind == "LI":
        p = params_of(n, {"tau": 1.0, "r": 1.0, "v_leak": 0.0})
        return [_Neuron(beta=_euler(p["tau"], dt, label), gain=dt * p["r"] / p["tau"],
                        drive=dt / p["tau"] * p["v_leak"], threshold=inf)]
    if n.kind == "I":
        p = params_of(n, {"r": 1.0})
        return [_Neuron(beta=np.ones_like(p["r"]), gain=dt * p["r"],
                        drive=np.zeros_like(p["r"]), threshold=inf)]
    p = params_of(n, {"tau_syn": 1.0, "tau_mem": 1.0, "r": 1.0, "v_leak": 0.0,
                      "v_threshold": 1.0, "v_reset": 0.0, "w_in": 1.0})
    syn = _Neuron(beta=_euler(p["tau_syn"], dt, label), gain=dt / p["tau_syn"] * p["w_in"],
                  drive=np.zeros_like(p["r"]), threshold=inf)
    mem = _Neuron(beta=_euler(p["tau_mem"], dt, label), gain=dt * p["r"] / p["tau_mem"],
                  drive=dt / p["tau_mem"] * (p["v_leak"] - p["v_reset"]),
                  threshold=p["v_threshold"] - p["v_reset"], start=-p["v_reset"])
    return [syn, mem]


def _matrix(n: SpikingNode) -> tuple[Matrix, dict[str, np.ndarray]]:
    """An Affine, Linear or Conv2d node as the ONNX operator with the same product."""
    p = n.params
    w_name, b_name = f"{n.name}::weight", f"{n.name}::bias"
    consts = {w_name: np.asarray(p["weight"], dtype=float)}
    if n.kind in ("Affine", "Linear"):
        inputs = ("x", w_name)
        if n.kind == "Affine":
            consts[b_name] = np.broadcast_to(np.asarray(p["bias"], dtype=float).reshape(-1),
                                             (consts[w_name].shape[0],)).copy()
            inputs += (b_name,)
        node = Node(name=n.name, op="Gemm", inputs=inputs, outputs=(n.name,),
                    attrs={"transB": 1})
        return matrix_of(node, consts), consts
    consts[b_name] = np.asarray(p["bias"], dtype=float).reshape(-1)

    def pair(v, default: int) -> list[int]:
        a = np.asarray(default if v is None else v).reshape(-1)
        return [int(a[0])] * 2 if a.size == 1 else [int(v) for v in a]

    attrs = {"strides": pair(p.get("stride"), 1), "dilations": pair(p.get("dilation"), 1),
             "group": int(np.asarray(p.get("groups", 1)).reshape(-1)[0])}
    pad = p.get("padding", 0)
    if isinstance(pad, str):
        if pad not in ("same", "valid"):
            raise ConfigError(f"{n.label}: padding {pad!r} is not 'same', 'valid' or numbers")
        attrs["auto_pad"] = "SAME_UPPER" if pad == "same" else "VALID"
    else:
        attrs["pads"] = pair(pad, 0) * 2
    node = Node(name=n.name, op="Conv", inputs=("x", w_name, b_name), outputs=(n.name,),
                attrs=attrs)
    return matrix_of(node, consts), consts


class SpikingNet:
    """A :class:`SpikingGraph` ready to run step by step (module docstring).

    Args:
        graph: the network.
        input_shape: one input at one timestep.
        dt: the timestep of the NIR equations.
    """

    def __init__(self, graph: SpikingGraph, input_shape: tuple[int, ...], dt: float):
        self.graph = graph
        self.input_shape = tuple(input_shape)
        self.dt = float(dt)
        self.sources = {n.name: graph.sources(n.name) for n in graph.nodes}
        self.matrices: dict[str, Matrix] = {}
        self.args: dict[str, list[np.ndarray]] = {}
        self.neurons: dict[str, list[_Neuron]] = {}
        for n in graph.nodes:
            if n.kind in ("Affine", "Linear", "Conv2d"):
                m, consts = _matrix(n)
                self.matrices[n.name] = m
                self.args[n.name] = [consts[t] for t in m.node.inputs[1:]]
            elif n.kind in ("LIF", "CubaLIF", "LI", "IF", "I"):
                self.neurons[n.name] = _neurons(n, self.dt)
            if n.kind != "Input" and not self.sources[n.name]:
                raise ConfigError(f"{n.label} has no incoming edge")
        self.output = next(n.name for n in graph.nodes if n.kind == "Output")

    def run(self, frames: np.ndarray, mm: Callable, batch: int, work: dict[str, Work],
            progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, float]:
        """Per-step logits ``(T, N, ...)`` (the running mean of the output) and the LIF
        updates counted, for ``frames (N, T, *input_shape)``; work added to ``work``."""
        n, t_n = frames.shape[:2]
        outs: list[np.ndarray] = []
        lif = 0.0
        for start in range(0, n, batch):
            xb = frames[start:start + batch]
            states: dict[str, list[np.ndarray]] = {}
            per_step = []
            for t in range(t_n):
                y, k = self._step(xb[:, t], states, mm, work)
                per_step.append(y)
                lif += k
            outs.append(np.stack(per_step))
            if progress is not None:
                progress(len(xb))
        out = np.concatenate(outs, axis=1)
        steps = np.arange(1, t_n + 1, dtype=float).reshape((-1,) + (1,) * (out.ndim - 1))
        return np.cumsum(out, axis=0) / steps, lif

    def _step(self, x: np.ndarray, states: dict, mm: Callable, work: dict[str, Work]
              ) -> tuple[np.ndarray, int]:
        values: dict[str, np.ndarray] = {}
        lif = 0
        for node in self.graph.nodes:
            name, kind = node.name, node.kind
            if kind == "Input":
                values[name] = x
                continue
            srcs = [values[s] for s in self.sources[name]]
            try:
                v = srcs[0] if len(srcs) == 1 else np.sum(np.broadcast_arrays(*srcs), axis=0)
            except ValueError:
                raise ConfigError(f"{node.label}: its inputs have shapes "
                                  f"{[s.shape for s in srcs]}, which do not add") from None
            w = Work(adds=v.size * (len(srcs) - 1))
            if name in self.matrices:
                y, w2 = self.matrices[name].apply([v, *self.args[name]], mm(name))
            elif name in self.neurons:
                y, w2, k = self._neuron(node, v, states)
                lif += k
            else:
                y, w2 = self._digital(node, v)
            work[kind] = work.get(kind, Work()) + w + w2
            values[name] = y
        return values[self.output], lif

    def _neuron(self, node: SpikingNode, x: np.ndarray, states: dict
                ) -> tuple[np.ndarray, Work, int]:
        steps = self.neurons[node.name]
        if node.name not in states:
            states[node.name] = [a for nr in steps for a in
                                 (np.zeros_like(x, dtype=float) + nr.start,
                                  np.zeros_like(x, dtype=float))]
        st = states[node.name]
        work, lif = Work(), 0
        for i, nr in enumerate(steps):
            spiking = nr.threshold is not None
            try:
                drive = nr.gain * x + nr.drive
                v, o = lif_step_numpy(st[2 * i], st[2 * i + 1], drive, tau=nr.beta,
                                      v_th=nr.threshold if spiking else np.inf)
            except ValueError:
                raise ConfigError(f"{node.label}: parameters of shape {nr.beta.shape} do not "
                                  f"fit its input of shape {x.shape[1:]}") from None
            st[2 * i], st[2 * i + 1] = v, o
            w, k = nr.work(v.size, spiking)
            work, lif = work + w, lif + k
            x = o if spiking else v
        if node.kind == "CubaLIF":
            lif += x.size  # the synaptic update, priced as one LIF update
        return x, work, lif

    def _digital(self, node: SpikingNode, x: np.ndarray) -> tuple[np.ndarray, Work]:
        p = node.params
        kind = node.kind
        if kind == "Output":
            return x, Work()
        if kind == "Scale":
            s = np.asarray(p["scale"], dtype=float)
            return x * s, Work(mults=x.size)
        if kind == "Flatten":
            shape = x.shape[1:]
            rank = len(shape)
            start = int(p.get("start_dim", 0))
            end = int(p.get("end_dim", -1))
            start, end = start % rank if rank else 0, end % rank if rank else 0
            new = shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
            return x.reshape(x.shape[0], *new), Work(moved=x.size)
        kernel = [int(v) for v in np.asarray(p["kernel_size"]).reshape(-1)]
        kernel = kernel * 2 if len(kernel) == 1 else kernel
        stride = [int(v) for v in np.asarray(p.get("stride", kernel)).reshape(-1)]
        stride = stride * 2 if len(stride) == 1 else stride
        pad = [int(v) for v in np.asarray(p.get("padding", 0)).reshape(-1)]
        pad = pad * 2 if len(pad) == 1 else pad
        pool = Node(name=node.name, op="AveragePool", inputs=("x",), outputs=("y",),
                    attrs={"kernel_shape": kernel, "strides": stride, "pads": pad * 2,
                           "count_include_pad": 1})
        (y,), w = run_op(pool, [x], 19)
        if kind == "SumPool2d":
            return y * math.prod(kernel), Work(adds=w.adds)
        return y, w


def prepare_net(model: NirModel, cfg: ImportConfig, frames: np.ndarray) -> SpikingNet:
    """The network of ``model`` for ``cfg.dt``, run once on one step of the first input with
    exact products, so a parameter, ``dt`` or a shape that does not fit is refused before any
    work.

    Raises:
        ConfigError: naming the node.
    """
    net = SpikingNet(model.graph, model.input_shape, cfg.dt)
    net.run(frames[:1, :1], float_product(net.matrices, {k: Tally() for k in net.matrices}),
            1, {})
    return net


def run_nir(cfg: ImportConfig, hardware: HardwareSpec, sim: SimOptions, model: NirModel,
            frames: np.ndarray, labels: np.ndarray | None = None, *,
            progress: Callable[[str, int, int], None] | None = None) -> ImportResult:
    """Deploy a NIR network with each of ``cfg.schemes`` and run ``frames (N, T, *input)``
    through its timestep loop (module docstring); the float model is the same loop with
    exact products."""
    sim = deploy_sim(sim)
    net = prepare_net(model, cfg, frames)
    n = len(frames)
    batch = max(1, min(cfg.batch, n))
    timings: dict[str, float] = {}

    def tick(phase: str):
        done = [0]

        def step(k: int) -> None:
            done[0] += k
            if progress is not None:
                progress(phase, done[0], n)
        return step

    t0 = time.perf_counter()
    tallies = {k: Tally() for k in net.matrices}
    logits_sw, _ = net.run(frames, float_product(net.matrices, tallies), batch, {},
                           tick("float"))
    timings["float"] = time.perf_counter() - t0
    if labels is not None and logits_sw.ndim != 3:
        raise ConfigError(f"labels need an output of one value per class; the network's "
                          f"output has shape {logits_sw.shape[2:]} per step")
    scales = input_scales(tallies, cfg.input_headroom)

    from cosim.workloads.snn.experiment import DEFAULT_THRESHOLDS

    thresholds = cfg.thresholds if cfg.thresholds is not None else DEFAULT_THRESHOLDS

    def stops(logits: np.ndarray) -> list[dict[str, float]]:
        if labels is None:
            return []
        rows = []
        for th in thresholds:
            r = early_stop(logits, labels, th, cfg.alpha)
            rows.append({"threshold": r["threshold"], "accuracy": r["accuracy"],
                         "avg_timesteps": r["avg_timesteps"],
                         "timesteps_saved": 1.0 - r["avg_timesteps"] / logits.shape[0]})
        return rows

    runs, records = {}, []
    for scheme in cfg.schemes:
        t0 = time.perf_counter()
        placed = place_all(cfg, scheme, net.matrices, scales, hardware, sim,
                           read_noise_draw="per_call")
        t_prog = time.perf_counter() - t0
        t0 = time.perf_counter()
        product = HardwareProduct(net.matrices, placed)
        work: dict[str, Work] = {}
        with recording() as rec:
            rec.name_all(recorded_layers(scheme, placed))
            logits, lif = net.run(frames, product, batch, work, tick(scheme))
        records += rec.records
        ev, extra = digital_events(work)
        prog = Events()
        for ps in placed.values():
            for pm in ps:
                prog += pm.layer.programming_events
        runs[scheme] = SchemeRun(
            scheme=scheme, outputs=[logits[-1]], layers=product.reports(n),
            events=product.events + ev, digital=work,
            extra={**extra, "lif_updates": float(lif)}, programming_events=prog,
            cell_weights={k: [pm.weights() for pm in ps] for k, ps in placed.items()},
            output_error=[output_error(logits[-1], logits_sw[-1])],
            accuracy=accuracy(logits[-1], labels), early_stop=stops(logits), logits=logits,
            seconds={"programming": t_prog, "evaluation": time.perf_counter() - t0})
        timings[f"program_{scheme}"] = t_prog
        timings[f"evaluate_{scheme}"] = runs[scheme].seconds["evaluation"]
    notes = (f"NIR equations stepped by forward Euler with dt = {cfg.dt:g}; logits: the "
             f"running mean of the output over {frames.shape[1]} timesteps",)
    return ImportResult(
        kind="nir", model=model.path, config=cfg, hardware=hardware, sim=sim, inputs=n,
        input_shape=tuple(frames.shape[1:]), reference=[logits_sw[-1]],
        software=[logits_sw[-1]], software_vs_reference=0.0, labels=labels,
        software_accuracy=accuracy(logits_sw[-1], labels), runs=runs,
        output_names=(net.output,), notes=notes, software_early_stop=stops(logits_sw),
        timings_s=timings, layer_records=tuple(records))
