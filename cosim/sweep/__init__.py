"""Resumable parameter sweeps: a grid of points, one tidy row per point.

A sweep is a list of *points* (flat dicts of JSON scalars, e.g. ``{"amp_ratio":
1.5, "noise": 0.15, "bits": 12, "seed": 0}``) and a picklable function
``fn(point) -> dict`` that computes one point independently of the others.
:func:`run_sweep` hands the points still missing to a backend and appends
each finished row to ``points.jsonl`` in the run folder at once (flushed and
synced), so an interrupted sweep loses at most the points in flight; run
again with ``resume=True`` and it recomputes nothing already written. When
all points are done it writes the tidy table as Parquet and CSV.

Backends implement one seam, ``submit(fn, points)``: run ``fn`` on every
point and yield ``(point, row)`` pairs as they finish, in any order.
:class:`LocalBackend` runs them in this process (one worker) or a local
process pool; :class:`DaskBackend` sends them to a Dask distributed scheduler
(started with Dask's own tools: ``dask scheduler``/``dask worker``, SSH,
dask-jobqueue on SLURM, Kubernetes), so a sweep scales past one machine.

Faults: a point whose function raises is tried again up to ``retries`` times;
if it still fails its error goes to ``failed.jsonl`` and the sweep goes on
(``--resume`` tries it again later). A worker process that dies (killed, out
of memory) is replaced and its points resubmitted; a point leaves the queue
only once a pool has accepted it, so none is lost or run twice when a pool
breaks. Worker processes end when the sweep's process dies (even by
``kill -9``). On an interrupt (Ctrl-C) the table of every finished point is
written before the sweep stops.

``points.jsonl`` starts with a header line (``{"cosim_sweep": 1, ...}``) that
marks it as written by this module: ``resume`` refuses a file without it and
never truncates or rewrites one. A line that is not a valid row is reported
(by line number, a ``CosimWarning``) and left as it is, and every other row is kept;
only a last line cut short by an interrupt is removed.

The package: :mod:`.grid` (points, ranges, keys), :mod:`.executors` (local pool,
Dask), :mod:`.store` (``points.jsonl``, failed points, the table), and
:func:`run_sweep` here, which ties them together. Its public names are
re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from circuits.errors import ConfigError
from cosim.outputs.rundir import prepare_run_dir
from cosim.sweep.executors import (
    DEFAULT_RETRIES,
    ERROR,
    DaskBackend,
    LocalBackend,
    SweepBackend,
)
from cosim.sweep.grid import MAX_POINTS, Point, PointFn, grid, jsonable, parse_range, point_key
from cosim.sweep.store import (
    FAILED_FILE,
    KEY,
    ROWS_FILE,
    SweepResult,
    append_row,
    check_resumable,
    load_rows,
    open_rows,
    write_table,
)

__all__ = ["DEFAULT_RETRIES", "FAILED_FILE", "MAX_POINTS", "ROWS_FILE", "DaskBackend",
           "LocalBackend", "Point", "PointFn", "SweepBackend", "SweepResult", "check_resumable",
           "grid", "load_rows", "parse_range", "point_key", "run_sweep"]


def run_sweep(fn: PointFn, points: Sequence[Point], out_dir: Path | str, *,
              backend: SweepBackend | None = None, resume: bool = False,
              progress: bool = True, desc: str = "sweep", table_name: str = "sweep"
              ) -> SweepResult:
    """Compute every point not yet in ``out_dir``, one row written per finished point.

    Args:
        fn: ``fn(point) -> row`` (module-level, so a process pool can pickle it);
            the row's keys must not clash with the point's.
        points: the grid (see :func:`grid`); duplicates are computed once.
        out_dir: the run folder (created); rows go to ``points.jsonl``, the
            table to ``<table_name>.parquet`` and ``.csv``.
        backend: where points run; default ``LocalBackend()`` (this process).
        resume: continue a sweep already in ``out_dir``; without it a folder
            that is not empty is refused. A ``points.jsonl`` there must be one
            this module wrote (it starts with the sweep header).
        progress: show a tqdm progress bar (on stderr).
        desc: label of the progress bar.
        table_name: stem of the table files.

    Returns:
        The table and how many points were computed and skipped.

    Raises:
        ConfigError: ``out_dir`` is not empty and ``resume`` is false; ``resume``
            and it holds no sweep (:func:`check_resumable`); another run holds it;
            it cannot be written; its ``points.jsonl`` is not a sweep file.
    """

    if resume:
        check_resumable(out_dir)
    with prepare_run_dir(out_dir, resume=resume, resumable=True) as out:
        return _run_sweep(fn, points, out, backend=backend or LocalBackend(),
                          progress=progress, desc=desc, table_name=table_name)


def _run_sweep(fn: PointFn, points: Sequence[Point], out: Path, *, backend: SweepBackend,
               progress: bool, desc: str, table_name: str) -> SweepResult:
    t0 = time.perf_counter()
    keyed: dict[str, Point] = {}
    for p in points:
        keyed.setdefault(point_key(p), dict(p))
    done = open_rows(out / ROWS_FILE, table_name)
    todo = [p for k, p in keyed.items() if k not in done]
    skipped = len(keyed) - len(todo)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(keyed), initial=skipped, desc=desc, unit="pt", dynamic_ncols=True)
    computed = failed = 0
    try:
        for p, row in backend.submit(fn, todo):
            if ERROR in row:
                append_row(out / FAILED_FILE, {KEY: point_key(p), **jsonable(p), **dict(row)})
                failed += 1
                continue
            clash = set(row) & (set(p) | {KEY})
            if clash:
                raise ConfigError(f"sweep row keys {sorted(clash)} clash with point keys")
            record = {KEY: point_key(p), **jsonable(p), **jsonable(dict(row))}
            append_row(out / ROWS_FILE, record)
            done[record[KEY]] = record
            computed += 1
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        table = write_table(out, table_name, [done[k] for k in keyed if k in done])
    return SweepResult(table=table, computed=computed, failed=failed, skipped=skipped,
                       out_dir=out, elapsed_s=time.perf_counter() - t0)
