"""Speed and accuracy of the ``calibrated`` backend's 1T1R read models.

Three parts (``--parts``), each case in a fresh child process with one BLAS thread:

- ``extract``: time to build the read model of a square array (cells uniform in
  [HRS, LRS], 1.06 ohm segments, BSIM4 access transistors): ``before`` is the
  previous extraction (Newton's operating point at ``v_read / 2`` on every row, then
  the tangent by the column sweep: ``nodal.transfer_matrix(method="sweep")``);
  ``fast`` the fast model (``read_models.LocalSecant``); ``exact_setup`` the exact
  model's set-up (its kept reduction). 0T1R: the sweep against the dissection.
  The BSIM4 table comes from the cache (its one-off ngspice run is not counted);
  ``fast_first`` is the fast model's first call in the process, with the one-off
  set-up (the shape's elimination plan, the cells' bias table), the others are
  medians of the calls after it.
- ``speed``: MVMs per second of each model on ``--speed-sizes`` arrays (rows x cols),
  inputs uniform in [-1, 1] x 0.1 V: the fast model in batches of 1,000; the exact
  model on ``--exact-batch`` vectors (its cost grows linearly with the batch).
- ``accuracy``: both models against references, inputs uniform in [-1, 1] plus two
  random +-1 vectors, all +1 and all -1 (read voltage 0.1 V, cells 1-29.22 uS
  and 1-60 uS): on ``rows x 8`` blocks against ngspice with its default tolerances
  and with ``RELTOL = 1e-9, ABSTOL = 1e-18, VNTOL = 1e-12``; on a full square array
  (``--square``) against Newton's method (``nodal.solve``, sparse LU) on a few
  vectors. Errors are ``max|y - y_ref| / max|y_ref|`` (of full scale).

Run from the project root::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_read_models.py \\
        [--parts extract speed accuracy] [--sizes 64 128 256 512] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_time  # noqa: E402

V_READ = 0.1
BATCH = 1000


def _array(n: int, m: int, cell: str, g_hi: float = 29.22e-6, seed: int = 0):
    from circuits.crossbar import CrossbarParams
    from circuits.interconnect import R_WIRE_40NM_OHM

    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, g_hi, size=(n, m))
    return CrossbarParams(g_siemens=g, cell=cell, r_wire_bl_ohm=R_WIRE_40NM_OHM,
                          r_wire_sl_ohm=R_WIRE_40NM_OHM)


def _first_and_median(fn, repeats: int) -> tuple[float, float, object]:
    """Time of a first call (with the per-process set-up: the shape's elimination plan,
    the cells' bias table) and the median of ``repeats`` more."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    med, out = median_time(fn, repeats)
    return first, med, out


def extract_case(n: int, repeats: int) -> dict:
    from cosim.engine import mosfet, nodal, read_models

    row: dict = {"part": "extract", "n": n}
    p0 = _array(n, n, "0T1R")
    row["0T1R_sweep_s"] = round(median_time(lambda: nodal.transfer_matrix(p0, method="sweep"),
                                            repeats)[0], 3)
    row["0T1R_dissection_s"] = round(median_time(
        lambda: nodal.transfer_matrix(p0, method="dissection"), repeats)[0], 3)
    p = _array(n, n, "1T1R")
    mosfet.access_model(p.access, V_READ)  # the table (cached), not counted
    t_before, before = median_time(lambda: nodal.transfer_matrix(
        p, v_read_volt=V_READ / 2, method="sweep"), min(repeats, 1 if n >= 256 else repeats))
    row["1T1R_before_s"] = round(t_before, 3)
    first, t_fast, fast = _first_and_median(lambda: read_models.LocalSecant(p, V_READ), repeats)
    row["1T1R_fast_first_s"] = round(first, 3)
    row["1T1R_fast_s"] = round(t_fast, 3)
    t_exact, _ = median_time(lambda: read_models.ExactSolver(
        p, read_models.BIAS_FRACTION * V_READ, V_READ), min(repeats, 1 if n >= 256 else repeats))
    row["1T1R_exact_setup_s"] = round(t_exact, 3)
    row["tangent_vs_fast_M_rel"] = float(np.abs(before.M - fast.M).max() / np.abs(fast.M).max())
    return row


def speed_case(n: int, m: int, exact_batch: int, repeats: int) -> dict:
    from cosim.engine import read_models

    p = _array(n, m, "1T1R")
    rng = np.random.default_rng(1)
    fast = read_models.LocalSecant(p, V_READ)
    v = rng.uniform(-1, 1, size=(BATCH, n)) * V_READ
    t_fast, _ = median_time(lambda: v @ fast.M + fast.c, max(repeats, 5))
    exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * V_READ, V_READ)
    ve = v[:exact_batch]
    exact.iterations = 0
    t_exact, _ = median_time(lambda: exact.currents(ve), 1)
    return {"part": "speed", "rows": n, "cols": m, "fast_mvm_per_s": round(BATCH / t_fast),
            "exact_batch": exact_batch, "exact_mvm_per_s": round(exact_batch / t_exact, 2),
            "exact_chord_iterations": exact.iterations}


