"""Run-folder outputs of the amplifier characterisations: tables, Bode plots, step responses.

One writer per artefact (``cosim characterise`` and the ``tia``/``vcmac`` stages
of ``cosim run`` share them). The ngspice runs behind the figures (deck,
log, raw file) are kept by the caller in the run folder's ``spice/``; the
raw files open in any waveform viewer that reads ngspice's format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cosim.calibration.amplifiers import Bode, OpAmpCharacterisation, TiaResult
from cosim.calibration.vcmac import MEASURED_RANGE, TARGET_REL_ERROR, VcmacStepResponse
from cosim.outputs.plots import FONT_SIZE, new_figure, plot_traces, save_figure

FLOAT = "%.10g"


def _bode(bodes: dict[str, Bode], stem: Path, title: str) -> list[Path]:
    fig, (mag, ph) = new_figure(2)
    for name, b in bodes.items():
        mag.semilogx(b.f_hz, b.magnitude_db, label=name)
        ph.semilogx(b.f_hz, b.phase_deg, label=name)
    mag.axhline(0.0, color="k", linewidth=0.6)
    mag.set_ylabel("magnitude (dB)", fontsize=FONT_SIZE)
    ph.set_ylabel("phase (deg)", fontsize=FONT_SIZE)
    ph.set_xlabel("frequency (Hz)", fontsize=FONT_SIZE)
    mag.legend(fontsize=FONT_SIZE - 1)
    mag.set_title(title, fontsize=FONT_SIZE)
    return save_figure(fig, stem)


def write_opamp(ch: OpAmpCharacterisation, run_dir: Path) -> list[str]:
    """The op-amp's table (``opamp_characterisation.csv``, one row per figure with the
    analysis it came from), Bode plots, the slew step and the swing; returns file names."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ch.table().to_csv(run_dir / "opamp_characterisation.csv", index=False, float_format=FLOAT)
    files = ["opamp_characterisation.csv"]
    files += [p.name for p in _bode({"open loop": ch.open_loop,
                                     "open loop, Rf load": ch.open_loop_loaded},
                                    run_dir / "opamp_bode", "op-amp open-loop gain")]
    files += [p.name for p in _bode({"TIA loop gain": ch.loop}, run_dir / "tia_loop_bode",
                                    "loop gain in the TIA's feedback configuration")]
    t, v = ch.slew_wave
    fig, (ax,) = new_figure(1)
    plot_traces(ax, t * 1e9, {"v(out)": v}, ylabel="output (V)")
    ax.set_xlabel("time (ns)", fontsize=FONT_SIZE)
    files += [p.name for p in save_figure(fig, run_dir / "opamp_slew")]
    sw = ch.sweep
    fig, (a1, a2) = new_figure(2)
    z = sw.transimpedance_ohm
    mid = int(np.argmin(np.abs(sw.i_a)))
    plot_traces(a1, sw.v_out, {"dV_out/dI relative to 0 A": z / z[mid] - 1.0},
                ylabel="transimpedance error")
    a1.set_ylim(-0.05, 0.05)
    plot_traces(a2, sw.v_out, {"-dV_out/dv_in": 20 * np.log10(np.abs(sw.opamp_gain))},
                ylabel="in-circuit gain (dB)")
    a2.set_xlabel("TIA output (V)", fontsize=FONT_SIZE)
    files += [p.name for p in save_figure(fig, run_dir / "tia_swing")]
    return files


