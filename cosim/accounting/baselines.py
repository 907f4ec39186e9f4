"""GPU / NPU baselines: published power, die area, process and peak throughput.

The table is the package data file ``cosim/accounting/data/baselines.csv``: one row per
device with the source of its power/area/process figures (``source``) and of
its peak throughput (``flops_source``). A baseline's frame rate for a workload
is its *achievable* throughput divided by the workload's operations per
inference; the achievable throughput is the datasheet peak at the chosen
precision times a stated utilisation (:class:`GpuAssumptions`). Energy per
inference is board power / frame rate (the GPU is taken to run at its rated
board power while busy).

The seeds' own efficiency claims (NF and PRIME papers) are in
``cosim/accounting/data/claimed_ratios.csv``, each with its source.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from circuits.errors import ConfigError, check_choice, check_range, did_you_mean

DATA_DIR = Path(__file__).resolve().parent / "data"
BASELINES_CSV = DATA_DIR / "baselines.csv"
CLAIMS_CSV = DATA_DIR / "claimed_ratios.csv"
PRECISIONS = ("fp32", "fp16")


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """One GPU / NPU.

    Attributes:
        key: short name used on the command line (``a100``).
        name: full product name.
        power_w: rated board power (W).
        die_area_mm2: die area (mm^2).
        process: fabrication process.
        peak_fp32_flops: datasheet peak FP32 throughput (FLOP/s).
        peak_fp16_flops: datasheet peak FP16 throughput (FLOP/s; tensor cores, dense).
        source: where power, area and process come from.
        flops_source: where the peak throughputs come from.
    """

    key: str
    name: str
    power_w: float
    die_area_mm2: float
    process: str
    peak_fp32_flops: float
    peak_fp16_flops: float
    source: str
    flops_source: str

    def __post_init__(self) -> None:
        for f in ("power_w", "die_area_mm2", "peak_fp32_flops", "peak_fp16_flops"):
            check_range(f"{self.key} {f}", float(getattr(self, f)), 0.0, lo_open=True)
        if not self.source.strip() or not self.flops_source.strip():
            raise ConfigError(f"baseline {self.key!r} lacks a source")

    def peak_flops(self, precision: str) -> float:
        check_choice("precision", precision, PRECISIONS)
        return self.peak_fp32_flops if precision == "fp32" else self.peak_fp16_flops


@dataclass(frozen=True, kw_only=True)
class GpuAssumptions:
    """How a baseline's achievable throughput is taken.

    Attributes:
        precision: ``"fp32"`` (CUDA cores) or ``"fp16"`` (tensor cores, dense).
        utilisation: achieved fraction of the datasheet peak; 0.5 is our
            assumption (dense, batched MLP/MVM kernels; small batches reach less).
    """

    precision: str = "fp32"
    utilisation: float = 0.5

    def __post_init__(self) -> None:
        check_choice("precision", self.precision, PRECISIONS)
        check_range("GPU utilisation", self.utilisation, 0.0, 1.0, lo_open=True)

    def describe(self, b: Baseline) -> str:
        peak = b.peak_flops(self.precision)
        return (f"{b.name}: {self.utilisation:g} x datasheet peak {self.precision.upper()} "
                f"{peak / 1e12:.4g} TFLOP/s = {self.utilisation * peak / 1e12:.4g} TFLOP/s "
                f"achievable (utilisation assumed; peak from {b.flops_source})")


def load_baselines(path: Path = BASELINES_CSV) -> dict[str, Baseline]:
    """All baselines of the table, by key."""
    out = {}
    with Path(path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            b = Baseline(key=r["key"], name=r["name"], power_w=float(r["power_w"]),
                         die_area_mm2=float(r["die_area_mm2"]), process=r["process"],
                         peak_fp32_flops=float(r["peak_fp32_flops"]),
                         peak_fp16_flops=float(r["peak_fp16_flops"]), source=r["source"],
                         flops_source=r["flops_source"])
            out[b.key] = b
    return out


def get_baselines(keys: list[str] | tuple[str, ...] | None = None) -> list[Baseline]:
    """The baselines named by ``keys`` (all when ``None``), in the order given.

    Raises:
        ConfigError: an unknown key (with the closest known one).
    """
    table = load_baselines()
    if keys is None:
        return list(table.values())
    out = []
    for k in keys:
        key = k.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in table:
            raise ConfigError(f"unknown baseline {k!r}{did_you_mean(key, table)} "
                              f"(known: {', '.join(table)})")
        out.append(table[key])
    return out


def baseline_fps(b: Baseline, ops_per_inference: float, gpu: GpuAssumptions) -> float:
    """Inferences per second of ``b``: achievable FLOP/s / operations per inference."""
    check_range("ops_per_inference", float(ops_per_inference), 0.0, lo_open=True)
    return gpu.utilisation * b.peak_flops(gpu.precision) / ops_per_inference


def baselines_frame() -> pd.DataFrame:
    """The baseline table with its sources (one row per device)."""
    rows = [{"key": b.key, "name": b.name, "power_w": b.power_w,
             "die_area_mm2": b.die_area_mm2, "process": b.process,
             "peak_fp32_flops": b.peak_fp32_flops, "peak_fp16_flops": b.peak_fp16_flops,
             "origin": "cited", "source": b.source, "flops_source": b.flops_source}
            for b in load_baselines().values()]
    return pd.DataFrame(rows)


def claimed_ratios() -> pd.DataFrame:
    """The NF and PRIME papers' efficiency claims (``claimed_ratios.csv``), with sources."""
    return pd.read_csv(CLAIMS_CSV)


CONDITIONS_CSV = DATA_DIR / "claim_conditions.csv"


def claim_conditions() -> dict[str, str]:
    """What each claimed ratio covers, as far as the cited papers say (``claim_conditions.csv``):
    claim id -> text with its source."""
    table = pd.read_csv(CONDITIONS_CSV)
    return {str(r["claim"]): f"{r['conditions']} ({r['source']})" for _, r in table.iterrows()}
