"""The main job, ``cosim run``: characterise the circuits, run HAQ vs PTQ, report.

Stages, each writing its own sub-folder of the run folder as soon as it ends:

1. ``tia``: the TIA's DC gain, linearity and settling time in ngspice.
2. ``vcmac``: every VCMAC switch code's measured ratio in ngspice (NF Fig. 3d).
3. ``haq``: the NF paper's MVM test (PTQ vs HAQ) through the chosen tile backend.
4. ``report``: energy and area of the HAQ workload against GPU baselines.

``manifest.json`` (config, package and ngspice versions, git revision, seeds,
BLAS threads and each stage's status) is rewritten after every stage, so an
interrupted run leaves a consistent record of what finished.

Threads: the numerical stages (tile MVM, nodal solves, HAQ programming) run
with their BLAS/OpenMP thread pools capped at ``threads`` (``--threads``, or
the environment variable ``COSIM_THREADS``; default 1). Their matrices are
small (100 x 100 tiles), so one thread is as fast as several for one run,
and two runs at once on a two-core machine no longer fight over four BLAS
threads each. ngspice runs in its own processes (``run.workers`` at a time).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from circuits.errors import ConfigError, check_choice
from circuits.runner import ngspice_version
from circuits.vcmac import VCMACParams
from cosim.calibration.tia import characterise_tia, dc_transfer, step_response
from cosim.calibration.vcmac import (
    default_currents,
    plot_vcmac_ratios,
    summarise_vcmac,
    vcmac_ratio_curves,
)
from cosim.config import STAGES
from cosim.outputs.haq import write_experiment
from cosim.outputs.plots import new_figure, plot_traces, save_figure
from cosim.outputs.report import ReportOptions, build_report
from cosim.sweep import THREAD_VARS
from cosim.workloads.haq_mvm import HaqExperimentConfig, run_mvm_experiment

PACKAGES = ("rram-cosim", "numpy", "scipy", "pandas", "matplotlib", "click", "PySpice")

Echo = Callable[[str], None]

THREADS_ENV = "COSIM_THREADS"
"""Environment variable with the default BLAS thread count of a run (``--threads``)."""
DEFAULT_THREADS = 1


def resolve_threads(threads: int | None = None) -> int | None:
    """BLAS threads per process: ``threads``, else ``$COSIM_THREADS``, else 1.

    ``0`` (or ``COSIM_THREADS=0``) means no cap: the libraries' own default
    (one thread per core), returned as ``None``.

    Raises:
        ConfigError: a negative count, or ``COSIM_THREADS`` not a whole number.
    """
    where = "--threads"
    if threads is None:
        text = os.environ.get(THREADS_ENV, "").strip()
        if not text:
            return DEFAULT_THREADS
        where = THREADS_ENV
        try:
            threads = int(text)
        except ValueError:
            raise ConfigError(f"{THREADS_ENV} must be a whole number of threads, "
                              f"got {text!r}") from None
    if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= 1024:
        raise ConfigError(f"{where} must be a whole number from 0 (no cap) to 1024, "
                          f"got {threads!r}")
    return threads or None


def run_main(config: dict[str, dict[str, Any]], run_dir: Path, *, echo: Echo = print,
             progress: bool = True, threads: int | None = None) -> dict[str, Any]:
    """Run the stages named in ``config["run"]["stages"]`` into ``run_dir``.

    Args:
        config: the full config (see :mod:`cosim.config`).
        run_dir: the run folder (created); the caller checks and locks it
            (:func:`cosim.outputs.rundir.prepare_run_dir`).
        echo: where progress lines go.
        progress: draw progress bars.
        threads: BLAS/OpenMP threads of this process (see :func:`resolve_threads`).

    Returns:
        The final manifest.
    """
    limit = resolve_threads(threads)
    with thread_cap(limit):
        return _run_stages(config, Path(run_dir), echo, progress, limit)


@contextmanager
def thread_cap(threads: int | None) -> Iterator[None]:
    """Cap the BLAS/OpenMP threads of this process for the block (``None``: no cap).

    Libraries already loaded are capped with ``threadpoolctl``; the
    ``*_NUM_THREADS`` variables cap those loaded later in the block (scipy's
    BLAS is loaded on first use) and child processes.
    """
    if threads is None:
        yield
        return
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    os.environ.update({k: str(threads) for k in THREAD_VARS})
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_stages(config: dict[str, dict[str, Any]], run_dir: Path, echo: Echo, progress: bool,
                threads: int | None) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = _new_manifest(config)
    manifest["threads"] = threads if threads is not None else "no cap"
    for name in config["run"]["stages"]:
        check_choice("stage", name, STAGES)
    stages = [s for s in STAGES if s in config["run"]["stages"]]
    results: dict[str, Any] = {}
    for i, stage in enumerate(stages, 1):
        echo(f"[{i}/{len(stages)}] {stage}: {_DESCRIPTIONS[stage]}")
        t0 = time.perf_counter()
        manifest["stages"][stage] = {"status": "running"}
        _write_manifest(run_dir, manifest)
        summary = _STAGE_FUNCS[stage](config, run_dir, results, progress)
        results[stage] = summary
        manifest["stages"][stage] = {"status": "done", "elapsed_s": time.perf_counter() - t0,
                                     "summary": summary}
        _write_manifest(run_dir, manifest)
        echo(f"      done in {time.perf_counter() - t0:.1f} s: {_headline(stage, summary)}")
    manifest["elapsed_s"] = sum(s.get("elapsed_s", 0.0) for s in manifest["stages"].values())
    _write_manifest(run_dir, manifest)
    return manifest


def _tia_stage(config, run_dir: Path, results, progress) -> dict[str, Any]:
    out = run_dir / "tia"
    out.mkdir(exist_ok=True)
    ch = characterise_tia(tolerance=config["tia"]["tolerance"])
    pd.DataFrame([ch.as_dict()]).to_csv(out / "tia.csv", index=False, float_format="%.8g")
    i_in, v_out = dc_transfer()
    t, v = step_response(step_amp=ch.step_amp)
    fig, (ax,) = new_figure(1)
    plot_traces(ax, i_in * 1e6, {"V_out": v_out}, ylabel="V_out (V)")
    ax.set_xlabel("input current (uA)")
    save_figure(fig, out / "tia_dc")
    fig, (ax,) = new_figure(1)
    plot_traces(ax, t * 1e9, {"V_out": v}, ylabel="V_out (V)")
    ax.set_xlabel("time (ns)")
    save_figure(fig, out / "tia_step")
    return ch.as_dict()


def _vcmac_stage(config, run_dir: Path, results, progress) -> dict[str, Any]:
    out = run_dir / "vcmac"
    out.mkdir(exist_ok=True)
    points = config["vcmac"]["points"]
    workers = config["run"]["workers"]
    with tqdm(total=16, desc="VCMAC codes", unit="code", disable=not progress,
              leave=False) as bar:
        curves = vcmac_ratio_curves(VCMACParams(), default_currents(points), workers=workers,
                                    progress=bar.update)
    summary = summarise_vcmac(curves)
    summary.to_csv(out / "vcmac_ratios.csv", index=False, float_format="%.8g")
    curves.to_csv(out / "vcmac_curves.csv", index=False, float_format="%.8g")
    plot_vcmac_ratios(summary, curves, out / "vcmac_ratios")
    in_range = summary[(summary.nominal >= 1.1 - 1e-9) & (summary.nominal <= 2.0 + 1e-9)]
    return {"codes": summary[["code", "nominal", "measured", "rel_error"]].to_dict("records"),
            "max_abs_rel_error_1p1_to_2p0": float(in_range.rel_error.abs().max())}


def _haq_stage(config, run_dir: Path, results, progress) -> dict[str, Any]:
    out = run_dir / "haq"
    allowed = {f.name for f in fields(HaqExperimentConfig)}
    cfg = HaqExperimentConfig(seed=config["run"]["seed"],
                              **{k: v for k, v in config["haq"].items() if k in allowed})
    vcmac = None
    if "vcmac" in results and cfg.aggregation == "analog":
        vcmac = {int(r["code"]): float(r["measured"]) for r in results["vcmac"]["codes"]}
    result = run_mvm_experiment(cfg, vcmac_measured=vcmac)
    summary = write_experiment(result, out)
    return {k: summary[k] for k in ("rmse_ptq", "rmse_haq", "ratio", "normalisation")
            if k in summary}


def _report_stage(config, run_dir: Path, results, progress) -> dict[str, Any]:
    inputs = [run_dir / "haq"] if (run_dir / "haq" / "manifest.json").exists() else []
    if not inputs:
        return {"skipped": "no workload run in this job"}
    options = ReportOptions(baselines=tuple(config["report"]["baselines"]),
                            simulate=config["report"]["simulate"])
    manifest = build_report(inputs, run_dir / "report", options)
    shutil.copyfile(run_dir / "report" / "report.html", run_dir / "report.html")
    return {"report": "report.html", "ratios": manifest["summary"]}


_STAGE_FUNCS = {"tia": _tia_stage, "vcmac": _vcmac_stage, "haq": _haq_stage,
                "report": _report_stage}
_DESCRIPTIONS = {
    "tia": "TIA DC gain, linearity and settling in ngspice",
    "vcmac": "VCMAC ratio of all 16 switch codes in ngspice",
    "haq": "HAQ vs PTQ MVM test through the tile",
    "report": "energy and area report against GPU baselines",
}


def _headline(stage: str, s: dict[str, Any]) -> str:
    if stage == "tia":
        return (f"gain {s['gain_ohm']:.2f} ohm ({s['gain_rel_error']:+.3%}), "
                f"settles to {s['settle_tolerance']:.1%} in {s['settle_time_s'] * 1e9:.1f} ns")
    if stage == "vcmac":
        return f"max |ratio error| for s 1.1-2.0: {s['max_abs_rel_error_1p1_to_2p0']:.3%}"
    if stage == "haq":
        return f"RMSE PTQ {s['rmse_ptq']:.4f}, HAQ {s['rmse_haq']:.4f} ({s['ratio']:.1f}x)"
    return "report.html written" if "report" in s else s.get("skipped", "")


def _new_manifest(config: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "command": "run",
        "config": config,
        "seeds": {"run": config["run"]["seed"]},
        "versions": {**{p: _version(p) for p in PACKAGES}, "python": platform.python_version(),
                     "ngspice": ngspice_version()},
        "git_revision": _git_revision(),
        "stages": {},
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_revision() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    rev = out.stdout.strip()
    if not rev:
        return "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                           capture_output=True, text=True, timeout=10, check=False).stdout
    return rev + ("-dirty" if dirty.strip() else "")


def _write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    tmp = run_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=float) + "\n")
    tmp.replace(run_dir / "manifest.json")
