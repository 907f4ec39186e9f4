"""An imported ONNX network on the hardware: the float oracle, the float pass, each scheme's pass.

:func:`run_onnx` (computes only; the caller reads the files, :mod:`.onnx_model`
and :mod:`.data`):

1. the float pass: the network through this toolkit's own executor
   (:mod:`.network`) with exact matrix products; it gives each layer's input range;
2. the float oracle: the ONNX reference evaluator on the user's inputs
   (:class:`cosim.workloads.imported.onnx_model.FloatOracle`); the float pass
   must equal it to rounding (``software_vs_reference``). Where the evaluator
   cannot run the model (it lacks a few operator forms this toolkit runs, e.g. a
   grouped ConvTranspose) the float pass is the float model, and a note says so;
3. per scheme (HAQ, PTQ, tuned pairs; :mod:`.schemes`): every analog
   operator's matrices placed on the hardware (once per weight: operators that
   share a weight share its arrays, :attr:`.onnx_model.OnnxModel.owners`), each
   with the DAC full scale
   ``input_headroom x`` the largest ``|input|`` of the float pass (inputs beyond
   it clipped: saturated), and every input run through the analog layers and
   the digital operators; each layer's error against the exact product of its
   own inputs, the end-to-end difference from the oracle, accuracy with labels,
   and the events counted.

The hardware's ``spice`` backend is refused (a deployed pass is one MVM per
input vector and matrix; check a sample against ngspice another way), and the
result cache is off (every programmed array is new).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.record import recording
from cosim.workloads.imported.matrices import Matrix
from cosim.workloads.imported.network import Tally, batch_size, run_batches
from cosim.workloads.imported.onnx_model import FloatOracle, OnnxModel
from cosim.workloads.imported.ops import Work
from cosim.workloads.imported.results import (
    ImportConfig,
    ImportResult,
    LayerReport,
    SchemeRun,
    accuracy,
    output_error,
)
from cosim.workloads.imported.schemes import SCHEMES, PlacedMatrix, place_matrix

Progress = Callable[[str, int, int], None]


def deploy_sim(sim: SimOptions) -> SimOptions:
    """``sim`` for a deployment: the result cache off, the ``spice`` backend refused.

    Raises:
        ConfigError: the ``spice`` backend.
    """
    if sim.backend == "spice":
        raise ConfigError("deploy runs on the ideal or calibrated backend; a deployed pass is "
                          "one ngspice run per input vector and matrix on spice")
    return replace(sim, use_cache=False)


def scheme_streams(seed: int, scheme: str, n: int) -> list[np.random.Generator]:
    """``n`` write-noise streams of ``scheme`` (the same for a scheme whichever others run)."""
    child = np.random.SeedSequence(seed).spawn(len(SCHEMES))[SCHEMES.index(scheme)]
    return [np.random.default_rng(s) for s in child.spawn(n)]


def input_scales(tallies: dict[str, Tally], headroom: float) -> dict[tuple[str, int], float]:
    """Each group's DAC full scale: ``headroom`` times its largest float-pass input."""
    return {(name, g): (headroom * m if m > 0 else 1.0)
            for name, t in tallies.items() for g, m in t.input_max.items()}


def place_all(cfg: ImportConfig, scheme: str, matrices: dict[str, Matrix],
              scales: dict[tuple[str, int], float], hardware: HardwareSpec, sim: SimOptions,
              *, read_noise_draw: str = "per_vector") -> dict[str, list[PlacedMatrix]]:
    """Every matrix (every group) placed with ``scheme``, each from its own write stream."""
    keys = [(name, g) for name, m in matrices.items() for g in range(m.groups)]
    streams = dict(zip(keys, scheme_streams(cfg.seed, scheme, len(keys)), strict=True))
    return {name: [place_matrix(scheme, m.weights[g], hardware, sim, bits=cfg.bits,
                                amp_ratio=cfg.amp_ratio, scaling=cfg.weight_scaling,
                                input_scale=scales.get((name, g), 1.0),
                                rng=streams[(name, g)], seed=cfg.seed,
                                read_noise_draw=read_noise_draw)
                   for g in range(m.groups)]
            for name, m in matrices.items()}


