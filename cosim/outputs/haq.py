"""Run-folder outputs of the HAQ MVM test and its sweep: tables, figures, workload.json.

The test itself (:mod:`cosim.workloads.haq.mvm`) computes; this module writes.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from cosim.accounting.workload import haq_mvm_workload, write_workload_json
from cosim.engine.placement import Placement, attenuation_map, nominal_array
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.layer_records import write_layer_records
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure
from cosim.workloads.haq.mvm import HaqExperimentResult, best_amp_ratio, rmse


def write_experiment(result: HaqExperimentResult, run_dir: Path) -> dict[str, Any]:
    """Write the tables and figures of one MVM test into ``run_dir``.

    Files: ``weights.csv`` (target and programmed weight of every cell group),
    ``mvm.csv`` (exact and computed outputs), ``rmse_cycles.csv`` (with read
    cycles), ``scatter_weights`` and ``scatter_mvm`` (PNG + SVG, NF Fig. 2f,g),
    ``rmse_cycles`` (histogram, NF Fig. 2h,i), ``workload.json``, ``layers/`` (both
    layers as they ran, for ``cosim verify``), ``manifest.json``.

    Returns:
        The summary written to ``manifest.json`` (with the file names).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    r_idx, c_idx = np.indices(result.w.shape)
    pd.DataFrame({"row": r_idx.ravel(), "col": c_idx.ravel(), "w_target": result.w.ravel(),
                  "w_ptq": result.ptq.programmed.weights().ravel(),
                  "w_haq": result.haq.programmed.weights().ravel()}
                 ).to_csv(run_dir / "weights.csv", index=False, float_format="%.8g")
    v_idx, o_idx = np.indices(result.y_exact.shape)
    pd.DataFrame({"vector": v_idx.ravel(), "output": o_idx.ravel(),
                  "y_exact": result.y_exact.ravel(), "y_ptq": result.ptq.y.ravel(),
                  "y_haq": result.haq.y.ravel()}
                 ).to_csv(run_dir / "mvm.csv", index=False, float_format="%.8g")
    files = ["weights.csv", "mvm.csv"]
    figures = _scatter(result, run_dir)
    if result.config.read_cycles:
        pd.DataFrame({"cycle": np.arange(result.config.read_cycles),
                      "rmse_ptq": result.ptq.rmse_cycles, "rmse_haq": result.haq.rmse_cycles}
                     ).to_csv(run_dir / "rmse_cycles.csv", index=False, float_format="%.8g")
        files.append("rmse_cycles.csv")
        figures += _cycles_hist(result, run_dir / "rmse_cycles")
    if result.sim.backend != "ideal":
        figures += attenuation_figure(result.hardware, result.placement, result.config.n_bits,
                                      run_dir / "attenuation_map")
    layout = result.placement
    placed = {**asdict(result.config), "macro_rows": layout.rows_used,
              "macro_cols": layout.cols_used, "aggregation": result.hardware.aggregation.kind,
              "cell": result.hardware.cell.kind.name}
    workload = haq_mvm_workload(placed, result.haq.mvm_events,
                                programming_events=result.haq.programmed.events)
    write_workload_json(run_dir, workload)
    files.append("workload.json")
    files += write_layer_records(run_dir, result.layer_records)
    summary = {**result.summary(), "tables": files, "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest("haq", seeds={"haq": result.config.seed},
                                         simulator=result.sim.backend == "spice", **summary))
    return summary


