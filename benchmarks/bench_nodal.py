"""Benchmark of the nodal solver: factorisation, transfer-matrix extraction, MVM rate.

For each array size (square, 1 ohm wire segments, conductances uniform in
[HRS, LRS]) and cell type (0T1R exact; 1T1R linearised at 0.1 V on every row),
one child process per case measures:

- ``extract_s``: ``transfer_matrix`` by the column sweep (for 1T1R this
  includes the Newton solve of the operating point, not the one-off ngspice
  extraction of the BSIM4 table, reported as ``table_s``);
- ``sparse_extract_s`` (``--sparse``): the same matrix by one sparse solve per row;
- ``mvm_per_s``: MVMs per second through ``Transfer.apply`` in batches of 1,000;
- ``extract_peak_rss_gib``: the child's peak resident memory up to the end
  of the extraction (imports, BSIM4 table and extraction);
- ``factor_s``, ``factor_nnz``: time and size of the sparse LU of the nodal
  matrix alone in the solver's nested-dissection order; ``factor_mmd_s``,
  ``factor_mmd_nnz``: the same with SuperLU's ``MMD_AT_PLUS_A`` ordering
  (measured once); ``peak_rss_gib``: the child's peak at the end.

Medians over ``--repeats`` where a case is cheap (< 5 s). Run from the project
root::

    python benchmarks/bench_nodal.py                 # 64 128 256 512, both cells
    python benchmarks/bench_nodal.py --sizes 64 128 --cells 0T1R --sparse
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time  # noqa: E402

BATCH = 1000


def run_case(n: int, cell: str, mos: str, repeats: int, sparse: bool) -> dict[str, object]:
    """Measure one (size, cell) case in this process."""
    from circuits.crossbar import CrossbarParams
    from circuits.devices import TAOX_40NM, AccessParams
    from cosim.engine import mosfet, nodal

    rng = np.random.default_rng(n)
    g = rng.uniform(TAOX_40NM.g_hrs_siemens, TAOX_40NM.g_lrs_siemens, size=(n, n))
    p = CrossbarParams(g_siemens=g, cell=cell, access=AccessParams(model=mos))
    row: dict[str, object] = {"n": n, "cell": cell if cell == "0T1R" else f"1T1R-{mos}"}
    if cell == "1T1R":
        t0 = time.perf_counter()
        mosfet.access_model(p.access, nodal.DEFAULT_READ_VOLT)
        row["table_s"] = round(time.perf_counter() - t0, 3)
    t_extract, tr = median_time(lambda: nodal.transfer_matrix(p), repeats)
    row["extract_s"] = round(t_extract, 3)
    row["extract_peak_rss_gib"] = _peak_rss_gib()
    if sparse:
        t_sp, tr_sp = median_time(lambda: nodal.transfer_matrix(p, method="sparse"), 1)
        row["sparse_extract_s"] = round(t_sp, 3)
        row["sweep_vs_sparse_rel"] = float(np.abs(tr.M - tr_sp.M).max() / np.abs(tr.M).max())
    v = rng.uniform(0.0, 0.2, size=(BATCH, n))
    t_mvm, _ = median_time(lambda: tr.apply(v), max(repeats, 5))
    row["mvm_per_s"] = round(BATCH / t_mvm)
    row.update(_factor_figures(p, repeats))
    row["peak_rss_gib"] = _peak_rss_gib()
    return row


def _peak_rss_gib() -> float:
    """Peak resident memory of this process so far (GiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)


def _factor_figures(p: object, repeats: int) -> dict[str, object]:
    """Unknowns, time and factor size of the sparse LU of the (linearised) nodal matrix."""
    from cosim.engine import nodal

    lin = nodal._Linearised(p, nodal._operating_point(p, None, nodal.DEFAULT_READ_VOLT))
    t = lin.net.topo
    jac = lin.net.jacobian(lin.cells)[: t.n_u, : t.n_u]
    order = lin.net.order
    seconds, system = median_time(lambda: nodal.LinearSystem(jac, t.n_x, order), repeats)
    out = {"unknowns": int(t.n_x), "factor_s": round(seconds, 3),
           "factor_nnz": system.nnz_factor}
    del system
    seconds, system = median_time(lambda: nodal.LinearSystem(jac, t.n_x), 1)
    out |= {"factor_mmd_s": round(seconds, 3), "factor_mmd_nnz": system.nnz_factor}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--cells", nargs="+", default=["0T1R", "1T1R"], choices=["0T1R", "1T1R"])
    ap.add_argument("--mos", default="bsim4", choices=["bsim4", "level1"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sparse", action="store_true",
                    help="also time extraction by sparse solves (slow at 512)")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="BLAS threads of each case (sets OPENBLAS/OMP/MKL_NUM_THREADS); "
                         "1 is fastest on a shared 2-core machine")
    ap.add_argument("--one", nargs=2, metavar=("N", "CELL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule(args.blas_threads)
    if args.one:
        row = run_case(int(args.one[0]), args.one[1], args.mos, args.repeats, args.sparse)
        print(json.dumps(row))
        return
    env = dict(os.environ)
    if args.blas_threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.blas_threads)
    threads = env.get("OPENBLAS_NUM_THREADS", "default")
    print(f"# nodal solver benchmark; {os.cpu_count()} CPUs; BLAS threads {threads}; "
          f"load average {os.getloadavg()[0]:.1f}; batch {BATCH}")
    for cell in args.cells:
        for n in args.sizes:
            cmd = [sys.executable, __file__, "--one", str(n), cell, "--mos", args.mos,
                   "--repeats", str(args.repeats)] + (["--sparse"] if args.sparse else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT,
                                 env=env)
            if out.returncode != 0:
                print(f"{cell} {n}: failed\n{out.stderr[-2000:]}")
                continue
            print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