def recorded_layers(scheme: str, placed: dict[str, list[PlacedMatrix]]) -> dict[str, Any]:
    """The analog layers of one deployment by their record names (``<scheme>/<matrix>``,
    ``#<group>`` after a grouped convolution's matrices)."""
    return {f"{scheme}/{name}" + (f"#{g}" if len(ps) > 1 else ""): p.layer
            for name, ps in placed.items() for g, p in enumerate(ps)}


class HardwareProduct:
    """The matrix products of one deployment: clip, analog layer, compare, count."""

    def __init__(self, matrices: dict[str, Matrix], placed: dict[str, list[PlacedMatrix]]):
        self.matrices = matrices
        self.placed = placed
        self.tallies = {name: Tally() for name in matrices}
        self.events = Events()

    def __call__(self, name: str):
        tally, weights, placed = self.tallies[name], self.matrices[name].weights, self.placed[name]

        def mm(g: int, rows: np.ndarray) -> np.ndarray:
            s = placed[g].layer.input_scale
            tally.see(g, rows)
            tally.saturated += int(np.count_nonzero(np.abs(rows) > s))
            y, ev = placed[g].forward(np.clip(rows, -s, s))
            self.events += ev
            tally.compare(y, rows @ weights[g])
            return y
        return mm

    def reports(self, inputs: int) -> list[LayerReport]:
        out = []
        for name, m in self.matrices.items():
            t, placed = self.tallies[name], self.placed[name]
            first = placed[0]
            out.append(LayerReport(
                name=name, op=m.node.op, groups=m.groups, rows=m.weights[0].shape[0],
                cols=int(sum(w.shape[1] for w in m.weights)), bits=first.bits,
                differential=first.layer.programmed.differential,
                cells=sum(p.cells for p in placed),
                macros=sum(p.layer.placement.macros for p in placed),
                vectors=t.vectors / inputs,
                input_scale=tuple(p.layer.input_scale for p in placed),
                max_error=t.max_rel, rms_error=t.rms_rel, full_scale=t.out_max,
                saturated=t.saturated / t.inputs if t.inputs else 0.0,
                placements=tuple(p.layer.placement for p in placed)))
        return out


def float_product(matrices: dict[str, Matrix], tallies: dict[str, Tally]):
    """The exact matrix products of the float pass, recording each layer's inputs."""
    def factory(name: str):
        tally, weights = tallies[name], matrices[name].weights

        def mm(g: int, rows: np.ndarray) -> np.ndarray:
            tally.see(g, rows)
            return rows @ weights[g]
        return mm
    return factory


def shared(factory, owners: dict[str, str]):
    """``factory`` (matrix products by node name) for every node, a node that shares a
    weight served by its owner's products."""
    return lambda name: factory(owners.get(name, name))


def digital_events(work: dict[str, Work]) -> tuple[Events, dict[str, float]]:
    """The digital operators' work as ledger events and extra counters."""
    total = sum(work.values(), Work())
    return (Events(digital_adds=total.adds, digital_mults=total.mults),
            {"cordic_steps": float(total.cordic_steps)})


def check_runs(model: OnnxModel, x: np.ndarray, cfg: ImportConfig) -> None:
    """Run the float pass on the first batch of ``x``, so an operator that cannot run on the
    user's inputs (a reshape that does not fit, an index out of range) is refused before
    any work.

    Raises:
        ConfigError: naming the node.
    """
    graph, mats = model.graph, dict(model.matrices)
    batch = batch_size(graph, len(x), 1)
    run_batches(graph, mats, x[:batch], batch, float_product(mats, {k: Tally() for k in mats}),
                {})


