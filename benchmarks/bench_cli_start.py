"""How long ``cosim`` takes to start: wall time of whole ``cosim ARGS`` processes that
do no work (help, a listing, an unknown command), median of ``--repeats`` runs each.

The command line loads a command's module only when the command is used
(``cosim.commands.COMMANDS``); ``cosim --help`` loads every one of them for their
summaries. Run it with nothing else on the machine: a busy core shows up directly.

Usage::

    .venv/bin/python benchmarks/bench_cli_start.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CASES = (
    ("--help",),
    ("no-such-command",),
    ("hardware", "list"),
    ("netlist", "--help"),
    ("mvm", "--help"),
    ("haq", "--help"),
    ("snn", "--help"),
    ("run", "--help"),
)
"""The argument lists timed (each exits at once: help, a listing or a usage error)."""


def time_once(argv: tuple[str, ...]) -> float:
    """Wall seconds of one ``cosim argv`` process (exit 0, or 2 for a usage error)."""
    code = "from cosim.cli import main; main()"
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                         text=True, env={**os.environ, "COSIM_THREADS": "1"}, check=False)
    elapsed = time.perf_counter() - t0
    if res.returncode not in (0, 2):
        raise SystemExit(f"cosim {' '.join(argv)} failed ({res.returncode}): {res.stderr}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    print(f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start; "
          f"median of {args.repeats} runs")
    print("| command | median (s) | min (s) | max (s) |")
    print("|---|---:|---:|---:|")
    for argv in CASES:
        times = [time_once(argv) for _ in range(args.repeats)]
        print(f"| `cosim {' '.join(argv)}` | {statistics.median(times):.2f} | "
              f"{min(times):.2f} | {max(times):.2f} |")
    print(f"# load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
