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

Ranges on the command line are parsed by :func:`parse_range`
(``"a:b:step"``, ``"a,b,c"`` or one value).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from circuits.errors import ConfigError, CosimWarning, SimulationError, check_range, split_items
from circuits.files import atomic_write, regular_file
from cosim.threads import thread_env

Point = dict[str, Any]
PointFn = Callable[[Point], Mapping[str, Any]]

ROWS_FILE = "points.jsonl"
KEY = "point_key"
ELAPSED = "elapsed_s"
MAX_POINTS = 1_000_000


def parse_range(text: str, name: str, *, integer: bool = False) -> list[float] | list[int]:
    """Values of a range written ``"a:b:step"`` (both ends included), ``"a,b,c"`` or ``"a"``.

    Args:
        text: the range as typed.
        name: the option, for error messages.
        integer: the values must be whole numbers (returned as ``int``).

    Returns:
        The values in order; floats are rounded to 10 decimals so ``1.1:2.5:0.1``
        gives ``1.1, 1.2, ...`` exactly as typed.

    Raises:
        ConfigError: malformed text, ``b < a``, ``step <= 0``, or too many values.
    """
    s = str(text).strip()
    if not s:
        raise ConfigError(f"{name}: empty range")

    def num(part: str) -> float:
        try:
            v = float(part)
        except ValueError:
            raise ConfigError(f"{name}: {part.strip()!r} in {s!r} is not a number "
                              f"(write a:b:step, a,b,c or one value)") from None
        if not math.isfinite(v):
            raise ConfigError(f"{name}: {part.strip()!r} in {s!r} is not finite")
        return v

    if ":" in s:
        parts = s.split(":")
        if len(parts) != 3:
            raise ConfigError(f"{name}: {s!r} must be a:b:step (three numbers)")
        a, b, step = (num(p) for p in parts)
        if step <= 0:
            raise ConfigError(f"{name}: step must be > 0 in {s!r}, got {step:g}")
        if b < a:
            raise ConfigError(f"{name}: range {s!r} ends ({b:g}) before it starts ({a:g}); "
                              f"write a:b:step with a <= b")
        count = math.floor((b - a) / step + 1e-9) + 1
        if count > MAX_POINTS:
            raise ConfigError(f"{name}: {s!r} has {count} values, more than {MAX_POINTS}")
        values = [a + k * step for k in range(count)]
    else:
        values = [num(p) for p in split_items(name, s)]
        if not values:
            raise ConfigError(f"{name}: empty list {s!r}")
    if integer:
        if any(v != int(v) for v in values):
            raise ConfigError(f"{name}: {s!r} must hold whole numbers")
        return [int(v) for v in values]
    return [round(v, 10) for v in values]


def grid(axes: Mapping[str, Sequence[Any]], **fixed: Any) -> list[Point]:
    """All combinations of ``axes`` (the last axis varies fastest), plus ``fixed`` keys."""
    for name, values in axes.items():
        if len(values) == 0:
            raise ConfigError(f"sweep axis {name!r} has no values")
    names = list(axes)
    total = math.prod(len(v) for v in axes.values())
    if total > MAX_POINTS:
        raise ConfigError(f"the sweep has {total} points, more than {MAX_POINTS}")
    return [{**dict(zip(names, combo, strict=True)), **fixed}
            for combo in itertools.product(*(axes[n] for n in names))]


