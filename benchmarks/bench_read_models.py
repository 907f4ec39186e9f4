"""Speed and accuracy of the ``calibrated`` backend's 1T1R read models.

Three parts (``--parts``), each case in a fresh child process with one BLAS thread:

- ``extract``: time to build the read model of a square array (cells uniform in
  [HRS, LRS], 1.06 ohm segments, BSIM4 access transistors): ``before`` is the
  previous extraction (Newton's operating point at ``v_read / 2`` on every row, then
  the tangent by the column sweep: ``nodal.transfer_matrix(method="sweep")``);
  ``fast`` the fast model's affine part (``read_models.LocalSecant``);
  ``correction`` its per-column correction (``read_models.column_correction``: the
  exact model's set-up and two coherent solves), which the fast model adds on first
  use; ``exact_setup`` the exact model's set-up (its kept reduction). 0T1R: the sweep
  against the dissection.
  The BSIM4 table comes from the cache (its one-off ngspice run is not counted);
  ``fast_first`` is the fast model's first call in the process, with the one-off
  set-up (the shape's elimination plan, the cells' bias table), the others are
  medians of the calls after it.
- ``speed``: MVMs per second of each model on ``--speed-sizes`` arrays (rows x cols),
  inputs uniform in [-1, 1] x 0.1 V: the fast model (``LocalSecant.currents``, its
  correction made beforehand; ``fast_affine``: ``v @ M + c`` alone) in batches of
  1,000; the exact
  model on ``--exact-batch`` vectors (1,000; it solves them in chunks, so its cost
  grows linearly with the batch), and its largest error against Newton's method on
  ``--newton-vectors`` of them and on both coherent inputs (all rows at +-0.1 V), of
  the full scale.
- ``update``: a write-verify step on ``--update-sizes`` arrays (50 x 96, 86 x 64: the
  realistic preset's macro of a 512 x 512 16-bit HAQ, 512 x 512): the fast model with
  1, 1 % and 10 % of the cells changed, and with one bit column of 16-bit weights
  (every 16th column) half changed (``bit``), extracted whole and by updating the
  previous reduction (``reprogrammed``), CPU seconds, and their difference;
- ``floor``: how far any affine model can go: one made exact on the all +1 and all
  -1 inputs (every cell through its exact currents at those two operating points)
  against the fast model, on random and on those coherent inputs;
- ``correction``: the fast model's per-column correction against other fits of the
  affine part's residual, on held-out inputs (``bench_validated_range.inputs``, another
  seed) against the exact model: ``cubic`` (the model's: ``q2 u^2 + q3 u^3`` through
  the two coherent inputs), ``quadratic`` (``q2 u^2`` alone, least squares on them),
  ``cubic_8`` (the cubic by least squares on eight exact solves: coherent at +-1 and
  +-0.5, four uniform), ``parts_8`` (a cubic in the positive and negative inputs'
  currents ``P = v+ @ M``, ``N = v- @ M``: ``P^2, N^2, P N, P^3, N^3``, on the same
  eight);
- ``accuracy``: both models against references, on the inputs of
  ``bench_validated_range.inputs`` (uniform, random +-1, coherent at four levels
  of both signs, one-signed uniform; read voltage 0.1 V, cells 1-29.22 uS and
  1-60 uS): on ``rows x 8`` blocks against ngspice with its default tolerances
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


V_READ = 0.1
BATCH = 1000


def _array(n: int, m: int, cell: str, g_hi: float = 29.22e-6, seed: int = 0):
    from circuits.crossbar import CrossbarParams
    from circuits.interconnect import R_WIRE_40NM_OHM

    rng = np.random.default_rng(seed)
    g = rng.uniform(1e-6, g_hi, size=(n, m))
    return CrossbarParams(g_siemens=g, cell=cell, r_wire_bl_ohm=R_WIRE_40NM_OHM,
                          r_wire_sl_ohm=R_WIRE_40NM_OHM)


def _timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``fn`` over ``repeats`` calls (fewer when one call
    takes more than 5 s), and its last result."""
    walls, cpus, out = [], [], None
    for _ in range(max(1, repeats)):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        if walls[-1] > 5.0:
            break
    return float(np.median(walls)), float(np.median(cpus)), out


