"""Workloads for the ledger: what a run counted, and the sizing rules of ``cosim report``.

A :class:`Workload` is what a workload run hands to the ledger: the events it
counted, the operations a GPU would do for the same work, and the hardware
(arrays and periphery) it occupies. Runs write one as ``workload.json``
(:func:`write_workload_json`) from the events their analog layers counted; the
adapters below (``mvm``, ``mlp``) size a workload from its shape alone, for
what-if reports on a config (``cosim report my.toml``). For the HAQ test the
two agree on every event kind (``tests/layers/test_layer.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd

from circuits.crossbar import MACRO_COLS, MACRO_ROWS
from circuits.errors import ConfigError, check_choice, check_range, did_you_mean
from cosim.accounting.area import Hardware
from cosim.accounting.energy import (
    AGGREGATIONS,
    EVENT_COUNTERS,
    EXTRA_COUNTERS,
    EnergyTable,
    Ledger,
)
from cosim.accounting.events import NF_TIMING, Events, Timing


@dataclass(frozen=True, kw_only=True)
class Workload:
    """What a workload run hands to the ledger.

    Attributes:
        name: label in reports.
        events: counted events of ``inferences`` inferences (programming excluded).
        extra_counts: counters beyond ``Events`` (``lif_updates``, ``cordic_steps``,
            ``sram_accesses``).
        ops_per_inference: arithmetic operations of one inference as a GPU would
            do them (a multiply-accumulate is 2 operations).
        inferences: inferences the events cover (vectors, pixels, samples, frames).
        read_steps: sequential read steps for all ``inferences`` (arrays work in
            parallel within a step).
        hardware: the arrays and periphery the workload occupies (area).
        timing: read pulse, amplifier and ADC timing.
        programming_events: events of programming the weights (reported apart).
        claim: workload name in ``claimed_ratios.csv`` to compare with, or ``""``.
        source: what produced these counts (command, run folder, adapter).
    """

    name: str
    events: Events
    extra_counts: Mapping[str, float] = field(default_factory=dict)
    ops_per_inference: float
    inferences: float = 1.0
    read_steps: float
    hardware: Hardware
    timing: Timing = NF_TIMING
    programming_events: Events = field(default_factory=Events)
    claim: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ConfigError("workload name must not be empty")
        check_range(f"ops_per_inference of {self.name!r}", float(self.ops_per_inference), 0.0,
                    lo_open=True)
        check_range(f"inferences of {self.name!r}", float(self.inferences), 0.0, lo_open=True)
        check_range(f"read_steps of {self.name!r}", float(self.read_steps), 0.0, lo_open=True)
        for k, v in self.extra_counts.items():
            check_choice("extra counter", k, EXTRA_COUNTERS)
            check_range(f"{k} of {self.name!r}", float(v), 0.0)
        for k, v in self.events.as_dict().items():
            check_range(f"events.{k} of {self.name!r}", float(v), 0.0)

    def ledger(self, table: EnergyTable) -> pd.DataFrame:
        """:meth:`Ledger.from_events` of this workload's events."""
        return Ledger.from_events(self.events, table, extra_counts=self.extra_counts,
                                  inferences=self.inferences)

    def latency_s(self, timing: Timing | None = None) -> float:
        """Time the hardware takes for all of the workload's inferences (s).

        ``read_steps`` sequential steps, each as long as the read pulse (or
        the amplifiers' active time when TIAs or VCMACs are used), plus the
        ADC conversions spread over the workload's ADCs at the ADC rate.
        """
        timing = timing or self.timing
        ev = self.events
        step = timing.read_pulse_s
        if ev.tia_active_s > 0 or ev.vcmac_active_s > 0:
            step = max(step, timing.amplifier_active_s)
        adcs = max(self.hardware.adcs, 1)
        return self.read_steps * step + ev.adc_conversions / (adcs * timing.adc_rate_hz)


