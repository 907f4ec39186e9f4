"""Run-folder outputs of the VCMAC characterisation: tables and the NF Fig. 3d plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from circuits.vcmac import nominal_ratio
from cosim.calibration.vcmac import MEASURED_RANGE, TARGET_REL_ERROR

SUMMARY_FILE = "vcmac_ratios.csv"
CURVES_FILE = "vcmac_ratio_curves.csv"


def write_vcmac(summary: pd.DataFrame, curves: pd.DataFrame, run_dir: Path) -> list[str]:
    """Write the summary and curves tables and the ratio plot; returns the file names."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary.to_csv(run_dir / SUMMARY_FILE, index=False, float_format="%.10g")
    curves.to_csv(run_dir / CURVES_FILE, index=False, float_format="%.10g")
    figures = plot_vcmac_ratios(summary, curves, run_dir / "vcmac_ratios")
    return [SUMMARY_FILE, CURVES_FILE, *(p.name for p in figures)]


def plot_vcmac_ratios(summary: pd.DataFrame, curves: pd.DataFrame | None,
                      stem: Path) -> list[Path]:
    """Figure like NF paper Fig. 3d, saved as ``stem.png`` and ``stem.svg``.

    Left: measured vs nominal ratio per code, with the 1:1 line, error bars
    from the smallest to the largest ratio over the input currents and the
    paper's measured range shaded. Right (when ``curves`` is given): the
    relative ratio error (%) against input current, one curve per code, with
    the +-1 % band.

    Returns:
        The paths written.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from cosim.outputs.plots import FONT_SIZE, save_figure

    panels = 2 if curves is not None else 1
    fig = Figure(figsize=(4.2 * panels + 0.6, 4.0), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    ax = axes[0]
    nom = summary["nominal"].to_numpy()
    meas = summary["measured"].to_numpy()
    err = np.vstack([meas - summary["ratio_min"].to_numpy(),
                     summary["ratio_max"].to_numpy() - meas])
    ax.axvspan(*MEASURED_RANGE, color="0.9", zorder=0, label="measured range (NF paper)")
    ax.plot([0.9, 2.6], [0.9, 2.6], color="0.4", linewidth=1.0, linestyle="--", label="1:1")
    ax.errorbar(nom, meas, yerr=err, fmt="o", markersize=4, capsize=2, color="C0",
                label="simulated (min-max over I_in)")
    ax.set_xlim(0.9, 2.6)
    ax.set_ylim(0.9, 2.6)
    ax.set_xlabel("nominal ratio s", fontsize=FONT_SIZE)
    ax.set_ylabel("measured ratio I_out / I_in", fontsize=FONT_SIZE)
    worst = float(np.abs(summary["rel_error"]).max())
    ax.set_title(f"VCMAC ratio, 16 codes (max |mean error| {100 * worst:.3f} %)",
                 fontsize=FONT_SIZE)
    ax.legend(fontsize=FONT_SIZE - 1, loc="upper left")
    if curves is not None:
        ax2 = axes[1]
        cmap = colormaps["viridis"]
        for code, g in curves.groupby("code", sort=True):
            ax2.plot(g["i_in_a"] * 1e6, 100 * g["rel_error"], linewidth=1.0,
                     color=cmap(int(code) / 15), label=f"s={nominal_ratio(int(code)):.1f}")
        ax2.axhspan(-100 * TARGET_REL_ERROR, 100 * TARGET_REL_ERROR, color="0.93", zorder=0)
        ax2.set_xscale("log")
        ax2.set_xlabel("input current I_in (uA)", fontsize=FONT_SIZE)
        ax2.set_ylabel("ratio error (%)", fontsize=FONT_SIZE)
        ax2.set_title("ratio error vs input current (band: ±1 %)", fontsize=FONT_SIZE)
        ax2.legend(fontsize=FONT_SIZE - 2, ncol=2, loc="best")
    for a in axes:
        a.grid(True, alpha=0.3)
        a.tick_params(labelsize=FONT_SIZE)
    return save_figure(fig, Path(stem))


def _colormap():
    from matplotlib import colormaps

    return colormaps["viridis"]
