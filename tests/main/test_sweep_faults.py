"""Sweeps on Dask and under faults: a lost worker, a failing point, an interrupt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError, SimulationError
from cosim.cli import main
from cosim.sweep import FAILED_FILE, ROWS_FILE, DaskBackend, LocalBackend, grid, run_sweep
from tests import PROJECT_ROOT

# A hang (a cluster that lost every worker, a pool that never answers) fails the test
# instead of stalling the whole run.
pytestmark = pytest.mark.timeout(300)

# Dask workers unpickle these test functions by value (this module is not importable there).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _square(point):
    """Counts its calls in files, so a test can tell what was recomputed."""
    marker = Path(point["dir"]) / f"calls-{point['x']}"
    with open(marker, "a") as f:
        f.write(".")
    return {"y": point["x"] ** 2}


def _dies_once(point):
    """Kills its own worker process the first time point x == 3 runs."""
    flag = Path(point["dir"]) / "killed"
    if point["x"] == 3 and not flag.exists():
        flag.write_text("1")
        os._exit(1)
    return _square(point)


def _fails(point):
    if point["x"] == 2:
        raise RuntimeError("ngspice did not converge (simulated failure)")
    return _square(point)


def _points(tmp_path, n=8):
    return grid({"x": list(range(n))}, dir=str(tmp_path))


def _calls(tmp_path, x):
    path = tmp_path / f"calls-{x}"
    return len(path.read_text()) if path.exists() else 0


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


@pytest.mark.slow
def test_local_pool_survives_a_killed_worker(tmp_path):
    out = tmp_path / "out"
    res = run_sweep(_dies_once, _points(tmp_path), out,
                    backend=LocalBackend(workers=2), progress=False)
    assert res.failed == 0
    assert sorted(res.table["x"]) == list(range(8))  # every point exactly once
    assert list(res.table["y"]) == [x * x for x in range(8)]


@pytest.mark.slow
def test_dask_survives_a_killed_worker(tmp_path, cluster):
    out = tmp_path / "out"
    res = run_sweep(_dies_once, _points(tmp_path), out,
                    backend=DaskBackend(scheduler=cluster.scheduler_address), progress=False)
    assert (tmp_path / "killed").exists()
    assert res.failed == 0
    assert sorted(res.table["x"]) == list(range(8))
    assert res.table["x"].is_unique


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "dask"])
def test_failing_point_is_retried_recorded_and_the_sweep_goes_on(tmp_path, backend, request):
    executor = (LocalBackend(workers=2, retries=1) if backend == "local" else
                DaskBackend(scheduler=request.getfixturevalue("cluster").scheduler_address,
                            retries=1))
    out = tmp_path / "out"
    res = run_sweep(_fails, _points(tmp_path, 5), out, backend=executor, progress=False)
    assert res.failed == 1 and res.computed == 4
    assert sorted(res.table["x"]) == [0, 1, 3, 4]
    failed = pd.read_json(out / FAILED_FILE, lines=True)
    assert list(failed["x"]) == [2]
    assert "did not converge" in failed["error"][0] and failed["attempts"][0] == 2


def test_interrupt_then_resume_recomputes_nothing(tmp_path):
    class Interrupting:
        """Runs locally, then 'Ctrl-C' after three finished points."""

        def submit(self, fn, points):
            for i, p in enumerate(points):
                if i == 3:
                    raise KeyboardInterrupt
                yield p, fn(p)

    out = tmp_path / "out"
    points = _points(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(_square, points, out, backend=Interrupting(), progress=False)
    partial = pd.read_csv(out / "sweep.csv")  # a consistent table of what finished
    assert list(partial["x"]) == [0, 1, 2]
    res = run_sweep(_square, points, out, resume=True, progress=False)
    assert res.skipped == 3 and res.computed == 5
    assert all(_calls(tmp_path, x) == 1 for x in range(8))  # nothing computed twice
    assert list(res.table["x"]) == list(range(8))


HAQ_ARGS = ["sweep", "haq", "--amp-ratio", "1.3,1.5", "--write-noise", "0.1", "--bits", "6",
            "--seeds", "2", "--backend", "ideal", "--json"]


@pytest.mark.slow
def test_haq_sweep_on_dask_equals_the_local_pool(tmp_path, cluster):
    local = CliRunner().invoke(main, HAQ_ARGS + ["--workers", "2", "-o", str(tmp_path / "a")])
    assert local.exit_code == 0, local.output
    dask = CliRunner().invoke(main, HAQ_ARGS + ["--scheduler", cluster.scheduler_address,
                                                "-o", str(tmp_path / "b")])
    assert dask.exit_code == 0, dask.output
    a = pd.read_parquet(tmp_path / "a" / "sweep.parquet").drop(columns="elapsed_s")
    b = pd.read_parquet(tmp_path / "b" / "sweep.parquet").drop(columns="elapsed_s")
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    backend = DaskBackend(scheduler="tcp://127.0.0.1:9", timeout_s=2)
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        run_sweep(_square, _points(tmp_path, 2), tmp_path / "c", backend=backend,
                  progress=False)


# -- a pool that breaks between wait and submit -----------------------------------------


def _kills_after_zero(point):
    """Point 1 kills its worker once, a second after point 0 has finished."""
    d = Path(point["dir"])
    if point["x"] == 1 and not (d / "killed").exists():
        deadline = time.monotonic() + 30
        while not (d / "calls-0").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(1.0)
        (d / "killed").write_text("1")
        os._exit(1)
    return _square(point)


@pytest.mark.slow
def test_pool_broken_when_submit_runs_loses_no_point(tmp_path, monkeypatch):
    """Deterministic: the pool is broken (every other future failed) before the next submit."""
    import cosim.sweep.executors as sweep

    real_wait = sweep.wait
    paused = []

    def wait_then_pause(fs, **kw):
        done, rest = real_wait(fs, **kw)
        if not paused and any(f.exception() is None for f in done):
            paused.append(True)
            real_wait(fs, timeout=60)  # the worker of point 1 dies; the pool breaks
            assert all(f.done() for f in fs)
            done = {f for f in done if f.exception() is None}  # hide the failures for now
        return done, set(fs) - done

    raised = []

    class Pool(ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            try:
                return super().submit(*args, **kwargs)
            except BrokenProcessPool:
                raised.append(True)
                raise

    monkeypatch.setattr(sweep, "wait", wait_then_pause)
    monkeypatch.setattr(sweep, "ProcessPoolExecutor", Pool)
    res = run_sweep(_kills_after_zero, _points(tmp_path), tmp_path / "out",
                    backend=LocalBackend(workers=2), progress=False)
    assert paused and raised  # submit ran on the broken pool
    assert res.failed == 0 and res.computed == 8
    assert list(res.table["x"]) == list(range(8))  # every point exactly once
    rows = [json.loads(line) for line in (tmp_path / "out" / ROWS_FILE).read_text()
            .splitlines()[1:]]
    assert sorted(r["x"] for r in rows) == list(range(8))


# -- workers end with the sweep's process ----------------------------------------------


_ORPHAN_SCRIPT = """
import os, sys, time
from pathlib import Path

