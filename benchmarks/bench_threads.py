"""Two ``cosim run`` at once: capped BLAS threads (the default) against no cap.

Each process used to start one BLAS thread per core, so two runs on a
two-core machine ran four busy threads on two cores and each took several
times longer than a run alone. ``cosim run`` now caps them (``--threads``,
``COSIM_THREADS``, default 1). For each setting this script runs ``cosim
run`` (a quick config) alone, then two at once into different folders, and
prints the median wall time of each and the ratio (two at once / alone); the
target is at most 2.5x on two cores. The load average before and after is
printed too: other work on the machine skews the figures.

Usage::

    .venv/bin/python benchmarks/bench_threads.py [--repeats N] [--stages haq,report] [--full]

``--full`` runs the embedded default config instead of the quick one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COSIM = [sys.executable, "-c", "from cosim.cli import main; main()"]
QUICK = ["--set", "vcmac.points=12", "--set", "haq.read_cycles=100", "--set",
         "report.simulate=false", "--no-progress"]
SETTINGS = {"capped (default, 1 thread)": [], "no cap (old behaviour)": ["--threads", "0"]}
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                          "COSIM_THREADS")}


def _start(out: Path, extra: list[str], stages: str) -> subprocess.Popen:
    return subprocess.Popen([*COSIM, "run", "--stages", stages, *extra, "-o", str(out)],
                            cwd=ROOT, env=CLEAN_ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait(proc: subprocess.Popen, t0: float) -> float:
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"cosim run failed:\n{err}")
    return time.perf_counter() - t0


def _runs(n: int, extra: list[str], stages: str, tmp: Path) -> list[float]:
    """Wall times of ``n`` runs started together."""
    t0 = time.perf_counter()
    procs = [_start(Path(tempfile.mkdtemp(dir=tmp)) / "run", extra, stages) for _ in range(n)]
    return [_wait(p, t0) for p in procs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--stages", default="tia,vcmac,haq,report")
    ap.add_argument("--full", action="store_true", help="the default config, not the quick one")
    args = ap.parse_args()
    config = ["--no-progress"] if args.full else QUICK
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.2f}; "
          f"{'default' if args.full else 'quick'} config, stages {args.stages}; "
          f"{args.repeats} repeats; median wall time per run")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in SETTINGS.items():
            alone, pair = [], []
            for _ in range(args.repeats):
                alone += _runs(1, config + extra, args.stages, Path(tmp))
                pair += _runs(2, config + extra, args.stages, Path(tmp))
            rows.append((name, statistics.median(alone), statistics.median(pair), max(pair)))
    print(f"{'threads':30s} {'alone (s)':>10s} {'two at once (s)':>16s} {'worst (s)':>10s} "
          f"{'ratio':>6s}")
    for name, a, p, worst in rows:
        print(f"{name:30s} {a:10.1f} {p:16.1f} {worst:10.1f} {p / a:5.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