def run_onnx(cfg: ImportConfig, hardware: HardwareSpec, sim: SimOptions, model: OnnxModel,
             x: np.ndarray, labels: np.ndarray | None = None, *,
             progress: Progress | None = None) -> ImportResult:
    """Deploy ``model`` with each of ``cfg.schemes`` and run ``x`` through it (module
    docstring).

    Args:
        cfg: schemes, bits, headroom, batch, seed.
        hardware: the hardware.
        sim: how the tiles compute (``spice`` refused).
        model: the checked model (:func:`cosim.workloads.imported.onnx_model.load_onnx`).
        x: the inputs, checked against the model's input (:mod:`.data`).
        labels: class labels ``(N,)`` for accuracy, or ``None``.
        progress: ``progress(phase, done, total)`` per batch.
    """
    sim = deploy_sim(sim)
    graph, mats = model.graph, dict(model.matrices)
    owners, deployed = dict(model.owners), model.deployed
    n = len(x)
    batch = batch_size(graph, n, cfg.batch)
    timings: dict[str, float] = {}

    def tick(phase: str):
        done = [0]

        def step(k: int) -> None:
            done[0] += k
            if progress is not None:
                progress(phase, done[0], n)
        return step

    t0 = time.perf_counter()
    tallies = {k: Tally() for k in deployed}
    software = run_batches(graph, mats, x, batch,
                           shared(float_product(deployed, tallies), owners), {}, tick("float"))
    timings["float"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    name = graph.inputs[0].name
    notes = list(model.notes)
    try:
        oracle = FloatOracle(model.proto)
        parts = [oracle({name: x[i:i + batch]}) for i in range(0, n, batch)]
        reference = [np.concatenate([p[k] for p in parts]) for k in range(len(graph.outputs))]
        sw_vs_ref = max(output_error(s, r)["max"]
                        for s, r in zip(software, reference, strict=True))
    except ConfigError as exc:  # the evaluator lacks an operator form this toolkit runs
        reference, sw_vs_ref = software, float("nan")
        notes.append(f"{exc}; the float model is this toolkit's own float pass")
    timings["reference"] = time.perf_counter() - t0
    scales = input_scales(tallies, cfg.input_headroom)

    runs, records = {}, []
    for scheme in cfg.schemes:
        t0 = time.perf_counter()
        placed = place_all(cfg, scheme, deployed, scales, hardware, sim)
        t_prog = time.perf_counter() - t0
        t0 = time.perf_counter()
        product = HardwareProduct(deployed, placed)
        work: dict[str, Work] = {}
        with recording() as rec:
            rec.name_all(recorded_layers(scheme, placed))
            outs = run_batches(graph, mats, x, batch, shared(product, owners), work,
                               tick(scheme))
        records += rec.records
        ev, extra = digital_events(work)
        prog = Events()
        for ps in placed.values():
            for p in ps:
                prog += p.layer.programming_events
        runs[scheme] = SchemeRun(
            scheme=scheme, outputs=outs, layers=product.reports(n), events=product.events + ev,
            digital=work, extra=extra, programming_events=prog,
            cell_weights={k: [p.weights() for p in ps] for k, ps in placed.items()},
            output_error=[output_error(o, r) for o, r in zip(outs, reference, strict=True)],
            accuracy=accuracy(outs[0], labels),
            seconds={"programming": t_prog, "evaluation": time.perf_counter() - t0})
        timings[f"program_{scheme}"] = t_prog
        timings[f"evaluate_{scheme}"] = runs[scheme].seconds["evaluation"]
    return ImportResult(
        kind="onnx", model=model.path, config=cfg, hardware=hardware, sim=sim, inputs=n,
        input_shape=tuple(x.shape[1:]), reference=reference, software=software,
        software_vs_reference=sw_vs_ref, labels=labels,
        software_accuracy=accuracy(reference[0], labels), runs=runs,
        output_names=tuple(t.name for t in graph.outputs), notes=tuple(notes),
        timings_s=timings, layer_records=tuple(records))
