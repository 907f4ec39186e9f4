"""``cosim verify RUN_DIR``: a run's recorded layers, macro by macro, against ngspice.

Every macro of every layer the run recorded is read by the run's backend and
by ngspice in column slices (:mod:`cosim.verify`); the command exits 1 when a
layer's error exceeds the error its backend states, 0 when every layer is
within it. Writes the folder of :mod:`cosim.outputs.verify`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from circuits.errors import check_int
from cosim.layers.spice_check import CheckOptions
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import prepare_run_dir
from cosim.outputs.verify import write_macro_rows, write_verdicts
from cosim.sweep.executors import DaskBackend, LocalBackend, check_scheduler
from cosim.verify import layer_verdicts, macro_points, run_checks

_DEFAULTS = CheckOptions()


@click.command("verify")
@click.argument("run", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--out", "out_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Folder of the check [default: RUN/verify].")
@click.option("--vectors", type=int, default=_DEFAULTS.vectors, show_default=True,
              help="Recorded input vectors read per layer.")
@click.option("--slice-cols", type=int, default=_DEFAULTS.slice_cols, show_default=True,
              help="Physical columns per ngspice slice.")
@click.option("--slices", type=int, default=_DEFAULTS.slices, show_default=True,
              help="Slices checked per macro, spread over its columns; 0: every one.")
@click.option("--workers", type=int, default=None,
              help="Macros checked at once in local processes [default: the CPU count].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Check the macros on this Dask distributed scheduler (tcp://host:8786); "
                   "its workers must see RUN at the same path.")
@click.option("--timeout", "timeout_s", type=float, default=_DEFAULTS.timeout_s,
              show_default=True, help="Limit of one ngspice run (s).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_command(run: Path, out_dir: Path | None, vectors: int, slice_cols: int,
                   slices: int, workers: int | None, scheduler: str | None, timeout_s: float,
                   as_json: bool, threads: int = 1) -> None:
    """Check RUN's analog layers against ngspice, macro by macro (exit 1 when over)."""
    options = CheckOptions(vectors=vectors, slice_cols=slice_cols, slices=slices,
                           timeout_s=timeout_s)
    if workers is not None:
        check_int("--workers", workers, 1, 1024)
    if scheduler is not None:
        check_scheduler(scheduler)
    points = macro_points(run, options)  # every record checked before any work
    workers = min(workers or os.cpu_count() or 1, len(points))
    executor = (DaskBackend(scheduler=scheduler) if scheduler else
                LocalBackend(workers=workers, threads_per_worker=threads or 1, retries=0))
    out_dir = out_dir if out_dir is not None else run / "verify"
    t0 = time.perf_counter()
    rows: list[dict] = []
    with prepare_run_dir(out_dir) as out_dir:
        bar = tqdm(total=len(points), desc="verify macros", unit="macro",
                   disable=as_json, file=sys.stderr)
        with bar:
            for row in run_checks(points, executor):
                rows.append(row)
                write_macro_rows(rows, out_dir)
                bar.update(1)
        verdicts = layer_verdicts(rows, run)
        files = ["macros.csv", *write_verdicts(verdicts, out_dir)]
        passed = bool(verdicts) and all(v.within for v in verdicts)
        manifest = new_manifest(
            "verify", config={"run": str(run), **options.__dict__}, simulator=True,
            run=str(run), options=dict(options.__dict__), workers=workers,
            scheduler=scheduler or "local", macros=len(points),
            failed=sum(1 for r in rows if "error" in r), passed=passed,
            layers=[v.as_dict() for v in verdicts], files=files,
            elapsed_s=time.perf_counter() - t0)
        write_manifest(out_dir, manifest)
    if as_json:
        emit_json({**manifest, "out_dir": str(out_dir)})
    else:
        for v in verdicts:
            click.echo(f"{v.name}: {v.rows} x {v.cols} on {v.macros} macros ({v.cell}, "
                       f"{v.backend}): largest error {v.max_rel_error:.3g} of full scale, "
                       f"stated {v.stated_error:.3g}: {'within' if v.within else 'OVER'}"
                       + (f" ({v.saturated} saturated conversions left out)" if v.saturated
                          else ""))
        click.echo(f"{'passed' if passed else 'FAILED'} in {manifest['elapsed_s']:.1f} s; "
                   f"wrote {out_dir}")
    if not passed:
        sys.exit(1)