def point_key(point: Mapping[str, Any]) -> str:
    """Stable identity of a point: hash of its canonical JSON (sorted keys)."""
    text = json.dumps(_jsonable(point), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    return obj


class SweepBackend(Protocol):
    """Runs sweep points somewhere; the one seam a new executor must implement."""

    def submit(self, fn: PointFn, points: Sequence[Point]) -> Iterator[tuple[Point, Mapping]]:
        """Run ``fn`` on every point; yield ``(point, row)`` as each finishes (any order)."""


ERROR = "error"
"""Key of the row a backend yields for a point that failed every attempt."""
ATTEMPTS = "attempts"
FAILED_FILE = "failed.jsonl"
DEFAULT_RETRIES = 2


def _timed(fn: PointFn, point: Point, retries: int = DEFAULT_RETRIES) -> dict[str, Any]:
    """``fn(point)`` with its wall time; after ``retries`` failed retries, an error row."""
    for attempt in range(1, retries + 2):
        t0 = time.perf_counter()
        try:
            row = dict(fn(point))
        except Exception as exc:  # noqa: BLE001 - any failure of one point is recorded
            if attempt > retries:
                return {ERROR: f"{type(exc).__name__}: {exc}".splitlines()[0],
                        ATTEMPTS: attempt}
            continue
        row.setdefault(ELAPSED, time.perf_counter() - t0)
        return row
    raise AssertionError("unreachable")


PARENT_POLL_S = 0.5
"""How often a worker checks that the process that started it is alive (s)."""


def _worker_init(parent_pid: int, threads: int) -> None:
    """Initialiser of a pool worker: cap its BLAS threads, end it when its parent dies.

    On Linux the kernel sends the worker SIGTERM when its parent exits
    (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also polls the
    parent pid, so a ``kill -9`` of the sweep leaves no worker (nor the
    resource tracker, which ends with the last process holding its pipe).
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="cosim-parent-watch").start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


@dataclass(frozen=True, kw_only=True)
class LocalBackend:
    """This process (``workers=1``) or a pool of local worker processes.

    Workers are started with ``spawn`` and their BLAS capped at
    ``threads_per_worker`` threads (environment at start and ``threadpoolctl``),
    so ``workers`` processes on as many cores do not oversubscribe them (a
    forked child would inherit this process's BLAS thread pool instead). When a
    worker process dies the pool is replaced and the points it held are
    resubmitted (each resubmission counts as a retry). Workers end when this
    process dies.

    Attributes:
        workers: processes computing points at once; 1 runs in this process.
        threads_per_worker: BLAS threads of each worker process.
        retries: extra attempts of a point that fails before it is recorded as failed.
    """

    workers: int = 1
    threads_per_worker: int = 1
    retries: int = DEFAULT_RETRIES

    def __post_init__(self) -> None:
        for name in ("workers", "threads_per_worker"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
            check_range(name, value, 1, 1024)
        check_range("retries", self.retries, 0, 100)

    def submit(self, fn: PointFn, points: Sequence[Point]) -> Iterator[tuple[Point, Mapping]]:
        if self.workers == 1 or len(points) <= 1:
            for p in points:
                yield p, _timed(fn, p, self.retries)
            return
        queue = deque(points)
        lost: dict[str, int] = {}
        idle_pools = 0
        while queue:
            broken: list[Point] = []
            accepted = yield from self._pool_run(fn, queue, broken)
            idle_pools = 0 if accepted else idle_pools + 1
            if idle_pools >= 3:
                raise RuntimeError("three process pools in a row accepted no sweep point")
            for p in broken:
                key = point_key(p)
                lost[key] = lost.get(key, 0) + 1
                if lost[key] > self.retries:
                    yield p, {ERROR: "worker process died on every attempt",
                              ATTEMPTS: lost[key]}
                else:
                    queue.append(p)

    def _new_pool(self, n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init,
                                   initargs=(os.getpid(), self.threads_per_worker))

    def _pool_run(self, fn: PointFn, queue: deque[Point], broken: list[Point]
                  ) -> Generator[tuple[Point, Mapping], None, int]:
        """Run points from ``queue`` in one pool until it is empty or the pool breaks.

        A point leaves ``queue`` only when the pool has accepted it, so a pool
        that breaks before or during a submit loses nothing: the point stays
        queued. Points accepted by a pool that then broke go to ``broken``.

        Returns:
            How many points the pool accepted.
        """
        pool = self._new_pool(min(self.workers, len(queue)))
        running: dict[Future, Point] = {}
        pool_ok = True
        accepted = 0

        def fill() -> bool:
            nonlocal accepted
            # Keep at most 2 x workers in flight so an interrupt loses little.
            while queue and len(running) < 2 * self.workers:
                try:
                    with thread_env(self.threads_per_worker):  # workers start on submits
                        fut = pool.submit(_timed, fn, queue[0], self.retries)
                except (BrokenExecutor, RuntimeError):  # broken, or shut down as it broke
                    return False
                running[fut] = queue.popleft()
                accepted += 1
            return True

        try:
            pool_ok = fill()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    p = running.pop(fut)
                    try:
                        row = fut.result()
                    except BrokenExecutor:
                        pool_ok = False
                        broken.append(p)
                        continue
                    except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable row
                        row = {ERROR: f"{type(exc).__name__}: {exc}".splitlines()[0],
                               ATTEMPTS: 1}
                    yield p, row
                if pool_ok:
                    pool_ok = fill()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return accepted


POLL_S = 5.0
"""How often a Dask sweep with nothing finished checks that its cluster has workers (s)."""


@dataclass(frozen=True, kw_only=True)
class DaskBackend:
    """Points as tasks on a Dask distributed cluster.

    The cluster is the user's: start it with Dask's own tools and pass the
    scheduler's address. Every point is one task (keyed by its point key);
    results stream back as they finish. Dask reschedules the tasks of a
    worker that is lost; a point whose function raises is retried in the
    worker (``retries``) and then reported as failed.

    Attributes:
        scheduler: address of the scheduler, e.g. ``tcp://10.0.0.5:8786``.
        retries: extra attempts of a failing point.
        timeout_s: how long to wait for the scheduler to answer.
        no_workers_s: how long the cluster may have no worker at all while
            points are still due before the sweep stops with an error (a
            scheduler whose workers are all gone would otherwise wait for
            ever); finished rows are kept, ``--resume`` continues.
    """

    scheduler: str
    retries: int = DEFAULT_RETRIES
    timeout_s: float = 30.0
    no_workers_s: float = 120.0

    def __post_init__(self) -> None:
        if not isinstance(self.scheduler, str) or not self.scheduler.strip():
            raise ConfigError("--scheduler needs an address such as tcp://host:8786")
        check_range("retries", self.retries, 0, 100)
        check_range("timeout_s", self.timeout_s, 0.0, 3600.0, lo_open=True)
        check_range("no_workers_s", self.no_workers_s, 0.0, 7 * 24 * 3600.0, lo_open=True)

    def submit(self, fn: PointFn, points: Sequence[Point]) -> Iterator[tuple[Point, Mapping]]:
        from distributed import Client, wait

        try:
            client = Client(self.scheduler, timeout=self.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {self.scheduler!r}: "
                              f"{exc}") from None
        with client:
            task = functools.partial(_timed, fn, retries=self.retries)
            keys = [f"cosim-point-{point_key(p)}" for p in points]
            futures = client.map(task, list(points), key=keys, pure=False)
            by_key = {f.key: p for f, p in zip(futures, points, strict=True)}
            pending = set(futures)
            idle_since: float | None = None
            while pending:
                try:
                    done, pending = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
                except TimeoutError:  # distributed's wait raises when nothing finished
                    done = set()
                if not done:
                    idle_since = self._check_workers(client, idle_since, len(pending))
                    continue
                idle_since = None
                for fut in done:
                    yield by_key[fut.key], self._row(fut)

    def _row(self, fut: Any) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker
            return {ERROR: f"{type(exc).__name__}: {exc}".splitlines()[0],
                    ATTEMPTS: self.retries + 1}

    def _check_workers(self, client: Any, idle_since: float | None, due: int) -> float | None:
        """Raise once the cluster has had no worker for ``no_workers_s``."""
        if client.scheduler_info().get("workers"):
            return None
        now = time.monotonic()
        if idle_since is None:
            return now
        if now - idle_since > self.no_workers_s:
            raise SimulationError(f"the Dask cluster at {self.scheduler} has had no worker for "
                                  f"{self.no_workers_s:g} s with {due} points still due; start "
                                  "workers and run again with --resume")
        return idle_since


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes:
        table: one row per requested point, in grid order (point keys first).
        computed: points computed in this call.
        failed: points that failed every attempt in this call (in ``failed.jsonl``).
        skipped: points already written by a previous run and not recomputed.
        out_dir: the run folder.
        elapsed_s: wall time of this call (s).
    """

    table: pd.DataFrame
    computed: int
    failed: int
    skipped: int
    out_dir: Path
    elapsed_s: float


HEADER = "cosim_sweep"
"""Key of the header record, the first line of every ``points.jsonl`` this module writes."""
FORMAT_VERSION = 1


@dataclass(frozen=True)
class RowsFile:
    """What :func:`read_rows` found in a ``points.jsonl``.

    Attributes:
        rows: the valid rows, by point key (a later row of a key wins).
        bad_lines: 1-based numbers of the lines (after the header) that are not
            valid rows; left in the file as they are.
        torn_at: byte offset of a last line cut short (no newline) that is not
            a valid row, or ``None``.
        unterminated: the last line is a valid row but has no newline.
    """

    rows: dict[str, dict[str, Any]]
    bad_lines: tuple[int, ...] = ()
    torn_at: int | None = None
    unterminated: bool = False


def read_rows(path: Path) -> RowsFile:
    """Read a ``points.jsonl`` written by :func:`run_sweep`, without changing it.

    Raises:
        ConfigError: the file does not start with the cosim sweep header (it was
            not written by this module, or by a version before the header).
    """
    path = regular_file(path, "sweep rows")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = data.splitlines(keepends=True)
    if not lines or not _is_header(lines[0]):
        raise ConfigError(f"{path} is not a cosim sweep file (its first line is not the "
                          f'{{"{HEADER}": ...}} header); refusing to resume into it: '
                          f"choose another output folder")
    rows: dict[str, dict[str, Any]] = {}
    bad: list[int] = []
    pos = len(lines[0])
    torn_at = None
    unterminated = False
    for number, line in enumerate(lines[1:], start=2):
        start, pos = pos, pos + len(line)
        last = not line.endswith(b"\n")
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            row = None
        if isinstance(row, dict) and isinstance(row.get(KEY), str):
            rows[row[KEY]] = row
            unterminated = last
        elif last:
            torn_at = start
        elif line.strip():
            bad.append(number)
    return RowsFile(rows=rows, bad_lines=tuple(bad), torn_at=torn_at,
                    unterminated=unterminated)


def _is_header(line: bytes) -> bool:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return line.endswith(b"\n") and isinstance(obj, dict) and HEADER in obj


def load_rows(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Rows already written to ``out_dir/points.jsonl``, by point key (none if no file).

    Reads only; see :func:`read_rows`.
    """
    path = Path(out_dir) / ROWS_FILE
    return read_rows(path).rows if path.exists() else {}


def _open_rows(path: Path, table_name: str) -> dict[str, dict[str, Any]]:
    """Rows of the sweep in ``path`` (resumed), or a new file with its header.

    Warns (``CosimWarning``) of lines that are not rows (they stay in the file), and
    removes only a last line cut short by an interrupt, so new rows append
    cleanly.
    """
    if not path.exists():
        header = {HEADER: FORMAT_VERSION, "table": table_name,
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write(path, json.dumps(header) + "\n")  # a points.jsonl starts with its header
        return {}
    found = read_rows(path)
    if found.bad_lines:
        numbers = ", ".join(map(str, found.bad_lines[:20]))
        more = f" and {len(found.bad_lines) - 20} more" if len(found.bad_lines) > 20 else ""
        warnings.warn(f"{path}: line{'s' if len(found.bad_lines) > 1 else ''} {numbers}"
                      f"{more} {'are' if len(found.bad_lines) > 1 else 'is'} not a valid "
                      f"sweep row; left as is, every other row kept, and the points missing "
                      f"are recomputed", CosimWarning, stacklevel=3)
    if found.torn_at is not None:
        warnings.warn(f"{path}: dropped a last line cut short by an interrupt", CosimWarning,
                      stacklevel=3)
        with open(path, "r+b") as f:
            f.truncate(found.torn_at)
    elif found.unterminated:
        with open(path, "ab") as f:
            f.write(b"\n")
    return found.rows


def check_resumable(out_dir: Path | str) -> Path:
    """Refuse ``--resume`` into a folder that holds no sweep (checked before it is created).

    Raises:
        ConfigError: ``out_dir`` has no ``points.jsonl`` (missing, empty, or other files).
    """
    out = Path(out_dir)
    if not (out / ROWS_FILE).exists():
        what = "does not exist" if not out.exists() else f"holds no {ROWS_FILE}"
        raise ConfigError(f"--resume: {out} {what}, so it is not a sweep to resume; leave "
                          f"out --resume to start one in a new or empty folder")
    return out


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
    from cosim.outputs.rundir import prepare_run_dir

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
    done = _open_rows(out / ROWS_FILE, table_name)
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
                _append(out / FAILED_FILE, {KEY: point_key(p), **_jsonable(p), **dict(row)})
                failed += 1
                continue
            clash = set(row) & (set(p) | {KEY})
            if clash:
                raise ConfigError(f"sweep row keys {sorted(clash)} clash with point keys")
            record = {KEY: point_key(p), **_jsonable(p), **_jsonable(dict(row))}
            _append(out / ROWS_FILE, record)
            done[record[KEY]] = record
            computed += 1
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        table = _write_table(out, table_name, [done[k] for k in keyed if k in done])
    return SweepResult(table=table, computed=computed, failed=failed, skipped=skipped,
                       out_dir=out, elapsed_s=time.perf_counter() - t0)


def _append(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line and sync it, so an interrupt cannot lose it."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _write_table(out: Path, table_name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy table of the finished points (grid order), as Parquet and CSV."""
    table = pd.DataFrame(rows)
    if KEY in table.columns:
        table = table.drop(columns=[KEY])
    table.to_parquet(out / f"{table_name}.parquet", index=False)
    table.to_csv(out / f"{table_name}.csv", index=False)
    return table
