"""Run a netlist in ngspice, out of process, and return its results as tables.

Each run happens in its own folder: the deck, the model files it includes, the
ngspice log and the raw output stay there, so a failure can be inspected. A
crash or a hang ends that one ngspice process, never the caller. ngspice is
looked up when a run starts, never at import time.

We run ngspice in batch mode (``ngspice -b -r out.raw deck.cir``) rather than
through PySpice's shared-library mode, which is no faster where it matters
(``benchmarks/bench_runner.py``; figures in ``docs/measurements/circuits.md``).

One thread per ngspice process. ngspice 39 as Debian builds it evaluates
BSIM3/BSIM4 devices with OpenMP on ``num_threads`` threads (2 by default,
whatever ``OMP_NUM_THREADS`` says), whose waiting threads spin, so two runs side
by side on 2 shared cores slow each other many times over
(``docs/measurements/amplifiers.md``). So the runner writes its own
``.spiceinit`` holding ``set num_threads=1`` into each run folder that has none
(ngspice reads it from its working folder at start-up); parallelism comes from
running several ngspice processes (``run_many``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from circuits.analyses import Analysis
from circuits.errors import ConfigError, SimulationError, format_bytes
from circuits.netlist import MODEL_DIR, Netlist
from circuits.rawfile import read_raw

LOG_TAIL_LINES = 25
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_OUTPUT_BYTES = 2 * 2**30
"""Most bytes ngspice may write into its raw file in one run."""
MAX_LOG_BYTES = 64 * 2**20
"""Most bytes ngspice may write into its log (stdout and stderr) in one run."""
KEPT_LOG_BYTES = 64 * 2**10
"""After a run is stopped for its size or time, the log keeps only its last this many bytes."""
POLL_S = 0.05
"""How often a running ngspice's output sizes are looked at (s)."""
SPICEINIT = "set num_threads=1\n"
"""The ``.spiceinit`` the runner writes into a run folder (module docstring)."""


@dataclass(frozen=True)
class SimResult:
    """Result of one ngspice run.

    Attributes:
        data: one column per saved vector (``"v(node) [V]"``, ``"i(vsrc) [A]"``,
            ``"time [s]"``, ``"v-sweep [V]"``), one row per point.
        plot_name: ngspice's name of the analysis.
        log: the whole ngspice log.
        workdir: folder holding ``deck.cir``, ``ngspice.log`` and ``out.raw``.
    """

    data: pd.DataFrame
    plot_name: str
    log: str = field(repr=False)
    workdir: Path

    def v(self, node: str) -> np.ndarray:
        """Voltage of ``node`` at every point, in volts."""
        return self._column(f"v({node.lower()}) [V]")

    def i(self, source: str) -> np.ndarray:
        """Current through voltage source ``source`` (into its + terminal), in amperes."""
        return self._column(f"i({source.lower()}) [A]")

    def _column(self, name: str) -> np.ndarray:
        if name not in self.data.columns:
            raise ConfigError(
                f"no vector {name!r} in the result; saved: {', '.join(self.data.columns[:12])}"
                + (" ..." if len(self.data.columns) > 12 else "")
            )
        return self.data[name].to_numpy()


def ngspice_executable() -> str:
    """Path of the ngspice program (``$NGSPICE`` overrides the ``PATH`` search).

    Raises:
        SimulationError: ngspice is not installed.
    """
    given = os.environ.get("NGSPICE")
    exe = shutil.which(given) if given else shutil.which("ngspice")
    if not exe:
        where = f"NGSPICE={given!r} is not an executable program" if given else \
            "ngspice not found on PATH"
        raise SimulationError(
            f"{where}; install it (Debian/Ubuntu: apt-get install ngspice) "
            "or set NGSPICE to its path"
        )
    return exe


def ngspice_version() -> str:
    """The version line of the installed ngspice, e.g. ``ngspice-39``."""
    out = subprocess.run([ngspice_executable(), "--version"], capture_output=True,
                         text=True, timeout=30, check=False).stdout
    for line in out.splitlines():
        if "ngspice-" in line:
            return line.strip("* ").split(":")[0].strip()
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def run(netlist: Netlist | str, analysis: Analysis | Sequence[str], *,
        save: Sequence[str] = (), timeout_s: float = DEFAULT_TIMEOUT_S,
        workdir: Path | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> SimResult:
    """Run one analysis of ``netlist`` in a fresh ngspice process.

    Args:
        netlist: a generated ``Netlist``, or deck text (checked by the caller).
        analysis: an ``Op``/``DC``/``Tran``, or raw analysis lines.
        save: vectors to keep (``v(out)``, ``i(vsense0)``); empty keeps all.
        timeout_s: the ngspice process is killed after this many seconds.
        workdir: folder to run in (kept); default a new temporary folder,
            removed after a successful run and kept after a failure.
        max_output_bytes: ngspice is killed as soon as its raw file grows past
            this many bytes, or its log past ``MAX_LOG_BYTES`` (looked at every
            ``POLL_S`` seconds while it runs, and once more when it ends).

    Raises:
        SimulationError: ngspice missing, failing, not converging, timing out
            or writing more than ``max_output_bytes``; then the partial raw file
            is removed and the log cut to its last ``KEPT_LOG_BYTES`` bytes.
    """
    lines = [analysis.line()] if hasattr(analysis, "line") else list(analysis)
    if save:
        lines.insert(0, ".save " + " ".join(save))
    keep = workdir is not None
    folder = Path(workdir) if keep else Path(tempfile.mkdtemp(prefix="cosim-ngspice-"))
    folder.mkdir(parents=True, exist_ok=True)
    deck = folder / "deck.cir"
    if isinstance(netlist, Netlist):
        for model in netlist.models:
            shutil.copyfile(MODEL_DIR / model, folder / model)
        deck.write_text(netlist.text(tuple(lines)))
    else:
        text = netlist.rstrip()
        if text.lower().endswith(".end"):
            text = text[: -len(".end")]
        deck.write_text(text + "\n" + "\n".join(lines) + "\n.end\n")
    result = _run_deck(deck, timeout_s, max_output_bytes)
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def run_many(jobs: Sequence[tuple[Netlist | str, Analysis]], *, workers: int = 2,
             timeout_s: float = DEFAULT_TIMEOUT_S, save: Sequence[str] = ()) -> list[SimResult]:
    """Run several independent decks, ``workers`` ngspice processes at a time.

    Each job is its own ngspice process; the threads here only wait on them.
    """
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(run, n, a, save=save, timeout_s=timeout_s) for n, a in jobs]
        return [f.result() for f in futures]


