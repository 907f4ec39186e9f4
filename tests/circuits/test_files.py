"""Inputs are regular files; outputs are written whole or not at all.

``circuits.files.regular_file`` refuses named pipes, devices and folders by
looking at them (``stat``) without opening them; ``atomic_writer`` leaves the
old file or the complete new one, never a half-written file and never its
temporary, whatever fails on the way: a full disk (the file-size limit of
the process, a real ``EFBIG`` from the kernel) or an error in the writer.
Every writer of the project that replaces a file goes through it.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from circuits.errors import ConfigError, NetlistError
from circuits.files import atomic_write, atomic_writer, checked_npz, load_npy, regular_file
from tests import PROJECT_ROOT

PROJECT = PROJECT_ROOT


# --- regular files only -------------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_a_named_pipe_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"cannot read config .*pipe\.toml: not a regular file$"):
        regular_file(fifo, "config")
    link = tmp_path / "link.toml"
    link.symlink_to(fifo)  # a link to a pipe is a pipe
    with pytest.raises(ConfigError, match="not a regular file"):
        regular_file(link, "config")


@pytest.mark.parametrize(("path", "reason"), [("/dev/null", "not a regular file"),
                                              ("/", "it is a folder"),
                                              ("/nonexistent/x.toml", "no such file")])
def test_other_paths_that_are_not_files(path: str, reason: str) -> None:
    with pytest.raises(NetlistError, match=reason):
        regular_file(Path(path), "deck", error=NetlistError)


def test_a_regular_file_and_a_link_to_one_pass(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    assert regular_file(tmp_path / "b.toml") == tmp_path / "b.toml"


# --- array headers ----------------------------------------------------------------------------

def _npy_header_only(path: Path, shape: tuple[int, ...]) -> Path:
    with path.open("wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return path


def test_npy_header_larger_than_memory_is_refused_with_the_estimate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("circuits.errors.physical_memory_bytes", lambda: 24 * 2**30)
    path = _npy_header_only(tmp_path / "huge.npy", (4096, 4096, 4096))
    with pytest.raises(ConfigError, match=r"needs about 512 GiB of memory, this machine has "
                                          r"24 GiB"):
        load_npy(path, "--volume 'huge.npy'")


def test_npy_header_larger_than_the_file_is_refused(tmp_path: Path) -> None:
    path = _npy_header_only(tmp_path / "short.npy", (10, 10))
    with pytest.raises(ConfigError, match=r"announces shape \(10, 10\) of float64 \(800 B\), "
                                          r"but the file holds 0 B"):
        load_npy(path, "data")


def test_npz_member_headers_are_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, a=np.arange(6.0), b=np.ones((2, 2)))
    with checked_npz(good, "archive") as z:
        assert z["a"].tolist() == list(range(6))
    # An archive whose member announces a million values in a few bytes.
    import zipfile

    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as zf, zf.open("a.npy", "w") as member:
        np.lib.format.write_array_header_1_0(
            member, {"descr": "<f8", "fortran_order": False, "shape": (1000, 1000)})
    with pytest.raises(ConfigError, match=r"member 'a\.npy': its header announces shape "
                                          r"\(1000, 1000\)"):
        with checked_npz(bad, "archive"):
            pass
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ConfigError, match="pickled"):
        load_npy(objects, "data")


# --- atomic writes ------------------------------------------------------------------------------

def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    atomic_write(target, "old\n")
    atomic_write(target, "new\n")
    assert target.read_text() == "new\n" and _leftovers(tmp_path) == ["manifest.json"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


@pytest.mark.parametrize("failure", ["writer", "fsync", "interrupt"])
def test_failed_write_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    target = tmp_path / "checkpoint.npz"
    atomic_write(target, b"old")
    if failure == "fsync":
        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "fsync", full)
    with pytest.raises((OSError, KeyboardInterrupt)):
        with atomic_writer(target) as f:
            f.write(b"half of the new")
            if failure == "writer":
                raise OSError(errno.ENOSPC, "No space left on device")
            if failure == "interrupt":
                raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == ["checkpoint.npz"]


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    import numpy as np
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    out = Path(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    {call}
""")

WRITERS = {
    "manifest": ("from cosim.outputs.manifest import write_manifest\n"
                 "write_manifest(out, {'x': 'a' * 200_000})"),
    "field checkpoint": (
        "from cosim.outputs.field import save_checkpoint\n"
        "from cosim.engine.options import SimOptions\n"
        "from cosim.hardware.presets import preset\n"
        "from cosim.workloads.field.field import FieldConfig\n"
        "from cosim.workloads.field.mlp import TrainState\n"
        "state = TrainState(params={'w': np.ones(100_000)}, opt_state=None, step=1,\n"
        "                   losses=np.zeros(1))\n"
        "save_checkpoint(out, FieldConfig(), preset('paper'), SimOptions(),\n"
        "                np.zeros((2, 8, 8)), state)"),
    "result cache": ("from cosim.engine.cache import ResultCache\n"
                     "ResultCache(out).put('k' * 64, {'a': np.ones(100_000)})"),
    "sweep header": ("from cosim.sweep.store import open_rows\n"
                     "open_rows(out / 'points.jsonl', 'x' * 200_000)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writer_on_a_full_disk_leaves_no_temporary(tmp_path: Path, writer: str) -> None:
    """The process's file-size limit stands in for a full disk: the kernel refuses the write."""
    out = tmp_path / "run"
    out.mkdir()
    code = FULL_DISK.format(call=WRITERS[writer])
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode != 0 and "File too large" in proc.stderr, proc.stderr[-2000:]
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert not [name for name in left if name.endswith(".tmp") or ".tmp." in name], left


def test_every_replacing_writer_goes_through_the_helper() -> None:
    """No module renames a temporary file over a target by itself."""
    pattern = re.compile(r"os\.replace\(|os\.rename\(|\.rename\((?!columns=)|"
                         r"\.replace\((?:path|target|dest)\)|mkstemp\(|[\"']\.tmp")
    offenders = []
    for root in ("circuits", "cosim", "benchmarks"):
        for path in sorted((PROJECT / root).rglob("*.py")):
            if path.name == "files.py" and path.parent.name == "circuits":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(PROJECT)}:{number}: {line.strip()}")
    assert offenders == []
