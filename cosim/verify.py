"""``cosim verify RUN_DIR``: every recorded layer of a run, macro by macro, against ngspice.

A workload run records its analog layers (:mod:`cosim.outputs.layer_records`:
the tiles' hardware, the programmed arrays, a few inputs per layer). This
module checks each macro of each of them (:func:`cosim.layers.spice_check.check_macro_of`),
one macro per task, in this process, a pool of local processes, or on a Dask
scheduler (the sweeps' executors, :mod:`cosim.sweep.executors`; with Dask the
run folder must be readable at the same path on every worker).

A layer passes when every one of its macros is within the error its backend
states; the run passes when every layer does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from circuits.errors import ConfigError
from cosim.engine.backends.calibrated import OutsideValidatedRange
from cosim.layers.spice_check import CheckOptions, check_macro_of, macros_of
from cosim.outputs.layer_records import read_layer_records
from cosim.sweep.executors import ERROR, SweepBackend


@dataclass(frozen=True, kw_only=True)
class LayerVerdict:
    """One layer's macros, summed up."""

    name: str
    rows: int
    cols: int
    cell: str
    backend: str
    macros: int
    macros_checked: int
    max_rel_error: float
    worst_macro: int
    stated_error: float
    saturated: int
    within: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def macro_points(run_dir: Path, options: CheckOptions) -> list[dict[str, Any]]:
    """One task per macro of every recorded layer of ``run_dir`` (records checked here,
    before any work)."""
    run_dir = Path(run_dir).resolve()
    records = read_layer_records(run_dir)
    skipped = [r.name for r in records if r.sim.backend == "spice"]
    if len(skipped) == len(records):
        raise ConfigError(f"every layer of {run_dir} ran on ngspice itself: nothing to check")
    return [{"run_dir": str(run_dir), "layer": k, "macro": m, **asdict(options)}
            for k, rec in enumerate(records) if rec.sim.backend != "spice"
            for m in range(macros_of(rec))]


def check_point(point: dict[str, Any]) -> dict[str, Any]:
    """A task of :func:`macro_points`: one macro checked, as a row (module-level, so a
    process pool or a Dask worker can run it)."""
    options = CheckOptions(**{k: point[k] for k in CheckOptions.__dataclass_fields__})
    rec = read_layer_records(Path(point["run_dir"]))[point["layer"]]
    with warnings.catch_warnings():  # the check states the backend's error itself
        warnings.simplefilter("ignore", OutsideValidatedRange)
        return check_macro_of(rec, point["macro"], options).as_dict()


def run_checks(points: list[dict[str, Any]], backend: SweepBackend,
               progress: Callable[[dict[str, Any]], None] | None = None
               ) -> Iterator[dict[str, Any]]:
    """Yield each macro's row as it finishes (``error`` set when a task failed)."""
    for point, row in backend.submit(check_point, points):
        row = {"layer_index": point["layer"], "macro": point["macro"], **row}
        if progress is not None:
            progress(row)
        yield row


def layer_verdicts(rows: list[dict[str, Any]], run_dir: Path) -> list[LayerVerdict]:
    """Per layer: the worst macro's error and whether every macro was within its stated
    error (a failed task is not within)."""
    records = read_layer_records(run_dir)
    out = []
    for k, rec in enumerate(records):
        mine = [r for r in rows if r["layer_index"] == k]
        if not mine:
            continue
        ok = [r for r in mine if ERROR not in r]
        worst = max(ok, key=lambda r: r["max_rel_error"]) if ok else None
        out.append(LayerVerdict(
            name=rec.name, rows=rec.array.rows, cols=rec.array.cols,
            cell=rec.hardware.cell.kind.name, backend=rec.sim.backend,
            macros=macros_of(rec), macros_checked=len(ok),
            max_rel_error=worst["max_rel_error"] if worst else float("nan"),
            worst_macro=worst["macro"] if worst else -1,
            stated_error=worst["stated_error"] if worst else float("nan"),
            saturated=sum(int(r["saturated"]) for r in ok),
            within=bool(ok) and len(ok) == len(mine) and all(r["within"] for r in ok)))
    return out