def write_tia(result: TiaResult, run_dir: Path, tolerance: float) -> list[str]:
    """``tia.csv`` (headline), ``tia_settling.csv`` (per input range), step responses,
    the DC transfer and, with a Monte Carlo, ``tia_mismatch.csv``; returns file names."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    head = {k: v for k, v in result.summary(tolerance).items() if k not in ("ranges", "mismatch")}
    pd.DataFrame([head]).to_csv(run_dir / "tia.csv", index=False, float_format=FLOAT)
    result.settling.to_csv(run_dir / "tia_settling.csv", index=False, float_format=FLOAT)
    files = ["tia.csv", "tia_settling.csv"]
    fig, axes = new_figure(2)
    for sign, ax in zip((1, -1), axes, strict=True):
        traces = {}
        t_ns = None
        for (label, s), r in result.responses.items():
            if s != sign:
                continue
            v = r.v_out
            t_ns = (r.t_s - r.t_step_s) * 1e9
            traces[label] = np.interp(np.linspace(t_ns[0], t_ns[-1], 2000), t_ns,
                                      (v - v[0]) / (v[-1] - v[0]))
        if t_ns is not None:
            plot_traces(ax, np.linspace(t_ns[0], t_ns[-1], 2000), traces,
                        ylabel=f"{'+' if sign > 0 else '-'}full-scale step (normalised)")
        ax.axhspan(1 - tolerance, 1 + tolerance, color="0.8")
    axes[-1].set_xlabel("time after the current step (ns)", fontsize=FONT_SIZE)
    files += [p.name for p in save_figure(fig, run_dir / "tia_step")]
    sw = result.sweep
    fig, (ax,) = new_figure(1)
    plot_traces(ax, sw.i_a * 1e6, {"V_out": sw.v_out}, ylabel="V_out (V)")
    ax.set_xlabel("input current (uA)", fontsize=FONT_SIZE)
    files += [p.name for p in save_figure(fig, run_dir / "tia_dc")]
    if result.mismatch is not None:
        result.mismatch.to_csv(run_dir / "tia_mismatch.csv", index=False, float_format=FLOAT)
        files.append("tia_mismatch.csv")
        fig, (a1, a2) = new_figure(2, panel_height_in=2.4)
        a1.hist(result.mismatch["offset_volt"] * 1e3, bins=20)
        a1.set_xlabel("output offset (mV)", fontsize=FONT_SIZE)
        a2.hist(result.mismatch["gain_error"] * 100, bins=20)
        a2.set_xlabel("gain error (%)", fontsize=FONT_SIZE)
        for a in (a1, a2):
            a.xaxis.set_tick_params(labelbottom=True)
        files += [p.name for p in save_figure(fig, run_dir / "tia_mismatch")]
    return files


def write_vcmac_settling(table: pd.DataFrame, responses: dict[int, VcmacStepResponse],
                         run_dir: Path, delay_s: float) -> list[str]:
    """``vcmac_settling.csv`` (per code) and the output current's step responses."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(run_dir / "vcmac_settling.csv", index=False, float_format=FLOAT)
    fig, (a1, a2) = new_figure(2)
    traces, norm = {}, {}
    t_us = None
    for code, r in responses.items():
        t_us = (r.t_s - delay_s) * 1e6
        traces[f"code {code}"] = r.i_out_a * 1e6
        before = float(np.interp(delay_s, r.t_s, r.i_out_a))
        norm[f"code {code}"] = (r.i_out_a - before) / (r.i_out_a[-1] - before)
    if t_us is not None:
        plot_traces(a1, t_us, traces, ylabel="output current (uA)")
        plot_traces(a2, t_us, norm, ylabel="normalised step")
    a2.axhspan(0.999, 1.001, color="0.8")
    a2.set_ylim(-0.2, 1.5)
    a2.set_xlabel("time after the input step (us)", fontsize=FONT_SIZE)
    return ["vcmac_settling.csv", *(p.name for p in save_figure(fig, run_dir / "vcmac_step"))]


def write_vcmac_mismatch(per_seed: pd.DataFrame, stats: pd.DataFrame, run_dir: Path,
                         a_vt_mv_um: float) -> list[str]:
    """``vcmac_mismatch.csv`` (per seed and code), ``vcmac_mismatch_stats.csv`` (per code)
    and the mean and spread of the ratio error per code beside the paper's 1 %."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    per_seed.to_csv(run_dir / "vcmac_mismatch.csv", index=False, float_format=FLOAT)
    stats.to_csv(run_dir / "vcmac_mismatch_stats.csv", index=False, float_format=FLOAT)
    fig, (ax,) = new_figure(1, panel_height_in=3.4)
    lo, hi = MEASURED_RANGE
    ax.axvspan(lo - 0.05, hi + 0.05, color="0.92", label="NF paper's measured range")
    ax.axhline(100 * TARGET_REL_ERROR, color="r", linestyle="--", linewidth=0.8,
               label="NF paper: mean error ~1 %")
    ax.errorbar(stats["nominal"], 100 * stats["mean_abs_rel_error"],
                yerr=100 * stats["std_rel_error"], fmt="o", capsize=3,
                label=f"mean |error|, +- std of the error over {int(stats['seeds'].max())} seeds")
    ax.plot(stats["nominal"], 100 * stats["mean_rel_error"], "s", mfc="none",
            label="mean error (signed)")
    ax.set_xlabel("nominal ratio s", fontsize=FONT_SIZE)
    ax.set_ylabel("ratio error (%)", fontsize=FONT_SIZE)
    ax.set_title(f"VCMAC ratio error per code, Pelgrom A_VT {a_vt_mv_um:g} mV*um",
                 fontsize=FONT_SIZE)
    ax.legend(fontsize=FONT_SIZE - 1)
    return ["vcmac_mismatch.csv", "vcmac_mismatch_stats.csv",
            *(p.name for p in save_figure(fig, run_dir / "vcmac_mismatch"))]