def extract_case(n: int, repeats: int) -> dict:
    from cosim.engine import mosfet, nodal, read_models

    row: dict = {"part": "extract", "n": n}

    def put(name: str, timing: tuple) -> object:
        row[f"{name}_s"], row[f"{name}_cpu_s"] = round(timing[0], 3), round(timing[1], 3)
        return timing[2]

    p0 = _array(n, n, "0T1R")
    put("0T1R_sweep", _timed(lambda: nodal.transfer_matrix(p0, method="sweep"), repeats))
    put("0T1R_dissection", _timed(lambda: nodal.transfer_matrix(p0, method="dissection"),
                                  repeats))
    p = _array(n, n, "1T1R")
    mosfet.access_model(p.access, V_READ)  # the table (cached), not counted
    before = put("1T1R_before", _timed(lambda: nodal.transfer_matrix(
        p, v_read_volt=V_READ / 2, method="sweep"), 1 if n >= 256 else repeats))
    put("1T1R_fast_first", _timed(lambda: read_models.LocalSecant(p, V_READ), 1))
    fast = put("1T1R_fast", _timed(lambda: read_models.LocalSecant(p, V_READ), repeats))
    put("1T1R_correction", _timed(lambda: read_models.column_correction(
        p, V_READ, fast.M, fast.c), 1 if n >= 256 else repeats))
    put("1T1R_exact_setup", _timed(lambda: read_models.ExactSolver(
        p, read_models.BIAS_FRACTION * V_READ, V_READ), 1 if n >= 256 else repeats))
    row["tangent_vs_fast_M_rel"] = float(np.abs(before.M - fast.M).max() / np.abs(fast.M).max())
    return row


def speed_case(n: int, m: int, exact_batch: int, repeats: int, newton_vectors: int) -> dict:
    from cosim.engine import nodal, read_models

    p = _array(n, m, "1T1R")
    rng = np.random.default_rng(1)
    fast = read_models.LocalSecant(p, V_READ)
    v = rng.uniform(-1, 1, size=(BATCH, n)) * V_READ
    fast.correction()
    t_fast, c_fast, _ = _timed(lambda: fast.currents(v), max(repeats, 5))
    t_aff, c_aff, _ = _timed(lambda: v @ fast.M + fast.c, max(repeats, 5))
    exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * V_READ, V_READ)
    ve = v[:exact_batch]
    exact.iterations = 0
    t_exact, c_exact, y = _timed(lambda: exact.currents(ve), 1)
    row = {"part": "speed", "rows": n, "cols": m, "fast_mvm_per_s": round(BATCH / t_fast),
           "fast_mvm_per_cpu_s": round(BATCH / c_fast),
           "fast_affine_mvm_per_s": round(BATCH / t_aff),
           "fast_affine_mvm_per_cpu_s": round(BATCH / c_aff),
           "exact_batch": exact_batch, "exact_mvm_per_s": round(exact_batch / t_exact, 2),
           "exact_mvm_per_cpu_s": round(exact_batch / c_exact, 2),
           "exact_chord_iterations": exact.iterations}
    if newton_vectors:
        # The first vectors of the batch and the two coherent ones (all rows at +-v_read)
        # against Newton's method, of the batch's full scale.
        coherent = np.vstack([np.full((1, n), V_READ), np.full((1, n), -V_READ)])
        ref = nodal.solve(p, np.vstack([ve[:newton_vectors], coherent]))
        y_c = exact.currents(coherent)
        full = max(np.abs(y).max(), np.abs(ref[newton_vectors:]).max())
        row["exact_vs_newton_random"] = float(np.abs(y[:newton_vectors]
                                                     - ref[:newton_vectors]).max() / full)
        row["exact_vs_newton_coherent"] = float(np.abs(y_c - ref[newton_vectors:]).max()
                                                / full)
    return row