def _run_deck(deck: Path, timeout_s: float, max_output_bytes: int) -> SimResult:
    folder = deck.parent
    raw = folder / "out.raw"
    log_path = folder / "ngspice.log"
    raw.unlink(missing_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    init = folder / ".spiceinit"
    if not init.exists():
        init.write_text(SPICEINIT)
    cmd = [ngspice_executable(), "-b", "-r", raw.name, deck.name]
    with open(log_path, "wb") as log_file:
        try:
            proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=log_file,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise SimulationError(f"cannot start ngspice: {exc.strerror}",
                                  netlist_path=deck) from None
        limits = ((raw, max_output_bytes), (log_path, min(max_output_bytes, MAX_LOG_BYTES)))
        try:
            stopped = _watch(proc, timeout_s, limits)
        except BaseException:  # an interrupt: ngspice must not outlive the caller's wait
            proc.kill()
            proc.wait()
            raise
    if stopped is None:
        stopped = _oversize(limits)
    if stopped is not None:
        raw.unlink(missing_ok=True)
        _keep_tail(log_path, KEPT_LOG_BYTES)
        raise SimulationError(stopped, netlist_path=deck,
                              log_tail=_tail(_read_log(log_path)))
    log = _read_log(log_path)
    failed = proc.returncode != 0 or not raw.exists()
    if failed:
        raise SimulationError(_failure_reason(log, proc.returncode), netlist_path=deck,
                              log_tail=_tail(log))
    plots = read_raw(raw)
    plot = plots[-1]
    return SimResult(data=plot.data, plot_name=plot.name, log=log, workdir=folder)


def _watch(proc: subprocess.Popen, timeout_s: float,
           limits: tuple[tuple[Path, int], ...]) -> str | None:
    """Wait for ``proc``; kill it past ``timeout_s`` or once an output passes its limit.

    Returns:
        why it was killed, or None if it ended by itself.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            proc.wait(timeout=min(POLL_S, max(deadline - time.monotonic(), 0.0)))
            return None
        except subprocess.TimeoutExpired:
            pass
        reason = _oversize(limits)
        if reason is None and time.monotonic() >= deadline:
            reason = f"ngspice timed out after {timeout_s:g} s"
        if reason is not None:
            proc.kill()
            proc.wait()
            return reason


def _oversize(limits: tuple[tuple[Path, int], ...]) -> str | None:
    """Why an output is too large (``(file, most bytes)`` pairs), or None."""
    for path, max_bytes in limits:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size > max_bytes:
            what = "raw file" if path.suffix == ".raw" else "log"
            return (f"ngspice's {what} grew past {format_bytes(max_bytes)} (the limit of one "
                    f"run) and ngspice was stopped; ask for fewer points or save fewer vectors")
    return None


def _keep_tail(path: Path, nbytes: int) -> None:
    """Cut the file at ``path`` to its last ``nbytes`` bytes."""
    try:
        size = path.stat().st_size
        if size <= nbytes:
            return
        with open(path, "rb") as handle:
            handle.seek(size - nbytes)
            tail = handle.read(nbytes)
        path.write_bytes(b"[... earlier output cut ...]\n" + tail)
    except OSError:
        pass


def _read_log(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def _failure_reason(log: str, returncode: int) -> str:
    low = log.lower()
    if "gmin step" in low or "source stepping failed" in low or "timestep too small" in low \
            or "iteration limit" in low:
        return "ngspice did not converge"
    for line in log.splitlines():
        if line.strip().lower().startswith("error"):
            return f"ngspice error: {line.strip()}"
    return f"ngspice exited with status {returncode} and wrote no result"


def _tail(log: str) -> str:
    lines = [ln for ln in log.splitlines() if ln.strip()]
    return "\n".join(lines[-LOG_TAIL_LINES:])
