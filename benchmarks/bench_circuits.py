"""Wall time of the circuits the toolkit simulates most, through ``circuits.runner``.

- one ngspice operating point of n x n crossbars (16, 32, 64) with 1 ohm wire
  segments, 0T1R (resistors only) and 1T1R (FreePDK45 BSIM4 access NMOS);
- a 100-point DC sweep of the VCMAC stage bench (log-spaced input currents,
  the default ``CurrentSweep``: 0.1 uA .. 10 uA).

Each figure is the median wall time over repeats of one whole run (write deck,
start ngspice, solve, read the raw file). ngspice's own accounting
(``.options acct``) splits off the time it spends reordering the sparse
matrix, which dominates large crossbars. Prints a markdown table.

Usage::

    .venv/bin/python benchmarks/bench_circuits.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from circuits.analyses import Analysis, Op  # noqa: E402
from circuits.crossbar import CrossbarParams, crossbar  # noqa: E402
from circuits.devices import TAOX_40NM  # noqa: E402
from circuits.netlist import Netlist  # noqa: E402
from circuits.runner import ngspice_version, run  # noqa: E402
from circuits.vcmac import CurrentSweep, VCMACParams, vcmac_stage  # noqa: E402

SWEEP_POINTS = 100


def crossbar_case(n: int, cell: str, seed: int = 1) -> tuple[Netlist, Analysis]:
    """An n x n crossbar with random conductances, 1 ohm segments, and an op."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(TAOX_40NM.g_hrs_siemens, TAOX_40NM.g_lrs_siemens, size=(n, n))
    p = CrossbarParams(g_siemens=g, cell=cell, r_wire_bl_ohm=1.0, r_wire_sl_ohm=1.0)
    x = rng.uniform(0.0, 0.2, size=n)
    return crossbar(p, v_in_volt=x), Op()


def vcmac_case() -> tuple[Netlist, Analysis]:
    """The VCMAC stage bench swept over SWEEP_POINTS log-spaced input currents."""
    sweep = CurrentSweep(points=SWEEP_POINTS)
    return vcmac_stage(VCMACParams(), sweep=sweep), sweep.analysis()


Case = Callable[[], tuple[Netlist, Analysis]]


def time_case(make: Case, repeats: int) -> tuple[float, float, float, int]:
    """Median and minimum wall time (s) of ``run`` over ``repeats``, median
    matrix-reorder time (s) reported by ngspice, and points per run."""
    net, analysis = make()
    net = Netlist(net.title, net.body + (".options acct",), net.models)
    times, reorder, points = [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = run(net, analysis)
        times.append(time.perf_counter() - t0)
        reorder.append(_acct(res.log, "Matrix reorder time"))
        points = len(res.data)
    return statistics.median(times), min(times), statistics.median(reorder), points


def _acct(log: str, key: str) -> float:
    """A figure of ngspice's ``.options acct`` report (NaN when absent)."""
    match = re.search(rf"{key}\s*=\s*([0-9.eE+-]+)", log)
    return float(match.group(1)) if match else float("nan")


def cases(quick: bool) -> list[tuple[str, Case, bool]]:
    """``(name, make, slow)``; slow cases run once in ``--quick`` mode."""
    sizes = (16,) if quick else (16, 32, 64)
    out = [(f"crossbar {n}x{n} {cell}, op", lambda n=n, cell=cell: crossbar_case(n, cell), False)
           for cell in ("0T1R", "1T1R") for n in sizes]
    out.append((f"VCMAC stage, {SWEEP_POINTS}-point DC sweep", vcmac_case, True))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="16x16 only, 3 repeats (the VCMAC sweep once)")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    repeats = args.repeats or (3 if args.quick else 5)
    print(f"# ngspice wall time per run ({ngspice_version()}, batch mode, 1 process)")
    print(f"median and minimum over {repeats} repeats"
          + (" (slow cases once)" if args.quick else "") + "\n")
    print("| circuit | points | runs | median (s) | min (s) | of which matrix reorder (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, make, slow in cases(args.quick):
        n = 1 if (slow and args.quick and not args.repeats) else repeats
        med, best, reorder, points = time_case(make, n)
        print(f"| {name} | {points} | {n} | {med:.3f} | {best:.3f} | {reorder:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