def update_case(n: int, m: int, repeats: int) -> dict:
    """A write-verify step: the fast model of an array with ``k`` cells changed, by a whole
    extraction and by updating the previous one (``reprogrammed``)."""
    from circuits.crossbar import CrossbarParams
    from cosim.engine import read_models

    p = _array(n, m, "1T1R")
    rng = np.random.default_rng(4)
    row: dict = {"part": "update", "rows": n, "cols": m}
    read_models.LocalSecant(p, V_READ)  # one-offs (plan, bias tables) out of the timings
    bit = np.zeros((n, m), dtype=bool)
    bit[::2, 5::16] = True  # a write step of 16-bit weights: one bit column of each, half set
    for k in (1, max(1, n * m // 100), n * m // 10, "bit"):
        g = p.g_siemens.copy()
        if k == "bit":
            g[bit] = rng.uniform(1e-6, 29.22e-6, int(bit.sum()))
        else:
            g.flat[rng.choice(g.size, k, replace=False)] = rng.uniform(1e-6, 29.22e-6, k)
        q = CrossbarParams(g_siemens=g, cell="1T1R", r_wire_bl_ohm=p.r_wire_bl_ohm,
                           r_wire_sl_ohm=p.r_wire_sl_ohm)
        t_full, c_full, whole = _timed(lambda q=q: read_models.LocalSecant(q, V_READ), repeats)

        def update(q=q):
            base = read_models.LocalSecant(p, V_READ, keep=True)
            c0 = time.process_time()
            out = base.reprogrammed(q)
            return out, time.process_time() - c0

        cpus, out = [], None
        for _ in range(max(1, repeats if n * m < 2**16 else 1)):
            out, c = update()
            cpus.append(c)
        row[f"{k}_cells_full_cpu_s"] = round(c_full, 4)
        row[f"{k}_cells_update_cpu_s"] = round(float(np.median(cpus)), 4)
        row[f"{k}_cells_update_vs_full_M_rel"] = float(np.abs(out.M - whole.M).max()
                                                       / np.abs(whole.M).max())
    return row


def floor_case(n: int, m: int, g_hi: float) -> dict:
    """How far an affine model can go: the one whose every cell passes through the cell's
    exact currents at the all +1 and all -1 inputs' operating points (exact on those two
    inputs by construction), against the fast model, on the accuracy inputs."""
    from cosim.engine import dissection, read_models

    p = _array(n, m, "1T1R", g_hi)
    v = _inputs(np.random.default_rng(2), n, 8)
    exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * V_READ, V_READ)
    y = exact.currents(v)
    vx, vs, i_r, i_s = exact.cell_state(np.vstack([np.full((1, n), V_READ),
                                                    np.full((1, n), -V_READ)]))
    points = [(vx[k], vs[k], i_r[k], i_s[k]) for k in (0, 1)]
    (xp, sp, ixp, isp), (xm, sm, ixm, ism) = points
    tan = read_models.LocalTangent(p, 0.0)._cell_models(p)[0]  # V_s slopes
    xx = (ixp - ixm - tan.xs * (sp - sm)) / (xp - xm)
    sx = (-(isp - ism) - tan.ss * (sp - sm)) / (xp - xm)
    k_x = ixp - xx * xp - tan.xs * sp
    k_s = -isp - sx * xp - tan.ss * sp
    st = dissection.CellStamps(*(q.reshape(n, m) for q in (xx, tan.xs, sx, tan.ss)))
    d = dissection.Dissection(read_models._network(p, st), keep_factors=False,
                              rhs=(-k_x.reshape(n, m), -k_s.reshape(n, m)))
    y_oracle = v @ d.transfer() + d.offset(p.v_ref_volt)
    fast = read_models.LocalSecant(p, V_READ)
    y_fast = v @ fast.M + fast.c
    full = np.abs(y).max()
    err = lambda a, sel: float(np.abs(a[sel] - y[sel]).max() / full)  # noqa: E731
    rand, coherent = slice(0, 10), slice(10, 12)
    return {"part": "floor", "rows": n, "cols": m, "g_hi_us": g_hi * 1e6,
            "fast_random": err(y_fast, rand), "fast_coherent": err(y_fast, coherent),
            "affine_exact_on_coherent_random": err(y_oracle, rand),
            "affine_exact_on_coherent_coherent": err(y_oracle, coherent)}


def _inputs(rng: np.random.Generator, rows: int, n_random: int) -> np.ndarray:
    return np.vstack([rng.uniform(-1, 1, size=(n_random, rows)),
                      np.where(rng.random((2, rows)) < 0.5, -1.0, 1.0),
                      np.ones((1, rows)), -np.ones((1, rows))]) * V_READ


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def correction_case(n: int, m: int, g_hi: float, v_read: float) -> dict:
    from bench_validated_range import inputs

    from cosim.engine import read_models

    p = _array(n, m, "1T1R", g_hi)
    fast = read_models.LocalSecant(p, v_read)
    exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * v_read, v_read)
    v = inputs(np.random.default_rng(4), 8, n) * v_read
    y = exact.currents(v)
    one = np.ones((1, n))
    train = np.vstack([one, -one, 0.5 * one, -0.5 * one,
                       np.random.default_rng(5).uniform(-1, 1, (4, n))]) * v_read
    r_train = exact.currents(train) - (train @ fast.M + fast.c)

    def cubic(x: np.ndarray) -> list[np.ndarray]:
        u = x @ fast.M
        return [u * u, u * u * u]

    def parts(x: np.ndarray) -> list[np.ndarray]:
        pos, neg = np.clip(x, 0, None) @ fast.M, np.clip(x, None, 0) @ fast.M
        return [pos * pos, neg * neg, pos * neg, pos ** 3, neg ** 3]

    def fitted(features, rows: slice) -> np.ndarray:
        a = np.stack(features(train[rows]), axis=-1)  # (B, cols, k)
        out = v @ fast.M + fast.c
        b = np.stack(features(v), axis=-1)
        for c in range(m):
            scale = np.abs(a[:, c]).max(axis=0)
            scale[scale == 0] = 1.0
            coef = np.linalg.lstsq(a[:, c] / scale, r_train[rows, c], rcond=None)[0] / scale
            out[:, c] += b[:, c] @ coef
        return out

    return {"part": "correction", "rows": n, "cols": m, "g_hi_us": g_hi * 1e6,
            "v_read_volt": v_read, "affine": _rel(v @ fast.M + fast.c, y),
            "cubic": _rel(fast.currents(v), y),
            "quadratic": _rel(fitted(lambda x: cubic(x)[:1], slice(0, 2)), y),
            "cubic_8": _rel(fitted(cubic, slice(None)), y),
            "parts_8": _rel(fitted(parts, slice(None)), y)}


