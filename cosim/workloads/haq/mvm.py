"""The NF paper's MVM test of HAQ against PTQ, and the s x write-noise sweep.

**MVM test** (NF paper Fig. 2f-i): a random weight matrix (``vector_length``
rows x ``n_outputs`` columns, uniform in ``[-1, 1]`` and scaled so that
``max|w| = 1``) is written with PTQ and with HAQ (:mod:`cosim.programming.binary`)
into binary cells through a :class:`cosim.engine.tile.Tile` (HAQ's verify reads go
through the tile's read path), then ``n_vectors`` signed ``input_bits`` inputs
``x = k / (2**(bits-1) - 1)`` are multiplied through the tile and the
bit-column currents aggregated (:mod:`cosim.programming.aggregation`).

**Normalisation of the RMSE**: ``rmse = sqrt(mean((y - x @ w)**2))`` over all
outputs of all vectors, with ``w`` and ``x`` in ``[-1, 1]`` (full scale 1), so
one unit is one full-scale input times one full-scale weight; with the default
length-100 vectors the exact outputs have a standard deviation of about 3.3.
On this scale the paper reports PTQ 0.789 and HAQ 0.049 (12 bits, s = 1.5).

**The hardware** is a :class:`cosim.hardware.spec.HardwareSpec` (the command's
default is the ``realistic`` preset: 1T1R cells, the 40 nm wire figure, a TIA
per column, IR-aware placement in 512 x 512 macros, HAQ verified through the
MVM's own transfer and re-verified on the array as it stands; the ``paper``
preset is the setting of the paper's figures). Both schemes are placed and
programmed through one analog layer each on one shared tile
(:class:`cosim.layers.analog.AnalogLayer`), decode against the placement's
mean attenuation, and the layer subtracts each column's offset read at 0 V.
Measured figures: ``docs/measurements/haq.md``.

Read noise is drawn afresh for every read (each verify read and each MVM
call); ``read_cycles`` repeats the MVM that many times for the RMSE
distribution of Fig. 2h,i.

**Sweep** (NF paper Supp. Fig. 1): :func:`sweep_point` runs the test for one
``(amp_ratio, noise, bits, seed)`` point; :func:`best_amp_ratio` finds the
best ``s`` per noise level from the tidy table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from circuits.errors import ConfigError, check_choice, check_int, check_memory
from cosim.accounting.events import Events
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement
from cosim.engine.tile import make_tile
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.layers.placed import block_hardware, placement
from cosim.layers.record import DEFAULT_VECTORS, LayerRecord, record_layers
from cosim.programming.aggregation import Aggregator, VcmacRatio, code_for_ratio, vcmac_ratio
from cosim.programming.base import (
    MAX_BITS,
    BinaryCellWriter,
    ProgramCells,
    ProgrammedWeights,
    check_amp_ratio,
)
from cosim.programming.binary import HAQ, PTQ

WEIGHT_DISTRIBUTIONS = ("uniform", "gaussian")

NORMALISATION = (
    "RMSE of y = x @ w over all outputs; w scaled to max|w| = 1, x signed 8-bit in [-1, 1]; "
    "unit = full-scale input x full-scale weight (NF paper Fig. 2f,g scale)"
)
PAPER = {"rmse_ptq": 0.789, "rmse_haq": 0.049, "ratio": 16.1}
"""NF paper Fig. 2f,g: vector length 100, 8-bit inputs, 12-bit weights, s = 1.5."""


@dataclass(frozen=True, kw_only=True)
class HaqExperimentConfig:
    """One MVM test (the hardware and how it is simulated are given apart:
    :class:`cosim.hardware.spec.HardwareSpec`, :class:`cosim.engine.options.SimOptions`).

    Attributes:
        n_bits: cells (bits) per weight, 1..16; NF paper 12.
        amp_ratio: HAQ significance ratio ``s`` (> 1); NF paper 1.5. With analog
            aggregation it must be a VCMAC switch-code value (1.1 .. 2.5).
        input_bits: signed input resolution of the test vectors.
        vector_length: rows of the weight matrix (input vector length).
        n_outputs: columns of the weight matrix.
        n_vectors: input vectors per MVM call.
        weight_dist: ``"uniform"`` or ``"gaussian"`` random weights.
        read_cycles: extra MVM repetitions for the RMSE distribution (0: none).
        seed: seed of weights, inputs, write and read noise.
    """

    n_bits: int = 12
    amp_ratio: float = 1.5
    input_bits: int = 8
    vector_length: int = 100
    n_outputs: int = 100
    n_vectors: int = 100
    weight_dist: str = "uniform"
    read_cycles: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_bits", self.n_bits, 1, MAX_BITS)
        check_amp_ratio(self.amp_ratio)
        check_int("input_bits", self.input_bits, 2, 16)
        check_int("vector_length", self.vector_length, 1, 4096)
        check_int("n_outputs", self.n_outputs, 1, 4096)
        check_int("n_vectors", self.n_vectors, 1, 10**6)
        check_choice("weight distribution", self.weight_dist, WEIGHT_DISTRIBUTIONS)
        check_int("read_cycles", self.read_cycles, 0, 10**6)
        check_int("seed", self.seed, 0, 2**63 - 1)
        check_memory(f"the HAQ test ({self.n_vectors} vectors of length {self.vector_length}, "
                     f"{self.n_outputs} outputs, {self.n_bits} bits)", self.memory_bytes(),
                     hint="lower n_vectors or vector_length")

    def memory_bytes(self) -> float:
        """Up-front estimate of the test's peak memory (bytes).

        Inputs (``n_vectors x vector_length``) and the tile's column currents
        (``n_vectors x 2 n_outputs n_bits``, room for differential columns) for
        every vector, 3 doubles each with temporaries, plus the programmed
        arrays (``vector_length x 2 n_outputs n_bits``) 16 times over.
        """
        columns = 2 * self.n_outputs * self.n_bits
        return (24.0 * self.n_vectors * (self.vector_length + columns)
                + 16 * 8 * self.vector_length * columns)

    def check_hardware(self, hardware: HardwareSpec) -> None:
        """Refuse settings that only fail together with the hardware (one line)."""
        if hardware.aggregation.kind == "analog":
            vcmac_ratio(self.amp_ratio)  # refuses ratios the switches cannot set

    def layout(self, hardware: HardwareSpec, sim: SimOptions) -> Placement:
        """Where the ``vector_length x n_outputs * n_bits`` cells go."""
        return placement(hardware, sim, self.vector_length, self.n_outputs * self.n_bits,
                         self.n_bits)


@dataclass(frozen=True, kw_only=True, eq=False)
class SchemeResult:
    """One programming scheme's outcome.

    Attributes:
        programmed: the cells and how they decode.
        y: MVM outputs of the first read, ``(n_vectors, n_outputs)``.
        rmse: RMSE of ``y`` against the exact product (see ``NORMALISATION``).
        weight_rmse: RMSE of the programmed weights against the targets.
        rmse_cycles: RMSE of each extra read cycle, ``(read_cycles,)``.
        events: programming plus every MVM call's events.
        mvm_events: the events of the first MVM call alone (``n_vectors`` inputs).
    """

    programmed: ProgrammedWeights
    y: np.ndarray
    rmse: float
    weight_rmse: float
    rmse_cycles: np.ndarray
    events: Events
    mvm_events: Events


@dataclass(frozen=True, kw_only=True, eq=False)
class HaqExperimentResult:
    """Outcome of :func:`run_mvm_experiment`.

    Attributes:
        config: the test.
        hardware: the hardware it ran on.
        sim: how it was simulated.
        placement: where the cells went.
        w: target weights, ``(vector_length, n_outputs)``.
        x: inputs, ``(n_vectors, vector_length)``.
        y_exact: ``x @ w``.
        ptq: the PTQ baseline.
        haq: HAQ.
        vcmac: the switch code and ratios used (analog aggregation), else ``None``.
        haq_ratio_programmed: the ``s`` HAQ programmed with (measured for analog).
        timings_s: wall time per phase (s).
        layer_records: both layers as they ran, for ``cosim verify``
            (:mod:`cosim.layers.record`).
    """

    config: HaqExperimentConfig
    hardware: HardwareSpec
    sim: SimOptions
    placement: Placement
    w: np.ndarray
    x: np.ndarray
    y_exact: np.ndarray
    ptq: SchemeResult
    haq: SchemeResult
    vcmac: VcmacRatio | None
    haq_ratio_programmed: float
    timings_s: dict[str, float] = field(default_factory=dict)
    layer_records: tuple[LayerRecord, ...] = ()

    @property
    def ratio(self) -> float:
        """``rmse_ptq / rmse_haq`` (how many times HAQ is better)."""
        return self.ptq.rmse / self.haq.rmse if self.haq.rmse > 0 else float("inf")

    def summary(self) -> dict[str, Any]:
        """Flat JSON-able figures (the ``--json`` object)."""
        out: dict[str, Any] = {
            "rmse_ptq": self.ptq.rmse, "rmse_haq": self.haq.rmse, "ratio": self.ratio,
            "normalisation": NORMALISATION,
            "weight_rmse_ptq": self.ptq.weight_rmse, "weight_rmse_haq": self.haq.weight_rmse,
            "haq_ratio_programmed": self.haq_ratio_programmed,
            "hardware_text": self.hardware.describe(), "hardware": self.hardware.as_dict(),
            "sim": asdict(self.sim), "placement": self.placement.as_dict(),
            "paper": PAPER, "config": asdict(self.config),
            "timings_s": dict(self.timings_s),
        }
        if self.vcmac is not None:
            out["vcmac"] = asdict(self.vcmac)
        for name, r in (("ptq", self.ptq), ("haq", self.haq)):
            out[f"events_{name}"] = r.events.as_dict()
            if r.rmse_cycles.size:
                c = r.rmse_cycles
                out[f"rmse_cycles_{name}"] = {"n": int(c.size), "mean": float(c.mean()),
                                              "std": float(c.std()), "min": float(c.min()),
                                              "max": float(c.max())}
        return out


def make_weights(cfg: HaqExperimentConfig, rng: np.random.Generator) -> np.ndarray:
    """Random weights, ``(vector_length, n_outputs)``, scaled to ``max|w| = 1``."""
    shape = (cfg.vector_length, cfg.n_outputs)
    w = rng.uniform(-1.0, 1.0, shape) if cfg.weight_dist == "uniform" else \
        rng.standard_normal(shape)
    m = np.max(np.abs(w))
    return w / m if m > 0 else w


def make_inputs(cfg: HaqExperimentConfig, rng: np.random.Generator) -> np.ndarray:
    """Signed ``input_bits`` inputs ``k / L``, ``L = 2**(bits-1) - 1``, ``(n_vectors, rows)``."""
    lev = 2 ** (cfg.input_bits - 1) - 1
    return rng.integers(-lev, lev + 1, size=(cfg.n_vectors, cfg.vector_length)) / lev


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(np.asarray(a) - np.asarray(b)))))


def run_mvm_experiment(cfg: HaqExperimentConfig, hardware: HardwareSpec | None = None,
                       sim: SimOptions | None = None, *,
                       vcmac_measured: Mapping[int, float] | None = None,
                       progress: bool = False) -> HaqExperimentResult:
    """Program one random matrix with PTQ and HAQ and compare their MVMs.

    Args:
        cfg: the test.
        hardware: the hardware (default :class:`HardwareSpec`, the realistic preset).
        sim: how the tiles compute (default ``SimOptions()``).
        vcmac_measured: measured VCMAC ratio per switch code (circuit layer) for
            analog aggregation; codes missing are taken as nominal.
        progress: draw progress bars (write steps while programming, then
            read cycles).

    Returns:
        Both schemes' programmed arrays, outputs and RMSEs.
    """
    hardware = HardwareSpec() if hardware is None else hardware
    sim = SimOptions() if sim is None else sim
    cfg.check_hardware(hardware)
    # every programmed array is new: nothing to reuse from the cache
    sim = replace(sim, use_cache=False) if sim.backend != "spice" else sim
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    seq = np.random.SeedSequence(int(cfg.seed))
    rng_w, rng_x, rng_ptq, rng_haq, rng_stage = (np.random.default_rng(s) for s in seq.spawn(5))
    lay = cfg.layout(hardware, sim)
    tile = make_tile(block_hardware(hardware, lay), sim, seed=cfg.seed)
    rram = hardware.rram
    w = make_weights(cfg, rng_w)
    x = make_inputs(cfg, rng_x)
    y_exact = x @ w

    agg = hardware.aggregation
    vr: VcmacRatio | None = None
    if agg.kind == "analog":
        vr = vcmac_ratio(cfg.amp_ratio, vcmac_measured, stage_spread=agg.vcmac_stage_spread)
        s_prog = vr.measured if agg.vcmac_correction else cfg.amp_ratio
        stages: float | tuple[float, ...] = vr.measured
        if vr.stage_spread > 0 and cfg.n_bits > 1:
            stages = tuple(vr.measured * (1.0 + vr.stage_spread
                                          * rng_stage.standard_normal(cfg.n_bits - 1)))
        haq_agg = Aggregator(kind="analog", stage_ratios=stages, nominal_ratio=vr.nominal)
    else:
        s_prog = cfg.amp_ratio
        haq_agg = Aggregator(kind="digital")
    timings["setup"] = time.perf_counter() - t0

    steps = tqdm(desc="programming (write steps)", unit=" steps", disable=not progress,
                 leave=False)

    def writer(rng: np.random.Generator) -> ProgramCells:
        cells = BinaryCellWriter(rram=rram, lrs_sigma=hardware.noise.write,
                                 hrs_sigma=hardware.noise.write_hrs, rng=rng)

        def write(g_target_siemens: np.ndarray, /) -> np.ndarray:
            steps.update()
            return cells(g_target_siemens)
        return write

    # Both schemes share one tile: the same hardware, programmed in turn.
    layers = {}
    for name, scheme, rng, aggregator in (
            ("ptq", PTQ(n_bits=cfg.n_bits), rng_ptq, Aggregator()),
            ("haq", HAQ(n_bits=cfg.n_bits, amp_ratio=s_prog), rng_haq, haq_agg)):
        t0 = time.perf_counter()
        layers[name] = AnalogLayer.program(scheme, tile, w=w, write=writer(rng), placement=lay,
                                           aggregator=aggregator)
        timings[f"program_{name}"] = time.perf_counter() - t0
    steps.close()

    results = {}
    for name, layer in layers.items():
        t0 = time.perf_counter()
        y_first, cycles, mvm_events = None, [], Events()
        for _ in tqdm(range(1 + cfg.read_cycles), desc=f"{name.upper()} read cycles",
                      disable=not progress, leave=False):
            y, ev = layer.forward(x)
            mvm_events += ev
            if y_first is None:
                y_first, first_events = y, ev
            else:
                cycles.append(rmse(y, y_exact))
        pw = layer.programmed
        results[name] = SchemeResult(programmed=pw, y=y_first, rmse=rmse(y_first, y_exact),
                                     weight_rmse=rmse(pw.weights(), w),
                                     rmse_cycles=np.array(cycles),
                                     events=pw.events + mvm_events,
                                     mvm_events=first_events)
        timings[f"mvm_{name}"] = time.perf_counter() - t0
    records = record_layers(layers, lambda: [ly.forward(x[:DEFAULT_VECTORS])
                                             for ly in layers.values()])
    return HaqExperimentResult(config=cfg, hardware=hardware, sim=sim, placement=lay, w=w, x=x,
                               y_exact=y_exact, ptq=results["ptq"], haq=results["haq"], vcmac=vr,
                               haq_ratio_programmed=s_prog, timings_s=timings,
                               layer_records=tuple(records))


# -- the sweep ---------------------------------------------------------------------------

SWEEP_AXES = ("amp_ratio", "write_noise", "bits", "seed")
"""The keys of a sweep point; ``write_noise`` sets ``hardware.noise.write``."""


def sweep_config(point: Mapping[str, Any]) -> HaqExperimentConfig:
    """The test of one sweep point: ``amp_ratio``, ``bits``, ``seed`` and optional fixed
    keys named like :class:`HaqExperimentConfig` fields (``write_noise`` is hardware,
    applied by :func:`sweep_point`)."""
    known = set(HaqExperimentConfig.__dataclass_fields__)
    rename = {"bits": "n_bits"}
    kwargs = {}
    for k, v in point.items():
        if k in ("write_noise", "hardware_digest"):
            continue
        name = rename.get(k, k)
        if name not in known:
            raise ConfigError(f"unknown sweep key {k!r}")
        kwargs[name] = v
    return HaqExperimentConfig(**{"read_cycles": 0, **kwargs})


def sweep_hardware(point: Mapping[str, Any], hardware: HardwareSpec) -> HardwareSpec:
    """The hardware of one sweep point: ``hardware`` with its ``write_noise``."""
    if "write_noise" not in point:
        return hardware
    return hardware.with_parts(noise={"write": float(point["write_noise"])})


def sweep_point(point: Mapping[str, Any], *, hardware: Mapping[str, Any],
                sim: Mapping[str, Any]) -> dict[str, Any]:
    """Run the MVM test of one sweep point; returns its tidy-row figures.

    ``hardware`` and ``sim`` are the sweep's :meth:`HardwareSpec.as_dict` and
    ``asdict(SimOptions)`` (tables, so the function pickles to any worker). A
    ``vcmac_measured`` key (see :func:`encode_ratios`) carries the measured VCMAC
    ratios for analog aggregation, measured once by the caller.
    """
    from cosim.hardware.presets import hardware_from_mapping

    point = dict(point)
    vcmac = decode_ratios(point.pop("vcmac_measured", ""))
    cfg = sweep_config(point)
    hw = sweep_hardware(point, hardware_from_mapping(hardware))
    res = run_mvm_experiment(cfg, hw, SimOptions(**sim), vcmac_measured=vcmac or None)
    return {"rmse_ptq": res.ptq.rmse, "rmse_haq": res.haq.rmse, "ratio": res.ratio,
            "weight_rmse_ptq": res.ptq.weight_rmse, "weight_rmse_haq": res.haq.weight_rmse,
            "haq_ratio_programmed": res.haq_ratio_programmed}


def measured_vcmac_ratios(amp_ratios: list[float] | tuple[float, ...], backend: str, *,
                          points: int = 20) -> dict[int, float] | None:
    """Measured VCMAC ratio of the switch code of each ``amp_ratio`` (circuit layer).

    The ``ideal`` backend uses nominal ratios (returns ``None``); the others run
    the transistor-level stage bench in ngspice (``cosim.calibration.vcmac``), one
    run per code over ``points`` input currents from 0.1 to 10 uA, and take
    the mean ratio.
    """
    if backend == "ideal":
        return None
    from cosim.calibration.vcmac import default_currents, summarise_vcmac, vcmac_ratio_curves

    codes = sorted({code_for_ratio(s) for s in amp_ratios})
    summary = summarise_vcmac(vcmac_ratio_curves(codes=codes,
                                                 currents_a=default_currents(points)))
    return {int(c): float(m) for c, m in zip(summary["code"], summary["measured"], strict=True)}


def encode_ratios(ratios: Mapping[int, float] | None) -> str:
    """``"code:ratio,..."``: measured ratios as one scalar sweep-point value."""
    return ",".join(f"{int(c)}:{float(r)!r}" for c, r in sorted((ratios or {}).items()))


def decode_ratios(text: str) -> dict[int, float]:
    """Inverse of :func:`encode_ratios`."""
    out = {}
    for item in filter(None, str(text).split(",")):
        try:
            code, ratio = item.split(":")
            out[int(code)] = float(ratio)
        except ValueError:
            raise ConfigError(f"bad measured VCMAC ratio {item!r} (write code:ratio)") from None
    return out


def best_amp_ratio(table: pd.DataFrame, metric: str = "rmse_haq") -> pd.DataFrame:
    """Best ``s`` per (bits, write noise): the ratio with the lowest mean ``metric`` over seeds.

    Returns:
        Columns ``bits, write_noise, best_amp_ratio, <metric>_mean, <metric>_std, seeds``.
    """
    for col in ("bits", "write_noise", "amp_ratio", metric):
        if col not in table.columns:
            raise ConfigError(f"sweep table has no column {col!r}")
    g = table.groupby(["bits", "write_noise", "amp_ratio"])[metric].agg(
        ["mean", "std", "count"])
    g = g.reset_index()
    idx = g.groupby(["bits", "write_noise"])["mean"].idxmin()
    best = g.loc[idx].rename(columns={"amp_ratio": "best_amp_ratio", "mean": f"{metric}_mean",
                                      "std": f"{metric}_std", "count": "seeds"})
    return best.sort_values(["bits", "write_noise"]).reset_index(drop=True)
