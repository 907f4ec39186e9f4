"""Run folders: checked before any work, locked while a run writes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from circuits.errors import ConfigError
from cosim.cli import main
from cosim.outputs.rundir import LOCK_FILE, new_run_dir, prepare_run_dir
from cosim.pipeline import resolve_threads
from tests import PROJECT_ROOT

ROOT = PROJECT_ROOT
COSIM = [sys.executable, "-c", "from cosim.cli import main; main()"]

_HOLDER = """
import sys, time
from pathlib import Path
from cosim.outputs.rundir import prepare_run_dir
with prepare_run_dir(sys.argv[1]):
    Path(sys.argv[2]).write_text("held")
    time.sleep(120)
"""


@pytest.fixture
def held(tmp_path):
    """A run folder held by another process; yields (folder, that process)."""
    folder = tmp_path / "held"
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder), str(ready)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the holder did not start"
        time.sleep(0.05)
    yield folder, proc
    proc.kill()
    proc.wait()


def test_folder_is_created_locked_and_the_lock_removed(tmp_path):
    folder = tmp_path / "a" / "b"
    with prepare_run_dir(folder) as run_dir:
        assert run_dir == folder and folder.is_dir()
        assert (folder / LOCK_FILE).read_text().strip() == str(os.getpid())
        with prepare_run_dir(folder):  # nested in this process: shares the lock
            pass
        assert (folder / LOCK_FILE).exists()
    assert list(folder.iterdir()) == []


def test_new_run_dir_gives_distinct_empty_folders(tmp_path):
    a, b = new_run_dir("run", tmp_path), new_run_dir("run", tmp_path)
    assert a != b and a.is_dir() and b.is_dir()
    with prepare_run_dir(a):
        pass


@pytest.mark.parametrize("make, match", [
    (lambda p: "", "empty path"),
    (lambda p: "   ", "empty path"),
    (lambda p: "/proc/cosim-x", "cannot create output folder /proc/cosim-x"),
    (lambda p: (p / "f").write_text("x") and p / "f" / "run", "which is a file"),
    (lambda p: (p / "f").write_text("x") and p / "f", "is a file"),
])
def test_unusable_folder_is_one_line_error(tmp_path, make, match):
    with pytest.raises(ConfigError, match=match) as err:
        with prepare_run_dir(make(tmp_path)):
            pytest.fail("entered an unusable folder")
    assert "\n" not in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            with prepare_run_dir(folder):
                pass
    finally:
        folder.chmod(0o700)


def test_non_empty_folder_is_refused_and_left_alone(tmp_path):
    (tmp_path / "report.html").write_text("old")
    with pytest.raises(ConfigError, match=r"not empty \(holds report.html\); choose a new"):
        with prepare_run_dir(tmp_path):
            pass
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(ConfigError, match="--resume"):
        with prepare_run_dir(tmp_path, resumable=True):
            pass
    with prepare_run_dir(tmp_path, resume=True):
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_lock_left_by_a_killed_run_does_not_block(tmp_path):
    (tmp_path / LOCK_FILE).write_text("12345\n")  # no process holds it
    with prepare_run_dir(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())


def test_folder_held_by_another_process_is_refused(held):
    folder, proc = held
    with pytest.raises(ConfigError, match=rf"in use by another run \(pid {proc.pid}\)"):
        with prepare_run_dir(folder, resume=True):
            pass
    assert (folder / LOCK_FILE).exists()  # the holder's lock is left alone


def test_cosim_run_into_a_held_folder_is_refused_before_work(held):
    folder, proc = held
    r = CliRunner().invoke(main, ["run", "--stages", "tia", "--no-progress", "-o", str(folder)])
    assert r.exit_code == 2
    assert f"in use by another run (pid {proc.pid})" in r.output
    assert len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize("where", ["", "/proc/cosim-x", "file/run"])
def test_cosim_run_into_an_unusable_folder_is_refused_before_work(tmp_path, where):
    (tmp_path / "file").write_text("x")
    target = str(tmp_path / where) if where == "file/run" else where
    r = CliRunner().invoke(main, ["run", "--stages", "tia", "--no-progress", "-o", target])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1


def test_cosim_run_into_an_old_run_folder_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "report.html").write_text("stale")
    r = CliRunner().invoke(main, ["run", "--stages", "tia", "--no-progress", "-o", str(tmp_path)])
    assert r.exit_code == 2 and "is not empty" in r.output
    assert (tmp_path / "report.html").read_text() == "stale"


@pytest.mark.ngspice
@pytest.mark.timeout(300)
def test_two_cosim_runs_into_one_folder(tmp_path):
    """The second of two concurrent runs into one folder is refused; the first goes on.

    The first run is stopped (SIGSTOP) once it holds the folder, so it is still there
    however long the second takes to start on a loaded machine."""
    folder = tmp_path / "run"
    first = subprocess.Popen([*COSIM, "run", "--stages", "tia,vcmac",
                              "--no-progress", "-o", str(folder)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        lock = folder / LOCK_FILE
        while not (lock.exists() and lock.read_text().strip()):
            assert first.poll() is None and time.monotonic() < deadline, first.stdout.read()
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGSTOP)
        second = subprocess.run([*COSIM, "run", "--stages", "tia",
                                 "--no-progress", "-o", str(folder)], cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first run ended before the second was checked"
        assert second.returncode == 2
        assert f"in use by another run (pid {first.pid})" in second.stderr
    finally:
        first.kill()
        first.wait()


def test_threads_option_and_environment(monkeypatch):
    monkeypatch.delenv("COSIM_THREADS", raising=False)
    assert resolve_threads() == 1 and resolve_threads(3) == 3 and resolve_threads(0) is None
    monkeypatch.setenv("COSIM_THREADS", "2")
    assert resolve_threads() == 2 and resolve_threads(1) == 1
    monkeypatch.setenv("COSIM_THREADS", "many")
    with pytest.raises(ConfigError, match="COSIM_THREADS"):
        resolve_threads()
    with pytest.raises(ConfigError, match="--threads"):
        resolve_threads(-1)