WorkloadAdapter = Callable[[Mapping[str, Any]], Workload]
ADAPTERS: dict[str, WorkloadAdapter] = {}
"""Workload kinds a config may name (``kind = "mvm"``), each mapped to a ``Workload``."""


def workload_adapter(kind: str) -> Callable[[WorkloadAdapter], WorkloadAdapter]:
    """Register ``fn(config) -> Workload`` under ``kind``: adding a workload is one function."""
    def register(fn: WorkloadAdapter) -> WorkloadAdapter:
        ADAPTERS[kind] = fn
        return fn
    return register


def make_workload(config: Mapping[str, Any]) -> Workload:
    """The workload a config describes; ``config["kind"]`` picks the adapter."""
    kind = str(config.get("kind", "events"))
    check_choice("workload kind", kind, ADAPTERS)
    return ADAPTERS[kind](config)


def _take(cfg: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    extra = [k for k in cfg if k not in allowed]
    if extra:
        k = extra[0]
        raise ConfigError(f"unknown key {k!r} in {what} config{did_you_mean(k, allowed)} "
                          f"(allowed: {', '.join(allowed)})")
    return dict(cfg)


def _int(cfg: Mapping[str, Any], key: str, default: int | None, lo: int = 1) -> int:
    v = cfg.get(key, default)
    if v is None:
        raise ConfigError(f"config needs {key!r}")
    if isinstance(v, bool) or not isinstance(v, int | float) or int(v) != v:
        raise ConfigError(f"{key} must be an integer >= {lo}, got {v!r}")
    check_range(key, int(v), lo)
    return int(v)


def _events(d: Mapping[str, Any], what: str) -> tuple[Events, dict[str, float]]:
    """Split an events mapping into ``Events`` and extra counters."""
    if not isinstance(d, Mapping):
        raise ConfigError(f"{what} must be a mapping of counter -> count")
    ev: dict[str, Any] = {}
    extra: dict[str, float] = {}
    for k, v in d.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(f"{what}.{k} must be a number, got {v!r}")
        if k in EVENT_COUNTERS:
            ev[k] = v
        elif k in EXTRA_COUNTERS:
            extra[k] = float(v)
        else:
            allowed = EVENT_COUNTERS + EXTRA_COUNTERS
            raise ConfigError(f"unknown event counter {k!r} in {what}{did_you_mean(k, allowed)}")
        if v < 0:
            raise ConfigError(f"{what}.{k} must be >= 0, got {v!r}")
    return Events(**ev), extra


def _timing(cfg: Mapping[str, Any]) -> Timing:
    t = cfg.get("timing", {}) or {}
    if not isinstance(t, Mapping):
        raise ConfigError("timing must be a table of read_pulse_s, amplifier_active_s, adc_rate_hz")
    _take(t, tuple(f.name for f in fields(Timing)), "timing")
    return Timing(**{k: float(v) for k, v in t.items()})


@workload_adapter("events")
def events_workload(cfg: Mapping[str, Any]) -> Workload:
    """A workload given by its counted events (the ``workload.json`` schema).

    Keys: ``name``, ``events`` (counter -> count), ``ops_per_inference``,
    ``inferences``, ``read_steps``, ``hardware`` (fields of
    :class:`cosim.accounting.area.Hardware`), optional ``programming_events``, ``timing``,
    ``claim``, ``source``, ``schema``, ``kind``, ``metrics``.
    """
    allowed = ("schema", "kind", "name", "events", "ops_per_inference", "inferences",
               "read_steps", "hardware", "programming_events", "timing", "claim", "source",
               "metrics")
    cfg = _take(cfg, allowed, "workload")
    for key in ("name", "events", "ops_per_inference", "hardware"):
        if key not in cfg:
            raise ConfigError(f"workload description lacks {key!r} (needs: name, events, "
                              "ops_per_inference, hardware)")
    events, extra = _events(cfg["events"], "events")
    prog, _ = _events(cfg.get("programming_events", {}), "programming_events")
    hw = cfg["hardware"]
    if not isinstance(hw, Mapping):
        raise ConfigError("hardware must be a mapping of Hardware fields")
    _take(hw, tuple(f.name for f in fields(Hardware)), "hardware")
    inferences = float(cfg.get("inferences", 1))
    return Workload(name=str(cfg["name"]), events=events, extra_counts=extra,
                    ops_per_inference=float(cfg["ops_per_inference"]), inferences=inferences,
                    read_steps=float(cfg.get("read_steps", inferences)),
                    hardware=Hardware(**hw), timing=_timing(cfg), programming_events=prog,
                    claim=str(cfg.get("claim", "")), source=str(cfg.get("source", "")))


@dataclass(frozen=True, kw_only=True)
class _MvmCount:
    events: Events
    hardware: Hardware


def _count_mvm(rows: int, cols: int, *, bits: int, vectors: float, aggregation: str,
               macro_rows: int, macro_cols: int, columns_per_adc: int, input_bits: int,
               output_bits: int, timing: Timing, cell: str) -> _MvmCount:
    """Events and hardware of ``vectors`` products of a ``rows x cols`` matrix.

    Counting rule (HAQ with single-ended binary cells, NF paper): each weight
    takes ``bits`` neighbouring cells of one row (bit columns); the bit columns
    of one weight stay in one macro. Per input vector and macro: every used
    cell is read once, every used row gets one DAC conversion (driver,
    decoder). ``analog``: the VCMAC chain of each weight's bit columns gives
    one current, so one TIA conversion, one ADC conversion and one digital
    multiply ((1/s)^(n-1) scaling) per output and row block; ``digital``: one
    TIA and ADC conversion per bit column, and one multiply (s^-k) and add per
    bit column. Partial sums of row blocks are added digitally.
    """
    check_choice("aggregation", aggregation, AGGREGATIONS)
    if bits > macro_cols:
        raise ConfigError(f"bits ({bits}) must fit in one macro's {macro_cols} columns")
    outs_per_macro = macro_cols // bits
    col_blocks = math.ceil(cols / outs_per_macro)
    row_blocks = math.ceil(rows / macro_rows)
    arrays = col_blocks * row_blocks
    t_amp = timing.amplifier_active_s
    conv = cols * row_blocks if aggregation == "analog" else cols * bits * row_blocks
    if aggregation == "analog":
        mults, adds = cols, cols * (row_blocks - 1)
    else:
        mults = conv
        adds = cols * (bits - 1) * row_blocks + cols * (row_blocks - 1)
    ev = Events(
        cell_reads=int(vectors * rows * cols * bits),
        dac_conversions=int(vectors * rows * col_blocks),
        adc_conversions=int(vectors * conv),
        tia_active_s=vectors * conv * t_amp,
        vcmac_active_s=vectors * conv * t_amp if aggregation == "analog" else 0.0,
        digital_adds=int(vectors * adds),
        digital_mults=int(vectors * mults),
    )
    tias = (outs_per_macro if aggregation == "analog" else outs_per_macro * bits) * arrays
    buffer_bits = 2 * (rows * input_bits + cols * output_bits)  # double-buffered in + out
    hw = Hardware(arrays=arrays, rows_per_array=macro_rows, cols_per_array=macro_cols,
                  cell=cell, dacs=macro_rows * arrays, tias=tias,
                  vcmac_columns=macro_cols * arrays if aggregation == "analog" else 0,
                  adcs=math.ceil(tias / columns_per_adc),
                  adders=math.ceil(tias / columns_per_adc), multipliers=arrays,
                  sram_kib=buffer_bits / 8192)
    return _MvmCount(events=ev, hardware=hw)


_MVM_KEYS = ("schema", "kind", "name", "rows", "cols", "bits", "inferences", "aggregation",
             "macro_rows", "macro_cols", "columns_per_adc", "input_bits", "output_bits",
             "timing", "cell", "claim", "source")


def _mvm_common(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return dict(bits=_int(cfg, "bits", 12), aggregation=str(cfg.get("aggregation", "analog")),
                macro_rows=_int(cfg, "macro_rows", MACRO_ROWS),
                macro_cols=_int(cfg, "macro_cols", MACRO_COLS),
                columns_per_adc=_int(cfg, "columns_per_adc", 8),
                input_bits=_int(cfg, "input_bits", 8), output_bits=_int(cfg, "output_bits", 16),
                timing=_timing(cfg), cell=str(cfg.get("cell", "1T1R")))


@workload_adapter("mvm")
def mvm_workload(cfg: Mapping[str, Any]) -> Workload:
    """One matrix, ``inferences`` input vectors (the NF paper's HAQ MVM test).

    Keys: ``name``, ``rows``, ``cols``, ``bits`` (cells per weight, 12),
    ``inferences`` (vectors, 1), ``aggregation`` (``analog`` VCMAC or
    ``digital``), ``macro_rows``/``macro_cols`` (the chip's 512 x 512 macro),
    ``columns_per_adc`` (8),
    ``input_bits`` (8), ``output_bits`` (16), ``cell`` (``1T1R``), ``timing``,
    ``claim``, ``source``. Counting rule: :func:`_count_mvm`.
    """
    cfg = _take(cfg, _MVM_KEYS, "mvm workload")
    rows, cols = _int(cfg, "rows", None), _int(cfg, "cols", None)
    vectors = float(cfg.get("inferences", 1))
    common = _mvm_common(cfg)
    c = _count_mvm(rows, cols, vectors=vectors, **common)
    return Workload(name=str(cfg.get("name", f"mvm {rows}x{cols}")), events=c.events,
                    ops_per_inference=2.0 * rows * cols, inferences=vectors,
                    read_steps=vectors, hardware=c.hardware, timing=common["timing"],
                    claim=str(cfg.get("claim", "")),
                    source=str(cfg.get("source", "")) or "mvm adapter (cosim.accounting.workload)")


@workload_adapter("mlp")
def mlp_workload(cfg: Mapping[str, Any]) -> Workload:
    """An MLP evaluated at ``inferences`` points (e.g. the NF paper's neural field).

    Keys: ``layers`` (widths, input first, e.g. ``[131, 100, 1]``),
    ``activation`` (``"sine"``: one CORDIC evaluation per hidden neuron,
    ``"relu"``: one add (compare) per hidden neuron), ``cordic_iterations``
    (16), ``encoding_features`` (sin/cos features computed digitally per point,
    one CORDIC evaluation each; 0), and every key of :func:`mvm_workload`
    except ``rows``/``cols``. Layers run one after another: one read step per
    layer per point; each layer has its own arrays.
    """
    keys = tuple(k for k in _MVM_KEYS if k not in ("rows", "cols")) + (
        "layers", "activation", "cordic_iterations", "encoding_features")
    cfg = _take(cfg, keys, "mlp workload")
    layers = cfg.get("layers")
    if not isinstance(layers, list | tuple) or len(layers) < 2:
        raise ConfigError(f"layers must list at least two widths, got {layers!r}")
    widths = [_int({"layer width": w}, "layer width", None) for w in layers]
    activation = str(cfg.get("activation", "sine"))
    check_choice("activation", activation, ("sine", "relu"))
    iters = _int(cfg, "cordic_iterations", 16)
    enc = _int(cfg, "encoding_features", 0, lo=0)
    points = float(cfg.get("inferences", 1))
    common = _mvm_common(cfg)
    ev, hw, ops = Events(), None, 0.0
    for n_in, n_out in pairwise(widths):
        c = _count_mvm(n_in, n_out, vectors=points, **common)
        ev += c.events
        hw = c.hardware if hw is None else hw + c.hardware
        ops += 2.0 * n_in * n_out
    hidden = sum(widths[1:-1])
    extra: dict[str, float] = {}
    if activation == "sine":
        extra["cordic_steps"] = points * (hidden + enc) * iters
        ev += Events(digital_mults=int(points * hidden))  # omega0 * x before the sine
    else:
        ev += Events(digital_adds=int(points * hidden))
        if enc:
            extra["cordic_steps"] = points * enc * iters
    assert hw is not None
    return Workload(name=str(cfg.get("name", "mlp " + "-".join(map(str, widths)))),
                    events=ev, extra_counts=extra, ops_per_inference=ops, inferences=points,
                    read_steps=points * (len(widths) - 1), hardware=hw,
                    timing=common["timing"], claim=str(cfg.get("claim", "")),
                    source=str(cfg.get("source", "")) or "mlp adapter (cosim.accounting.workload)")


def haq_mvm_workload(config: Mapping[str, Any], events: Events, *,
                     programming_events: Events | None = None, source: str = "") -> Workload:
    """The HAQ MVM test as a workload: the events its layer *counted*, sized by the mvm rule.

    Args:
        config: the test's config (``HaqExperimentConfig`` fields: ``vector_length``,
            ``n_outputs``, ``n_bits``, ``n_vectors``, ``aggregation``, ``macro_rows``,
            ``macro_cols``, ``input_bits``, ``cell``: the cell kind's name).
        events: what the analog layer counted for one MVM call of ``n_vectors`` inputs.
        programming_events: what programming the weights cost (reported apart).
        source: what produced the counts.

    Returns:
        The workload: counted events, and the hardware (arrays, periphery) of
        :func:`mvm_workload` for the same matrix, which ``tests/layers/test_layer.py``
        shows counts the same events.
    """
    try:
        sizing = {"name": f"HAQ MVM {config['vector_length']}x{config['n_outputs']}, "
                          f"{config['n_bits']} bit, {config.get('aggregation', 'digital')}",
                  "rows": config["vector_length"], "cols": config["n_outputs"],
                  "bits": config["n_bits"], "inferences": config["n_vectors"],
                  "aggregation": config.get("aggregation", "digital"),
                  "macro_rows": config.get("macro_rows", MACRO_ROWS),
                  "macro_cols": config.get("macro_cols", MACRO_COLS),
                  "input_bits": config.get("input_bits", 8),
                  "cell": config.get("cell", "1T1R")}
    except KeyError as exc:
        raise ConfigError(f"HAQ test config lacks {exc.args[0]!r}") from None
    w = mvm_workload(sizing)
    return replace(w, events=events, programming_events=programming_events or Events(),
                   source=source or "events counted by the analog layers of cosim haq")


def workload_to_json(w: Workload) -> dict[str, Any]:
    """The ``workload.json`` object of ``w`` (schema ``rram-cosim.workload/1``)."""
    from dataclasses import asdict

    return {"schema": WORKLOAD_SCHEMA, "kind": "events", "name": w.name,
            "events": {**w.events.as_dict(), **dict(w.extra_counts)},
            "ops_per_inference": w.ops_per_inference, "inferences": w.inferences,
            "read_steps": w.read_steps, "hardware": asdict(w.hardware),
            "timing": asdict(w.timing),
            "programming_events": w.programming_events.as_dict(),
            "claim": w.claim, "source": w.source}


WORKLOAD_SCHEMA = "rram-cosim.workload/1"
"""Schema tag of ``workload.json`` (see :func:`events_workload` for the keys)."""


def write_workload_json(run_dir: Path, w: Workload) -> Path:
    """Write ``RUN_DIR/workload.json`` so ``cosim report RUN_DIR`` can read the run."""

    path = Path(run_dir) / "workload.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(workload_to_json(w), indent=2, default=float) + "\n")
    return path