def slow(point):
    Path(point["dir"], f"worker-{os.getpid()}").write_text("")
    time.sleep(120)
    return {"y": 0}

if __name__ == "__main__":
    from cosim.sweep import LocalBackend, grid, run_sweep
    d = sys.argv[1]
    run_sweep(slow, grid({"x": [0, 1, 2, 3]}, dir=d), Path(d) / "out",
              backend=LocalBackend(workers=2), progress=False)
"""


def _children(pid):
    """Pids whose parent is ``pid`` (from /proc)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie no one reaped is dead


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.timeout(120)
def test_kill_9_of_the_sweep_ends_its_workers(tmp_path):
    script = tmp_path / "orphans.py"
    script.write_text(_ORPHAN_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                            cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("worker-*"))) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, "the sweep ended early"
            time.sleep(0.1)
        workers = {int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")}
        assert len(workers) == 2
        children = set(_children(proc.pid))  # the workers and the resource tracker
        assert workers <= children
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in children if _alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes left running after kill -9 of the sweep: {left}"


@pytest.mark.slow
def test_dask_sweep_stops_when_the_cluster_has_no_worker(tmp_path, monkeypatch):
    # A scheduler whose workers are all gone would wait for ever; the sweep stops with
    # one error instead, and what finished stays (here: nothing).
    distributed = pytest.importorskip("distributed")
    import cosim.sweep.executors as sweep

    monkeypatch.setattr(sweep, "POLL_S", 0.2)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as c:
        backend = DaskBackend(scheduler=c.scheduler_address, no_workers_s=1.0)
        with pytest.raises(SimulationError, match="no worker for 1 s with 3 points still due"):
            run_sweep(_square, _points(tmp_path, 3), tmp_path / "out", backend=backend,
                      progress=False)
    assert _calls(tmp_path, 0) == 0


@pytest.mark.slow
@pytest.mark.parametrize("field", ["no_workers_s", "timeout_s"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_dask_backend_refuses_bad_waits(field, value):
    with pytest.raises(ConfigError, match=field):
        DaskBackend(scheduler="tcp://127.0.0.1:8786", **{field: value})
