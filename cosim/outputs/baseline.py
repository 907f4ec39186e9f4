"""Run folder of ``cosim baseline``: the workloads' software networks timed on this device.

The measurement (:func:`cosim.workloads.baselines.run_baselines`) computes; this
module writes::

    RUN_DIR/measured_baselines.csv   one row per workload and batch size: throughput,
                                     power (and its origin), energy per inference,
                                     utilisation; origin "measured"
    RUN_DIR/throughput.png/.svg      inferences per second against batch size
    RUN_DIR/manifest.json            device, JAX backend, load average, the rows

``cosim report`` takes such a folder among its inputs and prices each workload's
best batch beside the datasheet baselines (:func:`read_measured`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from circuits.errors import ConfigError
from circuits.files import regular_file
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure
from cosim.workloads.baselines import BaselineRun

MEASURED_CSV = "measured_baselines.csv"
COLUMNS = ("workload", "workload_name", "unit", "device", "system", "batch", "batch_note",
           "seconds_per_batch", "repeats", "inferences_per_s", "ops_per_inference",
           "flops_per_s", "matmul_flops_per_s", "utilisation", "power_w", "power_origin",
           "energy_per_inference_j", "origin", "source")


def write_baselines(run: BaselineRun, run_dir: Path, command: str = "baseline"
                    ) -> dict[str, Any]:
    """Write the table, the figure and the manifest of ``run`` into ``run_dir``.

    Returns:
        The summary written to ``manifest.json``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(run.rows, columns=list(COLUMNS))
    table.to_csv(run_dir / MEASURED_CSV, index=False, float_format="%.6g")
    figures = _throughput_figure(table, run, run_dir / "throughput")
    best = best_rows(table)
    summary = {
        "device": run.device, "system": run.system, "backend": run.backend,
        "matmul_flops_per_s": run.matmul_flops_per_s,
        "power_w": run.power.watts, "power_origin": run.power.origin,
        "power_source": run.power.source,
        "load_average_1min": {"before": run.load_before, "after": run.load_after},
        "best": best[["workload", "batch", "inferences_per_s", "energy_per_inference_j",
                      "utilisation"]].to_dict(orient="records"),
        "tables": [MEASURED_CSV], "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest(command, simulator=False, **summary))
    return summary


def best_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each workload's (and device's) row of highest throughput: the baseline at its best."""
    idx = table.groupby(["workload", "device"], sort=False)["inferences_per_s"].idxmax()
    return table.loc[list(idx)].reset_index(drop=True)


def read_measured(run_dir: Path) -> pd.DataFrame:
    """The ``measured_baselines.csv`` of a ``cosim baseline`` run folder.

    Raises:
        ConfigError: no such table, or one without the columns the report needs.
    """
    path = Path(run_dir) / MEASURED_CSV
    regular_file(path, "measured baselines")
    try:
        table = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ConfigError(f"{path}: cannot read the measured baselines ({exc})") from None
    need = ("workload", "device", "system", "batch", "inferences_per_s", "power_w",
            "energy_per_inference_j", "utilisation", "source")
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: lacks the columns {', '.join(missing)}")
    for col in ("batch", "inferences_per_s", "power_w", "energy_per_inference_j"):
        values = pd.to_numeric(table[col], errors="coerce")
        if values.isna().any() or (values <= 0).any():
            raise ConfigError(f"{path}: {col} must hold positive numbers")
    return table


def is_baseline_dir(path: Path) -> bool:
    """Whether ``path`` is a ``cosim baseline`` run folder (it holds the table)."""
    return Path(path).is_dir() and (Path(path) / MEASURED_CSV).is_file()


def _throughput_figure(table: pd.DataFrame, run: BaselineRun, stem: Path) -> list[Path]:
    fig = Figure(figsize=(5.6, 3.4), layout="constrained")
    ax = fig.subplots()
    for key, sub in table.groupby("workload", sort=False):
        ax.plot(sub["batch"], sub["inferences_per_s"], "o-",
                label=f"{key} ({sub['unit'].iloc[0]}s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size", fontsize=8)
    ax.set_ylabel("inferences per second", fontsize=8)
    ax.set_title(f"{run.system}, {run.backend}", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    return save_figure(fig, stem)
