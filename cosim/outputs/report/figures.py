"""The report's figures (PNG + SVG): energy and area breakdowns, efficiency against the
baselines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from cosim.outputs.plots import save_figure
from cosim.outputs.report.fmt import num, si, times

if TYPE_CHECKING:
    from cosim.outputs.report.tables import ReportTables

_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#86bcb6", "#d37295", "#a0cbe8", "#8cd17d")


def _stacked(df: pd.DataFrame, part: str, value: str, *, xlabel: str, title: str,
             unit: str = "") -> Figure:
    piv = df.pivot_table(index="workload", columns=part, values=value, aggfunc="sum",
                         sort=False).fillna(0.0)
    piv = piv.loc[:, (piv > 0).any(axis=0)]
    piv = piv[piv.sum(axis=0).sort_values(ascending=False).index]
    n = len(piv.index)
    fig = Figure(figsize=(7.0, 1.2 + 0.55 * n + 0.15 * len(piv.columns)), layout="constrained")
    ax = fig.subplots()
    left = np.zeros(n)
    y = np.arange(n)
    for i, col in enumerate(piv.columns):
        vals = piv[col].to_numpy()
        ax.barh(y, vals, left=left, color=_COLORS[i % len(_COLORS)], label=col, height=0.6)
        left += vals
    for yi, tot in zip(y, left, strict=True):
        ax.text(tot, yi, f"  {si(tot, unit) if unit else num(tot, 3)}", va="center", fontsize=8)
    if unit:
        ax.xaxis.set_major_formatter(EngFormatter(unit=unit))
    ax.set_yticks(y, [_wrap(s) for s in piv.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_xlim(0, left.max() * 1.25 if left.max() > 0 else 1)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.05 * (n > 2)),
              ncol=4, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def _efficiency_figure(eff: pd.DataFrame, ratios: pd.DataFrame) -> Figure:
    workloads = list(dict.fromkeys(eff["workload"]))
    systems = list(dict.fromkeys(eff["key"]))
    labels = {k: (f"{k.split('_', 1)[1].upper()}, measured" if k.startswith("measured_") else s)
              for k, s in zip(eff["key"], eff["system"], strict=True)}
    fig = Figure(figsize=(9.0, 5.0), layout="constrained")
    axes = fig.subplots(1, 2)
    width = 0.8 / max(len(workloads), 1)
    for ax, metric, rcol, title in (
            (axes[0], "fps_per_w", "energy_efficiency_ratio", "energy efficiency (inferences/J)"),
            (axes[1], "fps_per_mm2", "area_efficiency_ratio", "area efficiency (fps/mm$^2$)")):
        x = np.arange(len(systems))
        for j, wl in enumerate(workloads):
            sub = eff[eff["workload"] == wl].set_index("key").reindex(systems)
            vals = sub[metric].to_numpy(dtype=float)
            xs = x - 0.4 + width * (j + 0.5)
            ax.bar(xs, vals, width=width * 0.95, color=_COLORS[j % len(_COLORS)],
                   label=_wrap(wl, 40))
            rs = ratios[ratios["workload"] == wl].set_index("baseline")[rcol]
            for xi, key, v in zip(xs, systems, vals, strict=True):
                if key in rs.index and np.isfinite(v):
                    ax.text(xi, v, times(rs[key]), ha="center", va="bottom", fontsize=6,
                            rotation=90)
        ax.set_yscale("log")
        ax.set_xticks(x, [_wrap(labels[k].replace("NVIDIA ", ""), 16) for k in systems],
                      fontsize=7, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="outside lower center",
               ncol=min(len(workloads), 3), frameon=False)
    fig.suptitle("ours vs GPU baselines (labels: ours / baseline)", fontsize=9)
    return fig


def _wrap(s: str, width: int = 28) -> str:
    words, lines, cur = str(s).split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "\n".join(lines)


def write_figures(t: ReportTables, out_dir: Path) -> dict[str, list[Path]]:
    """Energy breakdown, area breakdown and efficiency figures (PNG + SVG)."""
    figs = {
        "energy_breakdown": _stacked(t.energy, "component", "energy_per_inference_j",
                                     xlabel="energy per inference",
                                     title="energy per inference by component", unit="J"),
        "area_breakdown": _stacked(t.area, "block", "area_mm2", xlabel="area (mm$^2$)",
                                   title="area by block", unit=""),
        "efficiency": _efficiency_figure(t.efficiency, t.ratios),
    }
    return {name: save_figure(fig, out_dir / name) for name, fig in figs.items()}
