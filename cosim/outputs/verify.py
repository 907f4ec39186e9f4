"""The folder ``cosim verify`` writes::

    OUT/macros.csv          one row per macro: layer, size, cell, backend, slices checked,
                            error of full scale, stated error and its source, within,
                            boundary error, times (or the task's error)
    OUT/layers.csv          one row per layer: worst macro, stated error, within
    OUT/verify.png/.svg     each layer's worst error against its stated error (log scale)
    OUT/manifest.json       the run checked, the options, the verdict
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosim.outputs.plots import new_figure, save_figure


def write_macro_rows(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """``macros.csv`` (rewritten as rows arrive, so an interrupted check keeps its rows)."""
    path = Path(out_dir) / "macros.csv"
    pd.DataFrame(rows).to_csv(path, index=False, float_format="%.6g")
    return path


def write_verdicts(verdicts: list[Any], out_dir: Path) -> list[str]:
    """``layers.csv`` and the figure; the files written."""
    out_dir = Path(out_dir)
    table = pd.DataFrame([v.as_dict() for v in verdicts])
    table.to_csv(out_dir / "layers.csv", index=False, float_format="%.6g")
    files = ["layers.csv"]
    if verdicts:
        files += [p.name for p in save_figure(_figure(verdicts), out_dir / "verify")]
    return files


def _figure(verdicts: list[Any]):
    fig, (ax,) = new_figure(width_in=max(4.0, 0.5 * len(verdicts) + 2))
    x = np.arange(len(verdicts))
    err = [max(v.max_rel_error, 1e-18) if math.isfinite(v.max_rel_error) else np.nan
           for v in verdicts]
    stated = [v.stated_error if math.isfinite(v.stated_error) else np.nan for v in verdicts]
    colors = ["#59a14f" if v.within else "#e15759" for v in verdicts]
    ax.bar(x, err, color=colors, label="largest error (green: within)")
    ax.scatter(x, stated, marker="_", s=400, color="black", zorder=3,
               label="stated error of the backend")
    ax.set_yscale("log")
    ax.set_xticks(x, [v.name for v in verdicts], rotation=45, ha="right")
    ax.set_ylabel("max |model - ngspice| / full scale")
    ax.set_title("Each layer's macros against ngspice (column slices)")
    ax.legend(fontsize="small")
    return fig
