"""``cosim vcmac-characterise``: the VCMAC ratio of all 16 switch codes (NF paper Fig. 3d).

Run folder::

    RUN_DIR/vcmac_ratios.csv          one row per code: nominal, measured, errors
    RUN_DIR/vcmac_ratio_curves.csv    ratio at every input current of every code
    RUN_DIR/vcmac_ratios.png, .svg    measured vs nominal ratio; error vs current
    RUN_DIR/manifest.json             command, parameters, currents, ngspice version
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import click

from circuits.errors import check_int, check_range
from circuits.runner import ngspice_version
from circuits.vcmac import CODES, VCMACParams
from cosim.calibration.vcmac import (
    CURRENT_RANGE_A,
    DEFAULT_POINTS,
    MEASURED_RANGE,
    TARGET_REL_ERROR,
    default_currents,
    mean_abs_error,
    mismatch_params,
    plot_vcmac_ratios,
    summarise_vcmac,
    vcmac_ratio_curves,
    within_target,
)
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir


@click.command("vcmac-characterise")
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/vcmac-<timestamp>].")
@click.option("--points", type=int, default=DEFAULT_POINTS, show_default=True,
              help="Log-spaced input currents per code, 0.1 to 10 uA.")
@click.option("--workers", type=int, default=2, show_default=True,
              help="ngspice processes at a time.")
@click.option("--a-vt", "a_vt_mv_um", type=float, default=0.0, show_default=True,
              help="Pelgrom threshold-mismatch coefficient A_VT (mV*um); 0 = no mismatch, "
                   "3.5 = typical 40-45 nm bulk CMOS (assumed).")
@click.option("--mismatch-seed", type=int, default=0, show_default=True,
              help="Seed of the threshold shifts drawn when --a-vt > 0.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (codes and run folder) and nothing else.")
def vcmac_command(run_dir: Path | None, points: int, workers: int, a_vt_mv_um: float,
                  mismatch_seed: int, as_json: bool) -> None:
    """Sweep the VCMAC stage over input current for all 16 switch codes."""
    check_int("--points", points, 2, 100_000)
    check_int("--workers", workers, 1, 1024)
    check_range("--a-vt", a_vt_mv_um, 0.0, 100.0)
    check_int("--mismatch-seed", mismatch_seed, 0, 2**63 - 1)
    params = mismatch_params(a_vt_mv_um, mismatch_seed, VCMACParams())
    currents = default_currents(points)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("vcmac")) as run_dir:
        _characterise(run_dir, params, currents, points, workers, a_vt_mv_um, mismatch_seed,
                      as_json)


def _characterise(run_dir: Path, params: VCMACParams, currents, points: int, workers: int,
                  a_vt_mv_um: float, mismatch_seed: int, as_json: bool) -> None:
    t0 = time.perf_counter()
    if as_json:
        curves = vcmac_ratio_curves(params, currents, workers=workers)
    else:
        from tqdm import tqdm

        with tqdm(total=len(CODES), desc="VCMAC codes", unit="code", file=click.get_text_stream(
                "stderr")) as bar:
            curves = vcmac_ratio_curves(params, currents, workers=workers, progress=bar.update)
    elapsed = time.perf_counter() - t0
    summary = summarise_vcmac(curves)
    run_dir.mkdir(parents=True, exist_ok=True)
    summary.to_csv(run_dir / "vcmac_ratios.csv", index=False, float_format="%.10g")
    curves.to_csv(run_dir / "vcmac_ratio_curves.csv", index=False, float_format="%.10g")
    figures = plot_vcmac_ratios(summary, curves, run_dir / "vcmac_ratios")
    manifest = {
        "command": "vcmac-characterise",
        "params": dataclasses.asdict(params),
        "currents_a": {"min": CURRENT_RANGE_A[0], "max": CURRENT_RANGE_A[1], "points": points,
                       "spacing": "log"},
        "workers": workers,
        "ngspice": ngspice_version(),
        "elapsed_s": round(elapsed, 3),
        "within_1pct_for_nominal_1.1_to_2.0": within_target(summary),
        "mean_abs_rel_error_nominal_1.1_to_2.0": mean_abs_error(summary),
        "files": ["vcmac_ratios.csv", "vcmac_ratio_curves.csv",
                  *(p.name for p in figures)],
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if as_json:
        emit_json({
            "codes": [{"code": int(r.code), "nominal": float(r.nominal),
                       "measured": float(r.measured), "rel_error": float(r.rel_error)}
                      for r in summary.itertuples()],
            "run_dir": str(run_dir),
        })
        return
    click.echo(" code  C4 C3 C2 C1  nominal   measured   rel_error   max_rel_error")
    for r in summary.itertuples():
        click.echo(f" {r.code:4d}  {r.c4:2d} {r.c3:2d} {r.c2:2d} {r.c1:2d}  {r.nominal:7.1f}  "
                   f"{r.measured:9.5f}  {100 * r.rel_error:+9.4f} %  "
                   f"{100 * r.max_rel_error:9.4f} %")
    ok = within_target(summary)
    lo, hi = MEASURED_RANGE
    click.echo(f"codes with nominal {lo:g}..{hi:g} within {100 * TARGET_REL_ERROR:g} %: "
               f"{'yes' if ok else 'NO'} (mean |error| {100 * mean_abs_error(summary):.3f} %); "
               f"{points} currents per code in {elapsed:.1f} s")
    if a_vt_mv_um > 0:
        click.echo(f"mismatch: A_VT {a_vt_mv_um:g} mV*um, seed {mismatch_seed}")
    click.echo(f"run folder: {run_dir}")
