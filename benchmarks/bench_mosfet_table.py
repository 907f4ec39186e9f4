"""Benchmark of the first 1T1R MVM of a fresh process: the BSIM4 table's set-up cost.

Each case runs in a fresh child process (``--processes`` of each, medians
printed) on an N x N 1T1R array (FreePDK45 BSIM4 access NMOS, 1 ohm wire
segments, conductances uniform in [HRS, LRS]):

- ``cold``: an empty cache folder (``$COSIM_CACHE_DIR`` set to a new temporary
  folder), so the first extraction builds the BSIM4 I-V table with ngspice;
- ``warm``: the folder the cold runs filled, so the table is read from disk.

Figures of each child:

- ``import_s``: importing the solver;
- ``first_s``: the first ``nodal.transfer_matrix`` plus one MVM
  (``Transfer.apply`` of one vector): what a user's first 1T1R MVM costs;
- ``extract_s``: the same again with the table in memory (median of 3): the
  extraction alone;
- ``setup_s = first_s - extract_s``: what the table costs the first MVM
  (target: at most 2 s with a warm cache).

Run from the project root::

    python benchmarks/bench_mosfet_table.py               # 64 x 64, 3 processes each
    python benchmarks/bench_mosfet_table.py --n 128 --processes 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(n: int) -> dict[str, float]:
    """Measure one fresh process (run with ``--child``)."""
    t0 = time.perf_counter()
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from circuits.crossbar import CrossbarParams
    from circuits.devices import TAOX_40NM
    from cosim.engine import nodal

    t1 = time.perf_counter()
    rng = np.random.default_rng(n)
    g = rng.uniform(TAOX_40NM.g_hrs_siemens, TAOX_40NM.g_lrs_siemens, size=(n, n))
    p = CrossbarParams(g_siemens=g, cell="1T1R", r_wire_bl_ohm=1.0, r_wire_sl_ohm=1.0)
    v = rng.uniform(0.0, 0.1, size=(1, n))

    def first_mvm() -> None:
        nodal.transfer_matrix(p).apply(v)

    t2 = time.perf_counter()
    first_mvm()
    first = time.perf_counter() - t2
    again = []
    for _ in range(3):
        t3 = time.perf_counter()
        first_mvm()
        again.append(time.perf_counter() - t3)
    extract = statistics.median(again)
    return {"import_s": t1 - t0, "first_s": first, "extract_s": extract,
            "setup_s": first - extract}


def run_child(n: int, cache_dir: Path) -> dict[str, float]:
    env = dict(os.environ, COSIM_CACHE_DIR=str(cache_dir))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    out = subprocess.run([sys.executable, __file__, "--child", "--n", str(n)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64, help="rows and columns of the array")
    ap.add_argument("--processes", type=int, default=3, help="fresh processes per case")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    if args.child:
        print(json.dumps(child(args.n)))
        return
    print(f"# first 1T1R MVM of a fresh process, {args.n} x {args.n}; {os.cpu_count()} CPUs; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rows: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="bench-mos-table-") as tmp:
        for i in range(args.processes):
            cold_dir = Path(tmp) / f"cold{i}"
            rows["cold"].append(run_child(args.n, cold_dir))
            print("cold", json.dumps(_rounded(rows["cold"][-1])), flush=True)
            rows["warm"].append(run_child(args.n, cold_dir))
            print("warm", json.dumps(_rounded(rows["warm"][-1])), flush=True)
    for case, runs in rows.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{case} median of {len(runs)}: " + "  ".join(f"{k} {v:.3f}" for k, v in
                                                             med.items()))
    print(f"# load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _rounded(row: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in row.items()}


if __name__ == "__main__":
    main()
