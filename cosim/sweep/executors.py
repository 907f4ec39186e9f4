"""Where sweep points run: a local process pool or a Dask distributed scheduler.

Backends implement one seam, ``submit(fn, points)``: run ``fn`` on every point and
yield ``(point, row)`` pairs as they finish, in any order. :class:`LocalBackend`
runs them in this process (one worker) or a local process pool; :class:`DaskBackend`
sends them to a Dask distributed scheduler (started with Dask's own tools), so a
sweep scales past one machine.

Faults: a point whose function raises is tried again up to ``retries`` times,
then reported failed. A worker process that dies (killed, out of memory) is
replaced and its points resubmitted; a point leaves the queue only once a pool
has accepted it, so none is lost or run twice when a pool breaks. Worker
processes end when the sweep's process dies (even by ``kill -9``).
"""

from __future__ import annotations

import ctypes
import functools
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from dataclasses import dataclass
from typing import Any, Protocol

from circuits.errors import ConfigError, SimulationError, check_range
from cosim.sweep.grid import Point, PointFn, point_key
from cosim.sweep.store import ELAPSED
from cosim.threads import thread_env


class SweepBackend(Protocol):
    """Runs sweep points somewhere; the one seam a new executor must implement."""

    def submit(self, fn: PointFn, points: Sequence[Point]) -> Iterator[tuple[Point, Mapping]]:
        """Run ``fn`` on every point; yield ``(point, row)`` as each finishes (any order)."""


ERROR = "error"
"""Key of the row a backend yields for a point that failed every attempt."""


ATTEMPTS = "attempts"


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


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)"
                      r":(\d{1,5})$")


def check_scheduler(address: str) -> str:
    """Refuse a Dask scheduler address that is not ``[tcp://]HOST:PORT``."""
    match = _ADDRESS.match(address.strip())
    if not match or not 1 <= int(match.group(1)) <= 65535:
        raise ConfigError(f"--scheduler {address!r} is not a scheduler address; write "
                          "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return address.strip()


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