def attenuation_figure(hardware: HardwareSpec, lay: Placement, group: int, stem: Path
                       ) -> list[Path]:
    """Attenuation map of the placement (``cosim.engine.placement``) beside a full-width block.

    Left: one block as placed (rows and columns used per macro); right: the
    same rows over every column of a macro (what a full placement would
    give); ``group`` columns per weight.
    """
    full_cols = hardware.array.macro_cols // group * group
    design = dict(cell=hardware.cell.kind, r_wire_ohm=hardware.array.r_wire_ohm,
                  rram=hardware.rram, access=hardware.cell.access)
    v = hardware.v_read_volt
    maps = {f"as placed: {lay.rows_used} x {lay.cols_used}, {lay.macros} macros":
            attenuation_map(nominal_array(lay.rows_used, lay.cols_used, **design), v),
            f"full width: {lay.rows_used} x {full_cols}, {lay.macros_full} macros":
            attenuation_map(nominal_array(lay.rows_used, full_cols, **design), v)}
    fig = Figure(figsize=(8.0, 3.2), layout="constrained")
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(lay.cols_used, 60), full_cols]})
    for ax, (title, a) in zip(axes, maps.items(), strict=True):
        im = ax.imshow(a, origin="upper", aspect="auto", vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_title(f"{title}\nworst {a.min():.3f}, mean {a.mean():.3f}", fontsize=8)
        ax.set_xlabel("physical column (row driver at 0)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("row (sense amplifiers below the last)", fontsize=8)
    fig.colorbar(im, ax=axes, label="attenuation M / G").ax.tick_params(labelsize=7)
    fig.suptitle(f"{hardware.cell.kind.name}, {hardware.array.r_wire_ohm:g} ohm per segment, "
                 f"every cell at the LRS/HRS midpoint", fontsize=9)
    return save_figure(fig, stem)


def write_budget(table: pd.DataFrame, run_dir: Path) -> list[Path]:
    """``budget.csv`` and the stacked-bar figure ``budget`` of the error budget.

    Each bar stacks the quantisation error's variance and, on top, the excess
    variance each stage adds on its own (``cosim.workloads.haq.budget``); the
    ``together`` row is drawn beside as a marker. Bars in RMSE units would not
    add; variances of independent sources do.
    """
    run_dir = Path(run_dir)
    table.to_csv(run_dir / "budget.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(7.6, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    stages = table[~table["stage"].isin(["quantisation", "together"])]
    for ax, s in zip(axes, ("ptq", "haq"), strict=True):
        q = float(table.loc[table["stage"] == "quantisation", f"rmse_{s}"].iloc[0]) ** 2
        bottom = q
        ax.bar(0, q, color="0.6", label="quantisation")
        for _, row in stages.iterrows():
            v = max(float(row[f"excess_var_{s}"]), 0.0)
            ax.bar(0, v, bottom=bottom, label=row["stage"])
            bottom += v
        together = float(table.loc[table["stage"] == "together", f"rmse_{s}"].iloc[0]) ** 2
        ax.bar(1, together, color="k")
        ax.set_xticks([0, 1], ["stages alone\n(stacked)", "together"], fontsize=8)
        ax.set_ylabel("MVM error variance (RMSE^2)", fontsize=8)
        ax.set_title(f"{s.upper()}: together RMSE {together ** 0.5:.4g}", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return [run_dir / "budget.csv", *save_figure(fig, run_dir / "budget")]


def _scatter(result: HaqExperimentResult, run_dir: Path) -> list[Path]:
    paths = []
    pairs = {
        "scatter_weights": ("target weight", "programmed weight", result.w,
                            result.ptq.programmed.weights(), result.haq.programmed.weights()),
        "scatter_mvm": ("exact output x @ w", "computed output", result.y_exact,
                        result.ptq.y, result.haq.y),
    }
    for stem, (xlabel, ylabel, ref, y_ptq, y_haq) in pairs.items():
        fig = Figure(figsize=(7.0, 3.4), layout="constrained")
        axes = fig.subplots(1, 2, sharex=True, sharey=True)
        lo, hi = float(ref.min()), float(ref.max())
        for ax, name, y in ((axes[0], "PTQ", y_ptq), (axes[1], "HAQ", y_haq)):
            ax.scatter(ref.ravel(), y.ravel(), s=2, alpha=0.4, linewidths=0, rasterized=True)
            ax.plot([lo, hi], [lo, hi], color="k", linewidth=0.8)
            ax.set_title(f"{name}: RMSE {rmse(y, ref):.4g}", fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.grid(True, alpha=0.3)
        axes[0].set_ylabel(ylabel, fontsize=8)
        cfg, hw = result.config, result.hardware
        fig.suptitle(f"{cfg.n_bits} bit, s = {cfg.amp_ratio:g}, {hw.name} hardware (write noise "
                     f"{hw.noise.write:g}), {result.sim.backend} backend", fontsize=9)
        paths += save_figure(fig, run_dir / stem)
    return paths


def _cycles_hist(result: HaqExperimentResult, stem: Path) -> list[Path]:
    fig = Figure(figsize=(7.0, 3.0), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, name, r in ((axes[0], "PTQ", result.ptq), (axes[1], "HAQ", result.haq)):
        ax.hist(r.rmse_cycles, bins=40)
        ax.set_title(f"{name}: {r.rmse_cycles.mean():.4g} +- {r.rmse_cycles.std():.2g}",
                     fontsize=9)
        ax.set_xlabel("RMSE per read cycle", fontsize=8)
    axes[0].set_ylabel("read cycles", fontsize=8)
    return save_figure(fig, stem)


def write_sweep_outputs(table: pd.DataFrame, out_dir: Path, metric: str = "rmse_haq"
                        ) -> pd.DataFrame:
    """Heatmaps of ``metric`` over (s, noise) per bit width, and the best s per noise.

    Writes ``heatmap_<metric>_<bits>bit`` (PNG + SVG) per bit width,
    ``best_amp_ratio.csv`` and the plot ``best_amp_ratio`` (NF Supp. Fig. 1a).

    Returns:
        The best-s table (:func:`best_amp_ratio`).
    """
    out_dir = Path(out_dir)
    best = best_amp_ratio(table, metric)
    best.to_csv(out_dir / "best_amp_ratio.csv", index=False, float_format="%.6g")
    mean = table.groupby(["bits", "write_noise", "amp_ratio"])[metric].mean().reset_index()
    for bits, sub in mean.groupby("bits"):
        grid_ = sub.pivot(index="write_noise", columns="amp_ratio", values=metric)
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.subplots()
        vals = grid_.to_numpy()
        positive = vals[np.isfinite(vals) & (vals > 0)]
        norm = LogNorm(vmin=positive.min(), vmax=positive.max()) if positive.size else None
        im = ax.imshow(vals, origin="lower", aspect="auto", norm=norm, cmap="viridis")
        ax.set_xticks(range(grid_.shape[1]), [f"{v:g}" for v in grid_.columns], fontsize=7)
        ax.set_yticks(range(grid_.shape[0]), [f"{v:g}" for v in grid_.index], fontsize=7)
        ax.set_xlabel("amplification ratio s", fontsize=8)
        ax.set_ylabel("write noise (fraction of LRS)", fontsize=8)
        b = best[best["bits"] == bits]
        cols = list(grid_.columns)
        rows = list(grid_.index)
        ax.plot([cols.index(s) for s in b["best_amp_ratio"]],
                [rows.index(n) for n in b["write_noise"]], "r*", markersize=8, label="best s")
        ax.legend(fontsize=7, loc="upper right")
        label = {"rmse_haq": "HAQ MVM RMSE", "rmse_ptq": "PTQ MVM RMSE"}.get(metric, metric)
        ax.set_title(f"{label}, {bits} bit (mean over seeds)", fontsize=9)
        fig.colorbar(im, ax=ax).ax.tick_params(labelsize=7)
        save_figure(fig, out_dir / f"heatmap_{metric}_{bits}bit")
    fig = Figure(figsize=(5.0, 3.4), layout="constrained")
    ax = fig.subplots()
    for bits, b in best.groupby("bits"):
        ax.plot(b["write_noise"], b["best_amp_ratio"], "o-", label=f"{bits} bit")
    ax.set_xlabel("write noise (fraction of LRS)", fontsize=8)
    ax.set_ylabel("best amplification ratio s", fontsize=8)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, out_dir / "best_amp_ratio")
    return best