def accuracy_tall(n: int, g_hi: float) -> dict:
    from bench_validated_range import inputs, spice_currents

    from cosim.engine import nodal, read_models

    p = _array(n, 8, "1T1R", g_hi)
    v = inputs(np.random.default_rng(2), 8, n) * V_READ
    t0 = time.perf_counter()
    y_tight = spice_currents(p, v, tight=True)
    t_spice = time.perf_counter() - t0
    y_default = spice_currents(p, v, tight=False)
    fast = read_models.LocalSecant(p, V_READ)
    y_fast = fast.currents(v)
    y_affine = v @ fast.M + fast.c
    y_exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * V_READ, V_READ).currents(v)
    y_newton = nodal.solve(p, v)
    tangent = nodal.transfer_matrix(p, v_read_volt=V_READ / 2).apply(v)
    return {"part": "accuracy", "rows": n, "cols": 8, "g_hi_us": g_hi * 1e6,
            "spice_tight_s": round(t_spice, 2),
            "fast_vs_spice_tight": _rel(y_fast, y_tight),
            "fast_vs_spice_default": _rel(y_fast, y_default),
            "fast_affine_vs_spice_tight": _rel(y_affine, y_tight),
            "exact_vs_spice_tight": _rel(y_exact, y_tight),
            "exact_vs_spice_default": _rel(y_exact, y_default),
            "spice_default_vs_tight": _rel(y_default, y_tight),
            "newton_vs_spice_tight": _rel(y_newton, y_tight),
            "exact_vs_newton": _rel(y_exact, y_newton),
            "old_tangent_vs_spice_tight": _rel(tangent, y_tight)}


