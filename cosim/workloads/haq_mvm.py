"""The NF paper's MVM test of HAQ against PTQ, and the s x write-noise sweep.

**MVM test** (NF paper Fig. 2f-i): a random weight matrix (``vector_length``
rows x ``n_outputs`` columns, uniform in ``[-1, 1]`` and scaled so that
``max|w| = 1``) is written with PTQ and with HAQ (:mod:`cosim.programming.schemes`)
into binary cells through a :class:`cosim.engine.tile.Tile` (HAQ's verify reads go
through the tile's read path), then ``n_vectors`` signed ``input_bits`` inputs
``x = k / (2**(bits-1) - 1)`` are multiplied through the tile and the
bit-column currents aggregated (:mod:`cosim.programming.aggregation`).

**Normalisation of the RMSE**: ``rmse = sqrt(mean((y - x @ w)**2))`` over all
outputs of all vectors, with ``w`` and ``x`` in ``[-1, 1]`` (full scale 1), so
one unit is one full-scale input times one full-scale weight; with the default
length-100 vectors the exact outputs have a standard deviation of about 3.3.
On this scale the paper reports PTQ 0.789 and HAQ 0.049 (12 bits, s = 1.5).

**The read path** is the realistic one by default: the ``calibrated`` tile
with 1T1R cells, the 40 nm wire figure (``circuits.interconnect``), the TIA
readout, and the matrix placed in 512 x 512 macros by
:func:`cosim.engine.placement.place` (only as many rows and columns per macro
as keep every cell's attenuation within ``min_uniformity`` of the block's
mean). HAQ verifies through the MVM's own transfer (``verify_read =
"transfer"``) and re-verifies ``haq_passes`` times on the array as it stands;
both schemes decode against the placement's mean attenuation (``read_gain``)
and the layer subtracts each column's offset read at 0 V. Seed 0, write noise
0.187, read noise 0.2 %: PTQ 0.900 / HAQ 0.0518 without wires, 0.913 /
0.0680 at 1.06 ohm per segment (26 macros instead of 3). The paper's setting
is ``cell="0T1R", r_wire_ohm=0, readout="virtual_ground", haq_passes=1``.

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
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from circuits.crossbar import MACRO_COLS, MACRO_ROWS
from circuits.devices import ACCESS_45NM, TAOX_40NM, V_READ_VOLT
from circuits.errors import ConfigError, check_choice, check_int, check_memory, check_range
from circuits.interconnect import R_WIRE_40NM_OHM
from cosim.accounting.events import Events
from cosim.engine.placement import DEFAULT_MIN_UNIFORMITY, Placement
from cosim.engine.tile import Tile, TileConfig, make_tile
from cosim.layers.analog import AnalogLayer
from cosim.layers.read_path import ReadPath
from cosim.programming.aggregation import (
    AGGREGATIONS,
    Aggregator,
    VcmacRatio,
    code_for_ratio,
    vcmac_ratio,
)
from cosim.programming.schemes import (
    HAQ,
    MAX_BITS,
    PTQ,
    BinaryCellWriter,
    ProgramCells,
    ProgrammedWeights,
    check_amp_ratio,
)

WEIGHT_DISTRIBUTIONS = ("uniform", "gaussian")
BACKENDS = ("ideal", "calibrated", "spice")

NORMALISATION = (
    "RMSE of y = x @ w over all outputs; w scaled to max|w| = 1, x signed 8-bit in [-1, 1]; "
    "unit = full-scale input x full-scale weight (NF paper Fig. 2f,g scale)"
)
PAPER = {"rmse_ptq": 0.789, "rmse_haq": 0.049, "ratio": 16.1}
"""NF paper Fig. 2f,g: vector length 100, 8-bit inputs, 12-bit weights, s = 1.5."""


@dataclass(frozen=True, kw_only=True)
class HaqExperimentConfig:
    """One MVM test.

    Attributes:
        n_bits: cells (bits) per weight, 1..16; NF paper 12.
        amp_ratio: HAQ significance ratio ``s`` (> 1); NF paper 1.5. With analog
            aggregation it must be a VCMAC switch-code value (1.1 .. 2.5).
        write_noise: write-noise std of LRS cells, a fraction of g_LRS; NF paper
            Fig. 2a measured 0.187 (5.46 / 29.22 uS), the NF code uses 0.15.
        hrs_noise: write-noise std of HRS cells, a fraction of g_HRS; NF code 0.
        read_noise: read-noise amplitude (PRIME eq. 7), fresh at every read.
            The NF paper reports it much smaller than the write noise (Fig. 2b);
            0.2 % is our assumption.
        input_bits: signed input resolution (the tile's DAC bits).
        vector_length: rows of the weight matrix (input vector length).
        n_outputs: columns of the weight matrix.
        n_vectors: input vectors per MVM call.
        weight_dist: ``"uniform"`` or ``"gaussian"`` random weights.
        backend: tile backend: ``"ideal"``, ``"calibrated"`` or ``"spice"``.
        cell: ``"1T1R"`` (the seeds' chip, default) or ``"0T1R"``.
        r_wire_ohm: wire resistance per cell segment of the tile (ohm); default
            the 40 nm interconnect figure ``circuits.interconnect.R_WIRE_40NM_OHM``
            (1.06 ohm); 0 (no IR drop) is the setting of the paper's figures.
        readout: ``"tia"`` (each column through the TIA front end, default) or
            ``"virtual_ground"`` (ideal). The TIA's feedback resistor is sized to
            the placed block (``circuits.tia.tia_for_current``: its linear range
            ends at ``v_read * g_LRS * rows used``), which sets the ADC's full scale.
        macro_rows: rows of one physical array of the tile.
        macro_cols: physical columns of one array of the tile.
        placement: ``"ir_aware"`` (use only as many columns of each macro, and
            split the rows over as many macros, as keep every cell's
            attenuation within ``min_uniformity`` of the block's mean;
            ``cosim.engine.placement``) or ``"full"`` (every row and column).
            The ``ideal`` backend has no IR drop and always places in full.
        min_uniformity: the IR-aware placement's bound.
        verify_read: HAQ verify reads through the tile: ``"transfer"`` (the
            MVM's own transfer, default), ``"exact"`` (each cell alone, the
            array as it is) or ``"first_order"`` (see :class:`TileReadBack`).
        adc_bits: resolution of each column's ADC (signed); ``None`` is ideal.
        haq_passes: HAQ programming passes (``cosim.programming.schemes.program_haq``):
            1 is the NF paper's scheme; more re-verify every bit on the array
            as it stands, which is what keeps HAQ accurate with wires.
        aggregation: ``"digital"`` or ``"analog"`` (VCMAC chain) for HAQ; PTQ is
            always aggregated digitally (it is the software-style baseline).
        vcmac_stage_spread: analog only: relative stage-to-stage spread of the
            VCMAC ratio (0: every stage at the measured ratio).
        vcmac_correction: analog only: program HAQ with the VCMAC's measured
            ratio (absorbing its ratio error, the default) or with the nominal one.
        read_cycles: extra MVM repetitions for the RMSE distribution (0: none).
        seed: seed of weights, inputs, write and read noise.
    """

    n_bits: int = 12
    amp_ratio: float = 1.5
    write_noise: float = 0.187
    hrs_noise: float = 0.0
    read_noise: float = 0.002
    input_bits: int = 8
    vector_length: int = 100
    n_outputs: int = 100
    n_vectors: int = 100
    weight_dist: str = "uniform"
    backend: str = "calibrated"
    cell: str = "1T1R"
    r_wire_ohm: float = R_WIRE_40NM_OHM
    readout: str = "tia"
    macro_rows: int = MACRO_ROWS
    macro_cols: int = MACRO_COLS
    placement: str = "ir_aware"
    min_uniformity: float = DEFAULT_MIN_UNIFORMITY
    verify_read: str = "transfer"
    haq_passes: int = 3
    adc_bits: int | None = None
    aggregation: str = "digital"
    vcmac_stage_spread: float = 0.0
    vcmac_correction: bool = True
    read_cycles: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_bits", self.n_bits, 1, MAX_BITS)
        check_amp_ratio(self.amp_ratio)
        check_range("write noise", self.write_noise, 0.0, 10.0)
        check_range("HRS write noise", self.hrs_noise, 0.0, 10.0)
        check_range("read noise", self.read_noise, 0.0, 1.0)
        check_int("input_bits", self.input_bits, 2, 16)
        check_int("vector_length", self.vector_length, 1, 4096)
        check_int("n_outputs", self.n_outputs, 1, 4096)
        check_int("n_vectors", self.n_vectors, 1, 10**6)
        check_choice("weight distribution", self.weight_dist, WEIGHT_DISTRIBUTIONS)
        check_choice("backend", self.backend, BACKENDS)
        self.read_path()  # cell, wires, readout, macro, placement, verify reads, passes
        if self.adc_bits is not None:
            check_int("adc_bits", self.adc_bits, 2, 24)
        if not isinstance(self.vcmac_correction, bool):
            raise ConfigError(f"vcmac_correction must be true or false, got "
                              f"{self.vcmac_correction!r}")
        check_choice("aggregation", self.aggregation, AGGREGATIONS)
        check_range("vcmac_stage_spread", self.vcmac_stage_spread, 0.0, 0.5)
        check_int("read_cycles", self.read_cycles, 0, 10**6)
        check_int("seed", self.seed, 0, 2**63 - 1)
        if self.aggregation == "analog":
            vcmac_ratio(self.amp_ratio)  # refuses ratios the switches cannot set
        check_memory(f"the HAQ test ({self.n_vectors} vectors of length {self.vector_length}, "
                     f"{self.n_outputs} outputs, {self.n_bits} bits)", self.memory_bytes(),
                     hint="lower n_vectors or vector_length")

    def memory_bytes(self) -> float:
        """Up-front estimate of the test's peak memory (bytes).

        Inputs (``n_vectors x vector_length``) and the tile's column currents
        (``n_vectors x 2 n_outputs n_bits``, room for differential columns) for
        every vector, 3 doubles each with temporaries, plus the programmed
        arrays (``vector_length x 2 n_outputs n_bits``) 16 times over (measured:
        8000 vectors of length 100 at 12 bits peak at 244 MiB; this gives 480 MiB).
        """
        columns = 2 * self.n_outputs * self.n_bits
        return (24.0 * self.n_vectors * (self.vector_length + columns)
                + 16 * 8 * self.vector_length * columns)

    def read_path(self) -> ReadPath:
        """The read path of this test (cell, wires, readout, placement, verify reads)."""
        return ReadPath(name="haq test", cell=self.cell, r_wire_ohm=self.r_wire_ohm,
                        readout=self.readout, placement=self.placement,
                        min_uniformity=self.min_uniformity, macro_rows=self.macro_rows,
                        macro_cols=self.macro_cols, verify_read=self.verify_read,
                        haq_passes=self.haq_passes)

    def _base_tile(self) -> TileConfig:
        return TileConfig(backend=self.backend, dac_bits=self.input_bits, adc_bits=self.adc_bits,
                          read_noise_scale=self.read_noise, rram=TAOX_40NM, access=ACCESS_45NM,
                          v_read_volt=V_READ_VOLT, seed=self.seed,
                          use_cache=False)  # every programmed array is new: nothing to reuse

    def layout(self) -> Placement:
        """Where the ``vector_length x n_outputs * n_bits`` cells go (``placement``)."""
        return self.read_path().layout(self.vector_length, self.n_outputs * self.n_bits,
                                       self.n_bits, self._base_tile())

    def tile_config(self) -> TileConfig:
        """The tile this test runs on (:meth:`cosim.layers.read_path.ReadPath.deploy`): its
        ``macro_rows`` and ``macro_cols`` are the rows and columns the placement uses of
        each physical macro (:meth:`layout`), its TIA sized to that block."""
        return self.read_path().deploy(self.vector_length, self.n_outputs * self.n_bits,
                                       self.n_bits, self._base_tile())[0]


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
        w: target weights, ``(vector_length, n_outputs)``.
        x: inputs, ``(n_vectors, vector_length)``.
        y_exact: ``x @ w``.
        ptq: the PTQ baseline.
        haq: HAQ.
        vcmac: the switch code and ratios used (analog aggregation), else ``None``.
        haq_ratio_programmed: the ``s`` HAQ programmed with (measured for analog).
        timings_s: wall time per phase (s).
    """

    config: HaqExperimentConfig
    w: np.ndarray
    x: np.ndarray
    y_exact: np.ndarray
    ptq: SchemeResult
    haq: SchemeResult
    vcmac: VcmacRatio | None
    haq_ratio_programmed: float
    timings_s: dict[str, float] = field(default_factory=dict)

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
            "r_wire_ohm": self.config.r_wire_ohm, "cell": self.config.cell,
            "readout": self.config.readout, "placement": self.config.layout().as_dict(),
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


def run_mvm_experiment(cfg: HaqExperimentConfig, *,
                       vcmac_measured: Mapping[int, float] | None = None,
                       tile: Tile | None = None, progress: bool = False
                       ) -> HaqExperimentResult:
    """Program one random matrix with PTQ and HAQ and compare their MVMs.

    Args:
        cfg: the test.
        vcmac_measured: measured VCMAC ratio per switch code (circuit layer) for
            analog aggregation; codes missing are taken as nominal.
        tile: the tile to use (default: ``make_tile(cfg.tile_config())``).
        progress: draw progress bars (write steps while programming, then
            read cycles).

    Returns:
        Both schemes' programmed arrays, outputs and RMSEs.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    seq = np.random.SeedSequence(int(cfg.seed))
    rng_w, rng_x, rng_ptq, rng_haq, rng_stage = (np.random.default_rng(s) for s in seq.spawn(5))
    tile = tile or make_tile(cfg.tile_config())
    rram = tile.config.rram
    w = make_weights(cfg, rng_w)
    x = make_inputs(cfg, rng_x)
    y_exact = x @ w

    vr: VcmacRatio | None = None
    if cfg.aggregation == "analog":
        vr = vcmac_ratio(cfg.amp_ratio, vcmac_measured, stage_spread=cfg.vcmac_stage_spread)
        s_prog = vr.measured if cfg.vcmac_correction else cfg.amp_ratio
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
        cells = BinaryCellWriter(rram=rram, lrs_sigma=cfg.write_noise,
                                 hrs_sigma=cfg.hrs_noise, rng=rng)

        def write(g_target_siemens: np.ndarray, /) -> np.ndarray:
            steps.update()
            return cells(g_target_siemens)
        return write

    # Both schemes share one tile: the same hardware, programmed in turn.
    layers = {}
    gain = cfg.layout().mean_attenuation
    for name, scheme, rng, agg in (("ptq", PTQ(n_bits=cfg.n_bits, read_gain=gain), rng_ptq,
                                    Aggregator()),
                                   ("haq", HAQ(n_bits=cfg.n_bits, amp_ratio=s_prog,
                                               passes=cfg.haq_passes, read_gain=gain), rng_haq,
                                    haq_agg)):
        t0 = time.perf_counter()
        layers[name] = AnalogLayer.deploy(scheme, tile, w=w, write=writer(rng),
                                          verify_read=cfg.verify_read, aggregator=agg)
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
    return HaqExperimentResult(config=cfg, w=w, x=x, y_exact=y_exact, ptq=results["ptq"],
                               haq=results["haq"], vcmac=vr, haq_ratio_programmed=s_prog,
                               timings_s=timings)


# -- the sweep ---------------------------------------------------------------------------

def sweep_config(point: Mapping[str, Any]) -> HaqExperimentConfig:
    """The test of one sweep point: ``amp_ratio``, ``noise``, ``bits``, ``seed`` and
    optional fixed keys named like :class:`HaqExperimentConfig` fields."""
    known = set(HaqExperimentConfig.__dataclass_fields__)
    rename = {"noise": "write_noise", "bits": "n_bits"}
    kwargs = {}
    for k, v in point.items():
        name = rename.get(k, k)
        if name not in known:
            raise ConfigError(f"unknown sweep key {k!r}")
        kwargs[name] = v
    return HaqExperimentConfig(**{"read_cycles": 0, **kwargs})


def sweep_point(point: Mapping[str, Any]) -> dict[str, Any]:
    """Run the MVM test of one sweep point; returns its tidy-row figures.

    A ``vcmac_measured`` key (see :func:`encode_ratios`) carries the measured
    VCMAC ratios for analog aggregation, measured once by the caller.
    """
    point = dict(point)
    vcmac = decode_ratios(point.pop("vcmac_measured", ""))
    cfg = sweep_config(point)
    res = run_mvm_experiment(cfg, vcmac_measured=vcmac or None)
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
    """Best ``s`` per (bits, noise): the ratio with the lowest mean ``metric`` over seeds.

    Returns:
        Columns ``bits, noise, best_amp_ratio, <metric>_mean, <metric>_std, seeds``.
    """
    for col in ("bits", "noise", "amp_ratio", metric):
        if col not in table.columns:
            raise ConfigError(f"sweep table has no column {col!r}")
    g = table.groupby(["bits", "noise", "amp_ratio"])[metric].agg(["mean", "std", "count"])
    g = g.reset_index()
    idx = g.groupby(["bits", "noise"])["mean"].idxmin()
    best = g.loc[idx].rename(columns={"amp_ratio": "best_amp_ratio", "mean": f"{metric}_mean",
                                      "std": f"{metric}_std", "count": "seeds"})
    return best.sort_values(["bits", "noise"]).reset_index(drop=True)
