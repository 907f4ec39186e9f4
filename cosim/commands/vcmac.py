"""``cosim vcmac-characterise``: the VCMAC ratio of all 16 switch codes (NF paper Fig. 3d).

Run folder::

    RUN_DIR/vcmac_ratios.csv          one row per code: nominal, measured, errors
    RUN_DIR/vcmac_ratio_curves.csv    ratio at every input current of every code
    RUN_DIR/vcmac_ratios.png, .svg    measured vs nominal ratio; error vs current
    RUN_DIR/manifest.json             command, parameters, currents, ngspice version
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import click

from circuits.errors import ConfigError, check_int
from circuits.vcmac import CODES
from cosim.calibration.vcmac import (
    CURRENT_RANGE_A,
    MEASURED_RANGE,
    TARGET_REL_ERROR,
    VcmacJob,
    mean_abs_error,
    run_vcmac_job,
    within_target,
)
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir
from cosim.outputs.vcmac import write_vcmac


def _default(name: str):
    """The default of a ``VcmacJob`` field: one place for the ``[vcmac]`` section and the CLI."""
    return VcmacJob.__dataclass_fields__[name].default


_OPTIONS = {"points": "--points", "a_vt_mv_um": "--a-vt", "mismatch_seed": "--mismatch-seed"}


@click.command("vcmac-characterise")
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/vcmac-<timestamp>].")
@click.option("--points", type=int, default=_default("points"), show_default=True,
              help="Log-spaced input currents per code, 0.1 to 10 uA.")
@click.option("--workers", type=int, default=2, show_default=True,
              help="ngspice processes at a time.")
@click.option("--a-vt", "a_vt_mv_um", type=float, default=_default("a_vt_mv_um"),
              show_default=True,
              help="Pelgrom threshold-mismatch coefficient A_VT (mV*um); 0 = no mismatch, "
                   "3.5 = typical 40-45 nm bulk CMOS (assumed).")
@click.option("--mismatch-seed", type=int, default=_default("mismatch_seed"), show_default=True,
              help="Seed of the threshold shifts drawn when --a-vt > 0.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (codes and run folder) and nothing else.")
def vcmac_command(run_dir: Path | None, points: int, workers: int, a_vt_mv_um: float,
                  mismatch_seed: int, as_json: bool) -> None:
    """Sweep the VCMAC stage over input current for all 16 switch codes."""
    try:
        job = VcmacJob(points=points, a_vt_mv_um=a_vt_mv_um, mismatch_seed=mismatch_seed)
    except ConfigError as exc:  # name the option the user typed, not the field
        msg = str(exc)
        for field, option in _OPTIONS.items():
            if msg.startswith(field):
                msg = option + msg[len(field):]
        raise ConfigError(msg) from None
    check_int("--workers", workers, 1, 1024)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("vcmac")) as run_dir:
        _characterise(run_dir, job, workers, as_json)


def _characterise(run_dir: Path, job: VcmacJob, workers: int, as_json: bool) -> None:
    t0 = time.perf_counter()
    if as_json:
        summary, curves = run_vcmac_job(job, workers=workers)
    else:
        from tqdm import tqdm

        with tqdm(total=len(CODES), desc="VCMAC codes", unit="code", file=click.get_text_stream(
                "stderr")) as bar:
            summary, curves = run_vcmac_job(job, workers=workers, progress=bar.update)
    elapsed = time.perf_counter() - t0
    files = write_vcmac(summary, curves, run_dir)
    write_manifest(run_dir, new_manifest(
        "vcmac-characterise", config={**dataclasses.asdict(job), "workers": workers},
        seeds={"mismatch": job.mismatch_seed}, params=dataclasses.asdict(job.params()),
        currents_a={"min": CURRENT_RANGE_A[0], "max": CURRENT_RANGE_A[1],
                    "points": job.points, "spacing": "log"},
        elapsed_s=round(elapsed, 3),
        **{"within_1pct_for_nominal_1.1_to_2.0": within_target(summary),
           "mean_abs_rel_error_nominal_1.1_to_2.0": mean_abs_error(summary)},
        files=files))
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
               f"{job.points} currents per code in {elapsed:.1f} s")
    if job.a_vt_mv_um > 0:
        click.echo(f"mismatch: A_VT {job.a_vt_mv_um:g} mV*um, seed {job.mismatch_seed}")
    click.echo(f"run folder: {run_dir}")