def accuracy_square(n: int, g_hi: float, n_random: int) -> dict:
    from bench_validated_range import inputs

    from cosim.engine import nodal, read_models

    p = _array(n, n, "1T1R", g_hi)
    v = inputs(np.random.default_rng(3), n_random, n) * V_READ
    t0 = time.perf_counter()
    y_newton = nodal.solve(p, v)
    t_newton = time.perf_counter() - t0
    fast = read_models.LocalSecant(p, V_READ)
    exact = read_models.ExactSolver(p, read_models.BIAS_FRACTION * V_READ, V_READ)
    return {"part": "accuracy", "rows": n, "cols": n, "g_hi_us": g_hi * 1e6,
            "vectors": v.shape[0], "newton_s_per_vector": round(t_newton / v.shape[0], 2),
            "fast_vs_newton": _rel(fast.currents(v), y_newton),
            "fast_affine_vs_newton": _rel(v @ fast.M + fast.c, y_newton),
            "exact_vs_newton": _rel(exact.currents(v), y_newton)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+",
                    default=["extract", "speed", "update", "accuracy", "floor", "correction"],
                    choices=["extract", "speed", "update", "accuracy", "floor", "correction"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--speed-sizes", nargs="+", default=["512x512", "512x8", "50x96"])
    ap.add_argument("--update-sizes", nargs="+", default=["50x96", "86x64", "512x512"])
    ap.add_argument("--exact-batch", type=int, default=1000)
    ap.add_argument("--newton-vectors", type=int, default=3,
                    help="speed: vectors of the batch checked against Newton's method")
    ap.add_argument("--tall", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--square", type=int, default=512, help="0: no square array")
    ap.add_argument("--square-vectors", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    if args.one:
        kind, *rest = args.one.split(":")
        if kind == "extract":
            row = extract_case(int(rest[0]), args.repeats)
        elif kind == "speed":
            n, m = (int(x) for x in rest[0].split("x"))
            row = speed_case(n, m, args.exact_batch, args.repeats, args.newton_vectors)
        elif kind == "update":
            n, m = (int(x) for x in rest[0].split("x"))
            row = update_case(n, m, args.repeats)
        elif kind == "floor":
            n, m = (int(x) for x in rest[0].split("x"))
            row = floor_case(n, m, float(rest[1]))
        elif kind == "correction":
            n, m = (int(x) for x in rest[0].split("x"))
            row = correction_case(n, m, float(rest[1]), float(rest[2]))
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
    if "update" in args.parts:
        jobs += [f"update:{s}" for s in args.update_sizes]
    if "accuracy" in args.parts:
        jobs += [f"tall:{n}:{g}" for n in args.tall for g in (29.22e-6, 60e-6)]
        jobs += [f"square:{args.square}:{g}" for g in (29.22e-6, 60e-6) if args.square]
    if "floor" in args.parts:
        jobs += ["floor:64x96:6e-05", "floor:128x128:2.922e-05", "floor:512x8:2.922e-05"]
    if "correction" in args.parts:
        jobs += [f"correction:{b}:{g}:{v}" for b in ("64x8", "128x8", "256x8", "512x8",
                                                      "128x96")
                 for g in (29.22e-6, 60e-6) for v in (0.1, 0.2)]
    for job in jobs:
        cmd = [sys.executable, __file__, "--one", job, "--repeats", str(args.repeats),
               "--exact-batch", str(args.exact_batch),
               "--newton-vectors", str(args.newton_vectors),
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
