"""Benchmark of the tile backends: set-up, MVM rate, memory, error against ngspice.

Arrays are square, 0T1R, 1 ohm wire segments, conductances uniform in
[HRS, LRS] = [1, 29.22] uS, inputs uniform in [-1, 1] at 0.2 V full scale.
Each case runs in its own child process (so peak memory is the case's own).

Part 1, ``calibrated`` at each size (default 64 128 256 512):

- ``extract_s``: transfer extraction (``Tile.prepare``, cache off);
- ``mvm_per_s``: MVMs per second through ``Tile.mvm`` in batches of 1,000
  (``ideal_mvm_per_s`` the same for ``ideal``; ``noisy_mvm_per_s`` with read
  noise 0.02 by the first-order update);
- ``ideal_err``: IR-drop error of ``ideal`` (max|y - y_cal| / max|y_cal|);
- ``noise_fo_err``: error of the first-order read-noise update against the
  exact noisy network (``read_noise_method="exact"``, same seed, same draws),
  and ``noise_term``: how much the noise moved the output, both relative to
  full scale; skipped above ``--noise-max``;
- ``spice_err``, ``spice_noise_fo_err`` (sizes up to ``--spice-max``): the same
  against ``spice`` on a few vectors;
- ``peak_rss_mib``: the child's peak resident memory;
- ``load_avg``: the machine's 1-minute load when the case ended (timings on a
  busy machine are slower by about load / cores).

Part 2, ``spice`` at 16 32 64: MVMs per second batched (one DC sweep per
chunk) and one ngspice run per vector, and their ratio.

Medians over ``--repeats`` where one run takes under 5 s. Run from the project
root (the 512 case takes minutes; run it rarely)::

    python benchmarks/bench_tile.py --quick
    python benchmarks/bench_tile.py [--sizes 64 128 256 512] [--spice-max 64] [--json]

On a machine shared with other jobs, set ``OPENBLAS_NUM_THREADS=1`` (or
``--threads 1``): a multi-threaded BLAS that cannot get its cores slows the
dense work by ten times and more.
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
NOISE = 0.02
SAME_DRAWS = {"read_noise": NOISE, "read_noise_draw": "per_call"}
"""Noisy tiles with one draw per call, so backends compared see the same noisy array."""


def _hardware(macro: int = 512, read_noise: float = 0.0):
    """0T1R cells, 1 ohm wire segments, an ideal virtual ground, no write noise."""
    from cosim.hardware.presets import preset

    return preset("paper").with_parts(
        array={"r_wire_ohm": 1.0, "macro_rows": macro, "macro_cols": macro},
        noise={"write": 0.0, "read": read_noise})


def _tile(*, backend: str = "calibrated", macro: int = 512, read_noise: float = 0.0,
          seed: int = 0, read_noise_draw: str = "per_vector", **sim_kw):
    """A tile of :func:`_hardware`, the result cache off."""
    from cosim.engine.options import SimOptions
    from cosim.engine.tile import make_tile

    return make_tile(_hardware(macro, read_noise),
                     SimOptions(backend=backend, use_cache=False, **sim_kw), seed=seed,
                     read_noise_draw=read_noise_draw)


def _rel(y: np.ndarray, y_ref: np.ndarray) -> float:
    return float(np.max(np.abs(y - y_ref)) / np.max(np.abs(y_ref)))


def calibrated_case(n: int, repeats: int, spice_max: int, noise_max: int) -> dict[str, object]:
    """Part 1 for one size, in this process."""
    from cosim.engine.tile import Tile

    rng = np.random.default_rng(n)
    base = {"backend": "calibrated", "macro": max(n, 512)}
    g = rng.uniform(1e-6, 29.22e-6, size=(n, n))
    x = rng.uniform(-1, 1, size=(BATCH, n))
    row: dict[str, object] = {"n": n}

    def fresh(**kw):
        t = _tile(**{**base, **kw})
        t.program(g)
        return t

    warm = _tile(**base, **SAME_DRAWS)  # imports, lazy set-up
    warm.program(g[:4, :4])
    warm.mvm(x[:2, :4])
    t_ext, cal = median_time(lambda: _prepared(fresh()), repeats)
    row["extract_s"] = round(t_ext, 3)
    t_mvm, res = median_time(lambda: cal.mvm(x), repeats)
    y_cal = res.y
    row["mvm_per_s"] = round(BATCH / t_mvm)
    ideal = fresh(backend="ideal")
    t_id, res = median_time(lambda: ideal.mvm(x), repeats)
    row["ideal_mvm_per_s"] = round(BATCH / t_id)
    row["ideal_err"] = float(f"{_rel(res.y, y_cal):.3g}")
    k = 10 if n <= 64 else 4
    xs = x[:k]
    if n <= noise_max:
        noisy = (_hardware(base["macro"], NOISE), cal.sim)

        def first_order():                                # shares the extracted transfer
            return Tile(*noisy, cal.backend, None, seed=1, read_noise_draw="per_call")

        fo = first_order()
        fo.load(cal.array)
        t_fo, res = median_time(lambda: fo.mvm(x), repeats)
        row["noisy_mvm_per_s"] = round(BATCH / t_fo)
        fo = first_order()                                # restart the noise stream
        fo.load(cal.array)
        y_fo = fo.mvm(xs).y
        ex = fresh(**SAME_DRAWS, seed=1, read_noise_method="exact")
        y_ex = ex.mvm(xs).y
        row["noise_term"] = float(f"{_rel(y_ex, y_cal[:k]):.3g}")
        row["noise_fo_err"] = float(f"{_rel(y_fo, y_ex):.3g}")
    if n <= spice_max:
        sp = fresh(backend="spice", spice_chunk=k)
        t_sp = time.perf_counter()
        y_sp = sp.mvm(xs).y
        row["spice_s"] = round(time.perf_counter() - t_sp, 2)
        row["spice_vectors"] = k
        row["spice_err"] = float(f"{_rel(y_cal[:k], y_sp):.3g}")
        if n <= noise_max:
            sp = fresh(backend="spice", spice_chunk=k, **SAME_DRAWS, seed=1)
            row["spice_noise_fo_err"] = float(f"{_rel(y_fo, sp.mvm(xs).y):.3g}")
    row["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    row["load_avg"] = round(os.getloadavg()[0], 1)
    return row


def _prepared(tile):
    tile.prepare()
    return tile


def spice_case(n: int, batch: int, singles: int) -> dict[str, object]:
    """Part 2 for one size: batched sweep vs one ngspice run per vector."""
    rng = np.random.default_rng(n)
    g = rng.uniform(1e-6, 29.22e-6, size=(n, n))
    x = rng.uniform(-1, 1, size=(batch, n))
    row: dict[str, object] = {"n": n, "batch": batch, "singles": singles}
    batched = _tile(backend="spice", spice_chunk=batch)
    arr = batched.program(g)
    t0 = time.perf_counter()
    y = batched.mvm(x).y
    t_b = time.perf_counter() - t0
    single = _tile(backend="spice", spice_mode="per_vector")
    single.load(arr)
    t0 = time.perf_counter()
    y1 = single.mvm(x[:singles]).y
    t_1 = time.perf_counter() - t0
    row["batched_mvm_per_s"] = round(batch / t_b, 2)
    row["per_vector_mvm_per_s"] = round(singles / t_1, 2)
    row["ratio"] = round((batch / t_b) / (singles / t_1), 1)
    row["max_rel_diff"] = float(f"{_rel(y1, y[:singles]):.3g}")
    row["load_avg"] = round(os.getloadavg()[0], 1)
    return row


def _child(args: list[str], threads: int | None) -> dict[str, object]:
    env = dict(os.environ)
    if threads:
        env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0:
        return {"case": " ".join(args), "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument("--spice-sizes", type=int, nargs="*", default=[16, 32, 64])
    ap.add_argument("--spice-max", type=int, default=64,
                    help="largest calibrated size also checked against ngspice")
    ap.add_argument("--noise-max", type=int, default=512,
                    help="largest size whose read-noise error is measured (costs one extraction)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads in the children")
    ap.add_argument("--quick", action="store_true", help="32 and 64, spice at 16")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule(args.threads)
    if args.one:
        kind, n = args.one[0], int(args.one[1])
        if kind == "cal":
            row = calibrated_case(n, args.repeats, args.spice_max, args.noise_max)
        else:
            row = spice_case(n, int(args.one[2]), int(args.one[3]))
        print(json.dumps(row))
        return
    if args.quick:
        args.sizes, args.spice_sizes, args.spice_max = [32, 64], [16], 32
    common = ["--repeats", str(args.repeats), "--spice-max", str(args.spice_max),
              "--noise-max", str(args.noise_max)]
    cal_rows, spice_rows = [], []
    for n in args.sizes:
        cal_rows.append(_child(["--one", "cal", str(n), *common], args.threads))
        if not args.json:
            print(json.dumps(cal_rows[-1]), flush=True)
    spice_plan = {16: (200, 10), 32: (50, 5), 64: (10, 2)}
    for n in args.spice_sizes:
        batch, singles = spice_plan.get(n, (10, 2))
        spice_rows.append(_child(["--one", "spice", str(n), str(batch), str(singles)],
                                 args.threads))
        if not args.json:
            print(json.dumps(spice_rows[-1]), flush=True)
    if args.json:
        print(json.dumps({"calibrated": cal_rows, "spice": spice_rows}, indent=2))


if __name__ == "__main__":
    main()