def _inputs(rng: np.random.Generator, rows: int, n_random: int) -> np.ndarray:
    return np.vstack([rng.uniform(-1, 1, size=(n_random, rows)),
                      np.where(rng.random((2, rows)) < 0.5, -1.0, 1.0),
                      np.ones((1, rows)), -np.ones((1, rows))]) * V_READ


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def accuracy_tall(n: int, g_hi: float) -> dict:
    from bench_validated_range import spice_currents

    from cosim.engine import nodal, read_models

    p = _array(n, 8, "1T1R", g_hi)
    v = _inputs(np.random.default_rng(2), n, 8)
    t0 = time.perf_counter()
    y_tight = spice_currents(p, v, tight=True)
    t_spice = time.perf_counter() - t0
    y_default = spice_currents(p, v, tight=False)
    fast = read_models.LocalSecant(p, V_READ)
    y_fast = v @ fast.M + fast.c
    y_exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * V_READ, V_READ).currents(v)
    y_newton = nodal.solve(p, v)
    tangent = nodal.transfer_matrix(p, v_read_volt=V_READ / 2).apply(v)
    return {"part": "accuracy", "rows": n, "cols": 8, "g_hi_us": g_hi * 1e6,
            "spice_tight_s": round(t_spice, 2),
            "fast_vs_spice_tight": _rel(y_fast, y_tight),
            "fast_vs_spice_default": _rel(y_fast, y_default),
            "exact_vs_spice_tight": _rel(y_exact, y_tight),
            "exact_vs_spice_default": _rel(y_exact, y_default),
            "spice_default_vs_tight": _rel(y_default, y_tight),
            "newton_vs_spice_tight": _rel(y_newton, y_tight),
            "exact_vs_newton": _rel(y_exact, y_newton),
            "old_tangent_vs_spice_tight": _rel(tangent, y_tight)}


def accuracy_square(n: int, g_hi: float, n_random: int) -> dict:
    from cosim.engine import nodal, read_models

    p = _array(n, n, "1T1R", g_hi)
    v = _inputs(np.random.default_rng(3), n, n_random)
    t0 = time.perf_counter()
    y_newton = nodal.solve(p, v)
    t_newton = time.perf_counter() - t0
    fast = read_models.LocalSecant(p, V_READ)
    exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * V_READ, V_READ)
    return {"part": "accuracy", "rows": n, "cols": n, "g_hi_us": g_hi * 1e6,
            "vectors": v.shape[0], "newton_s_per_vector": round(t_newton / v.shape[0], 2),
            "fast_vs_newton": _rel(v @ fast.M + fast.c, y_newton),
            "exact_vs_newton": _rel(exact.currents(v), y_newton)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+", default=["extract", "speed", "accuracy"],
                    choices=["extract", "speed", "accuracy"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--speed-sizes", nargs="+", default=["512x512", "512x8", "50x96"])
    ap.add_argument("--exact-batch", type=int, default=20)
    ap.add_argument("--tall", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--square", type=int, default=512)
    ap.add_argument("--square-vectors", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, *rest = args.one.split(":")
        if kind == "extract":
            row = extract_case(int(rest[0]), args.repeats)
        elif kind == "speed":
            n, m = (int(x) for x in rest[0].split("x"))
            row = speed_case(n, m, args.exact_batch, args.repeats)
        elif kind == "tall":
            row = accuracy_tall(int(rest[0]), float(rest[1]))
        else:
            row = accuracy_square(int(rest[0]), float(rest[1]), args.square_vectors)
        print(json.dumps(row))
        return
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    print(f"# read models benchmark; {os.cpu_count()} CPUs; one BLAS thread; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    jobs: list[str] = []
    if "extract" in args.parts:
        jobs += [f"extract:{n}" for n in args.sizes]
    if "speed" in args.parts:
        jobs += [f"speed:{s}" for s in args.speed_sizes]
    if "accuracy" in args.parts:
        jobs += [f"tall:{n}:{g}" for n in args.tall for g in (29.22e-6, 60e-6)]
        jobs += [f"square:{args.square}:{g}" for g in (29.22e-6, 60e-6)]
    for job in jobs:
        cmd = [sys.executable, __file__, "--one", job, "--repeats", str(args.repeats),
               "--exact-batch", str(args.exact_batch),
               "--square-vectors", str(args.square_vectors)]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT,
                             env=env)
        if out.returncode != 0:
            print(f"# {job}: failed\n{out.stderr[-2000:]}", flush=True)
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["load"] = round(os.getloadavg()[0], 1)
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
