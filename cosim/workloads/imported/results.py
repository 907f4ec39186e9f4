"""What a deployment of an imported network gives: its config, per-layer and per-scheme results.

Shared by the ONNX run (:mod:`.run`) and the NIR run (:mod:`.spiking`).

**Errors** are fractions of full scale. A layer's error compares its output on
the hardware with the exact product of the weights it was given (the float
model's) and the same inputs (the ones the hardware path gave it), so each
layer's own analog error shows apart from what earlier layers passed on; its
full scale is the largest ``|exact output|`` over the data. The end-to-end
difference compares the network's outputs with the float model's
(:func:`output_error`), full scale the largest ``|float output|``.

**Workload** (:meth:`ImportResult.workload`): one inference is one input (one
sample for a spiking net, all its timesteps). Events are the ones counted: the
analog layers' own (:meth:`cosim.layers.analog.AnalogLayer.forward`) and the
digital operators' work (:mod:`.ops`: adds, multiplies, CORDIC steps; LIF
updates for spiking nets). Hardware is sized per matrix by the ``mvm`` rule of
:mod:`cosim.accounting.workload` on each placed block (bits per weight, the
hardware's aggregation and cell kind; a differential pair as the SNN sizes
it, :func:`cosim.workloads.spiking.pairs.pair_hardware`), every block a whole
physical macro. GPU operations per inference: two per multiply-accumulate of
the matrices, one per digital add or multiply and one per CORDIC evaluation
(sin, cos, exp, tanh), four per LIF update (as the SNN's ledger).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_choice, check_int, check_range
from cosim.accounting.area import Hardware
from cosim.accounting.events import Events
from cosim.accounting.workload import Workload, mvm_workload
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement
from cosim.hardware.spec import HardwareSpec
from cosim.layers.record import LayerRecord
from cosim.programming.base import MAX_BITS, SCALINGS, check_amp_ratio
from cosim.workloads.imported.ops import CORDIC_ITERATIONS, Work
from cosim.workloads.imported.schemes import SCHEMES

INPUT_HEADROOM = 1.1
"""Default DAC full scale of a layer over the largest ``|input|`` the float model gives it
on the data: room for the deployed network's own deviations (inputs beyond it saturate,
counted per layer)."""


@dataclass(frozen=True, kw_only=True)
class ImportConfig:
    """How an imported network is deployed and run (its hardware is apart).

    Attributes:
        schemes: the programming schemes compared (:data:`.schemes.SCHEMES`),
            each a deployment of its own.
        bits: cells per weight for HAQ and PTQ.
        amp_ratio: HAQ's ``s``.
        weight_scaling: full-scale weight per ``"matrix"`` or per ``"column"``.
        input_headroom: each layer's DAC full scale over the largest ``|input|``
            the float model gives it on the data (:data:`INPUT_HEADROOM`).
        batch: inputs per pass through the network (memory); a model whose input
            fixes its batch size runs in batches of that size.
        timesteps: spiking nets: timesteps of an input given without a time axis
            (repeated at every step).
        dt: spiking nets: the timestep of NIR's continuous-time equations.
        thresholds: spiking nets: early-stop confidence thresholds in ``(0, 1]``;
            ``None``: the SNN workload's (``cosim.workloads.snn.experiment.DEFAULT_THRESHOLDS``).
        alpha: spiking nets: softmax temperature of the confidence.
        seed: seed of the write noise (one stream per scheme and matrix) and of
            the tiles' read noise.
    """

    schemes: tuple[str, ...] = ("haq", "ptq")
    bits: int = 12
    amp_ratio: float = 1.5
    weight_scaling: str = "matrix"
    input_headroom: float = INPUT_HEADROOM
    batch: int = 256
    timesteps: int = 10
    dt: float = 1.0
    thresholds: tuple[float, ...] | None = None
    alpha: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.schemes:
            raise ConfigError("give at least one programming scheme")
        for s in self.schemes:
            check_choice("programming scheme", s, SCHEMES)
        if len(set(self.schemes)) != len(self.schemes):
            raise ConfigError(f"a scheme is named twice in {list(self.schemes)}")
        check_int("bits", self.bits, 1, MAX_BITS)
        check_amp_ratio(self.amp_ratio)
        check_choice("weight scaling", self.weight_scaling, SCALINGS)
        check_range("input headroom", self.input_headroom, 1.0, 100.0)
        check_int("batch", self.batch, 1, 10**6)
        check_int("timesteps", self.timesteps, 1, 10_000)
        check_range("dt", self.dt, 0.0, 1e6, lo_open=True)
        if self.thresholds is not None:
            if not self.thresholds:
                raise ConfigError("give at least one early-stop threshold")
            for t in self.thresholds:
                check_range("threshold", t, 0.0, 1.0, lo_open=True)
        check_range("alpha", self.alpha, 0.0, 1e6, lo_open=True)
        check_int("seed", self.seed, 0, 2**31 - 1)


@dataclass(frozen=True, kw_only=True)
class LayerReport:
    """One analog operator as deployed with one scheme.

    Attributes:
        name, op: the node and its operator (``Gemm``, ``Conv``, NIR ``Linear`` ...).
        groups: matrices (convolution groups).
        rows, cols: the weight matrix per group, ``(in, out)``.
        bits: cells per weight.
        differential: each weight a differential pair (``pairs``).
        cells: RRAM cells holding the weights.
        macros: macros the placed blocks take.
        vectors: matrix-vector products per inference (all groups; per timestep
            and sample for a spiking net, times its timesteps).
        input_scale: DAC full scale per group.
        max_error, rms_error: the layer's error, fractions of ``full_scale``.
        full_scale: largest ``|exact output|`` over the data.
        saturated: fraction of input values beyond the input scale (clipped).
        placements: each group's placement.
    """

    name: str
    op: str
    groups: int
    rows: int
    cols: int
    bits: int
    differential: bool
    cells: int
    macros: int
    vectors: float
    input_scale: tuple[float, ...]
    max_error: float
    rms_error: float
    full_scale: float
    saturated: float
    placements: tuple[Placement, ...] = ()

    def row(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "placements"}
        d["input_scale"] = list(self.input_scale)
        d["rows_used"] = [p.rows_used for p in self.placements]
        d["cols_used"] = [p.cols_used for p in self.placements]
        return d


@dataclass(frozen=True, kw_only=True, eq=False)
class SchemeRun:
    """The network deployed with one scheme and run on every input.

    Attributes:
        scheme: ``haq``, ``ptq`` or ``pairs``.
        outputs: the network's outputs (spiking: the logits at the last step).
        layers: one report per analog operator.
        events: hardware and digital events over all inputs (programming apart).
        digital: digital work per operator type.
        extra: other counters over all inputs (``cordic_steps``, ``lif_updates``).
        programming_events: writes and verify reads of deploying the weights.
        cell_weights: the weights the cells hold, per analog node, ``(in, out)`` per group.
        output_error: per output, ``max`` and ``rms`` differences from the float
            model, fractions of its full scale.
        accuracy: with labels, the fraction classified right (at ``T`` for spiking).
        early_stop: spiking: one dict per threshold (``threshold``, ``accuracy``,
            ``avg_timesteps``, ``timesteps_saved``).
        logits: spiking: per-step logits ``(T, N, classes)``.
        seconds: programming and evaluation time.
    """

    scheme: str
    outputs: list[np.ndarray]
    layers: list[LayerReport]
    events: Events
    digital: Mapping[str, Work]
    extra: Mapping[str, float]
    programming_events: Events
    cell_weights: Mapping[str, list[np.ndarray]]
    output_error: list[dict[str, float]]
    accuracy: float | None = None
    early_stop: list[dict[str, float]] = field(default_factory=list)
    logits: np.ndarray | None = None
    seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def cells(self) -> int:
        return int(sum(ly.cells for ly in self.layers))

    @property
    def macros(self) -> int:
        return int(sum(ly.macros for ly in self.layers))


def output_error(y: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """``max`` and ``rms`` of ``|y - ref|`` as fractions of ``max|ref|`` (and ``full_scale``)."""
    y, ref = np.asarray(y, dtype=float), np.asarray(ref, dtype=float)
    fs = float(np.max(np.abs(ref))) if ref.size else 0.0
    d = np.abs(y - ref)
    if fs == 0:
        return {"max": float(d.max()) if d.size else 0.0, "rms": float(np.sqrt(np.mean(d * d)))
                if d.size else 0.0, "full_scale": 0.0}
    return {"max": float(d.max()) / fs, "rms": float(np.sqrt(np.mean(d * d))) / fs,
            "full_scale": fs}


def accuracy(outputs: np.ndarray, labels: np.ndarray | None) -> float | None:
    """Fraction of ``argmax(outputs, -1) == labels``; ``None`` without labels."""
    if labels is None:
        return None
    return float(np.mean(np.argmax(outputs, axis=-1) == labels))


@dataclass(frozen=True, kw_only=True, eq=False)
class ImportResult:
    """Outcome of deploying an imported network.

    Attributes:
        kind: ``onnx`` or ``nir``.
        model: the model file.
        config: the run.
        hardware, sim: what it ran on.
        inputs: how many inputs (samples).
        input_shape: the shape of one input as fed.
        reference: the float model's outputs (ONNX: the reference evaluator's; NIR:
            the timestep loop with exact products), spiking: the logits at ``T``.
        software: ONNX: this toolkit's own float pass (equal to ``reference`` to
            rounding; ``software_vs_reference`` says how close); NIR: ``reference``.
        software_vs_reference: max ``|software - reference|``, fraction of full scale
            (NaN where the reference evaluator cannot run the model: ``notes`` says why,
            and ``reference`` is then the toolkit's own float pass).
        labels: the labels, if given.
        software_accuracy: the float model's accuracy (with labels).
        software_early_stop: spiking: the float model's early-stop rows.
        runs: one per scheme.
        output_names: the network's outputs.
        notes: what the load folded or assumed.
        timings_s: seconds per phase.
        layer_records: every analog layer as it ran (``<scheme>/<matrix>``, a group's
            index after a ``#``), for ``cosim verify``.
    """

    kind: str
    model: str
    config: ImportConfig
    hardware: HardwareSpec
    sim: SimOptions
    inputs: int
    input_shape: tuple[int, ...]
    reference: list[np.ndarray]
    software: list[np.ndarray]
    software_vs_reference: float
    labels: np.ndarray | None
    software_accuracy: float | None
    runs: dict[str, SchemeRun]
    output_names: tuple[str, ...]
    notes: tuple[str, ...] = ()
    software_early_stop: list[dict[str, float]] = field(default_factory=list)
    timings_s: Mapping[str, float] = field(default_factory=dict)
    layer_records: tuple[LayerRecord, ...] = ()

    def workload(self, scheme: str | None = None) -> Workload:
        """One inference of the deployment with ``scheme`` (default: the first run) as a
        ledger workload (module docstring)."""
        from cosim.workloads.spiking.pairs import GPU_OPS_PER_LIF_UPDATE

        run = self.runs[scheme or next(iter(self.runs))]
        hw_spec = self.hardware
        macro = (hw_spec.array.macro_rows, hw_spec.array.macro_cols)
        hw: Hardware | None = None
        macs = 0.0
        read_steps = 0.0
        for ly in run.layers:
            for p in ly.placements:
                h = _block_hardware(ly, p, hw_spec, macro)
                hw = h if hw is None else hw + h
            macs += ly.rows * ly.cols * ly.vectors / ly.groups
            read_steps += ly.vectors
        assert hw is not None
        n = float(self.inputs)
        dig = sum(run.digital.values(), Work())
        extra = {k: float(v) / n for k, v in run.extra.items() if v}
        ops = (2.0 * macs + (dig.adds + dig.mults) / n
               + dig.cordic_steps / n / CORDIC_ITERATIONS
               + GPU_OPS_PER_LIF_UPDATE * extra.get("lif_updates", 0.0))
        events = Events(**{k: v / n for k, v in run.events.as_dict().items()})
        net = "spiking network" if self.kind == "nir" else "network"
        return Workload(name=f"imported {net} {self.model_name}, {run.scheme.upper()}",
                        events=events, extra_counts=extra, ops_per_inference=ops,
                        inferences=1.0, read_steps=read_steps, hardware=hw,
                        programming_events=run.programming_events,
                        source=f"events counted by cosim deploy ({self.hardware.name} hardware, "
                               f"{self.sim.backend} backend, {self.inputs} inputs, "
                               f"{run.scheme})")

    @property
    def model_name(self) -> str:
        from pathlib import PurePath

        return PurePath(self.model).name

    def summary(self) -> dict[str, Any]:
        """Flat JSON-able figures (the ``--json`` object)."""
        out: dict[str, Any] = {
            "kind": self.kind, "model": self.model, "inputs": self.inputs,
            "input_shape": list(self.input_shape), "outputs": list(self.output_names),
            "software_vs_reference": self.software_vs_reference,
            "accuracy_software": self.software_accuracy,
            "hardware_text": f"{self.hardware.describe()}; {self.sim.describe()}",
            "hardware_name": self.hardware.name, "hardware": self.hardware.as_dict(),
            "sim": asdict(self.sim), "config": asdict(self.config), "notes": list(self.notes),
            "timings_s": dict(self.timings_s),
        }
        if self.software_early_stop:
            out["early_stop_software"] = self.software_early_stop
        for s, run in self.runs.items():
            out[f"accuracy_{s}"] = run.accuracy
            out[f"output_error_{s}"] = run.output_error
            out[f"cells_{s}"] = run.cells
            out[f"macros_{s}"] = run.macros
            out[f"layers_{s}"] = [ly.row() for ly in run.layers]
            if run.early_stop:
                out[f"early_stop_{s}"] = run.early_stop
        return out

    def tables(self) -> dict[str, Any]:
        """``layers`` (one row per scheme and layer), ``outputs`` (end-to-end difference per
        scheme and output), ``digital`` (work per operator type), ``accuracy``."""
        import pandas as pd

        layers = [{"scheme": s, **ly.row()} for s, r in self.runs.items() for ly in r.layers]
        for row in layers:
            row["input_scale"] = ";".join(f"{v:.6g}" for v in row["input_scale"])
            row["rows_used"] = ";".join(map(str, row["rows_used"]))
            row["cols_used"] = ";".join(map(str, row["cols_used"]))
        outs = [{"scheme": s, "output": name, "max_error": e["max"], "rms_error": e["rms"],
                 "full_scale": e["full_scale"]}
                for s, r in self.runs.items()
                for name, e in zip(self.output_names, r.output_error, strict=True)]
        digital = [{"scheme": s, "op": op, **asdict(w)} for s, r in self.runs.items()
                   for op, w in sorted(r.digital.items())]
        acc = [{"method": "software", "accuracy": self.software_accuracy}]
        acc += [{"method": s, "accuracy": r.accuracy} for s, r in self.runs.items()]
        tables = {"layers": pd.DataFrame(layers), "outputs": pd.DataFrame(outs),
                  "digital_ops": pd.DataFrame(digital)}
        if self.labels is not None:
            tables["accuracy"] = pd.DataFrame(acc)
        if self.software_early_stop:
            rows = [{"method": "software", **r} for r in self.software_early_stop]
            rows += [{"method": s, **r} for s, run in self.runs.items() for r in run.early_stop]
            tables["early_stop"] = pd.DataFrame(rows)
        return tables


def _block_hardware(ly: LayerReport, p: Placement, spec: HardwareSpec,
                    macro: tuple[int, int]) -> Hardware:
    """Arrays and periphery of one group's placed matrix (module docstring)."""
    rows, cols = ly.rows, ly.cols // ly.groups
    cell = spec.cell.kind.name
    if ly.differential:
        from cosim.workloads.spiking.pairs import pair_hardware

        return pair_hardware([(rows, cols)], [(p.rows_used, p.cols_used)], macro, cell)
    m = mvm_workload({"rows": rows, "cols": cols, "bits": ly.bits,
                      "aggregation": spec.aggregation.kind, "macro_rows": p.rows_used,
                      "macro_cols": p.cols_used, "cell": cell})
    return replace(m.hardware, rows_per_array=macro[0], cols_per_array=macro[1],
                   dacs=macro[0] * m.hardware.arrays)
