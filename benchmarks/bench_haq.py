"""Benchmark of HAQ programming and of the default ``cosim sweep haq`` grid.

1. HAQ of a 512 x 512 matrix at 16 bits (512 x 8192 cells, 16 macros of
   512 x 512), write noise 0.187, every bit verified through the tile's read
   path (``--backend``, default ``calibrated``, ``--r-wire`` default 1 ohm,
   ``--verify-read`` default ``first_order``: one transfer extraction of the
   reference macro, shared by all 16). Target: <= 30 s. Also prints what
   ``exact`` verify reads (one extraction per macro per bit) would cost.
2. The default sweep (s 1.1:2.5:0.1 x noise 0.05:0.30:0.05 x bits 4,8,12,16 x
   5 seeds = 1800 points) on ``--workers`` processes. Target: <= 20 min on 2
   cores. Without ``--full-sweep`` only a fixed random sample of the grid is
   run and the full time is extrapolated from it; the output says which.

Usage::

    .venv/bin/python benchmarks/bench_haq.py [--quick] [--backend calibrated]
        [--r-wire 1.0] [--verify-read first_order] [--workers 2]
        [--sample 0.1 | --full-sweep] [--json]

``--quick``: a 128 x 128 matrix and a 2 % sample (seconds; for CI).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import functools  # noqa: E402
from dataclasses import asdict  # noqa: E402

from cosim.engine.measure import peak_rss_mib  # noqa: E402
from cosim.engine.options import SimOptions  # noqa: E402
from cosim.engine.tile import make_tile  # noqa: E402
from cosim.hardware.presets import preset  # noqa: E402
from cosim.layers.analog import TileReadBack  # noqa: E402
from cosim.programming.base import BinaryCellWriter  # noqa: E402
from cosim.programming.binary import program_haq  # noqa: E402
from cosim.sweep import LocalBackend, grid, parse_range, run_sweep  # noqa: E402
from cosim.workloads.haq.mvm import sweep_point  # noqa: E402

HAQ_TARGET_S = 30.0
SWEEP_TARGET_S = 20 * 60.0


def bench_program(size: int, bits: int, backend: str, r_wire_ohm: float,
                  verify_read: str) -> dict:
    """Time HAQ of a ``size x size`` matrix at ``bits`` bits verified through ``backend``.

    Runs twice on one tile: cold (the read path is set up: for ``calibrated``
    the transfer extraction of the reference macro with ``first_order``
    verify reads, or of every macro at every bit with ``exact``) and warm
    (first order: the transfer already in the tile's memory). The difference
    estimates one macro's set-up, and from it what exact verify reads would
    cost (one set-up per macro per bit).
    """
    rng = np.random.default_rng(0)
    w = rng.standard_normal((size, size))
    # 0T1R cells, ideal virtual ground, 512 x 512 macros, read noise 0.002
    hardware = preset("paper").with_parts(array={"r_wire_ohm": r_wire_ohm},
                                          noise={"read": 0.002})
    tile = make_tile(hardware, SimOptions(backend=backend, use_cache=False))
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        pw = program_haq(w, bits, 1.5,
                         program_cells=BinaryCellWriter(lrs_sigma=0.187, rng=rng),
                         read_back=TileReadBack(tile, verify_read))
        times.append(time.perf_counter() - t0)
    macros = len(tile.array.blocks)
    # Cold - warm is the read-path set-up of one array (first order: the one
    # reference macro, shared by all); exact reads redo it per macro per bit.
    setup_one = max(times[0] - times[1], 0.0)
    per_macro = setup_one if verify_read == "first_order" else setup_one / (macros * bits)
    err = float(np.sqrt(np.mean((pw.weights() - w) ** 2)) / np.abs(w).max())
    return {"matrix": f"{size}x{size}", "bits": bits, "cells": int(pw.g_actual_siemens.size),
            "macros": macros, "backend": backend, "r_wire_ohm": r_wire_ohm,
            "verify_read": verify_read, "haq_cold_s": times[0], "haq_warm_s": times[1],
            "read_path_setup_per_macro_s": per_macro,
            "exact_verify_estimate_s": times[1] + per_macro * macros * bits,
            "weight_rmse_full_scale": err,
            "target_s": HAQ_TARGET_S if size == 512 and bits == 16 else None}


def bench_sweep(backend: str, workers: int, fraction: float) -> dict:
    """Run every k-th point of the default grid and extrapolate to all of it."""
    axes = {"amp_ratio": parse_range("1.1:2.5:0.1", "s"),
            "write_noise": parse_range("0.05:0.30:0.05", "noise"),
            "bits": [4, 8, 12, 16], "seed": list(range(5))}
    points = grid(axes)
    # the realistic hardware without wires, first-order verify reads, digital aggregation,
    # read noise 0.002 (the sweep's setting when its figures were measured)
    hardware = preset("realistic").with_parts(
        array={"r_wire_ohm": 0.0}, programming={"verify_read": "first_order"},
        aggregation={"kind": "digital"}, noise={"read": 0.002})
    point = functools.partial(sweep_point, hardware=hardware.as_dict(),
                              sim=asdict(SimOptions(backend=backend)))
    # A fixed random sample: every axis value is represented in proportion.
    k = max(1, min(len(points), round(fraction * len(points))))
    pick = np.sort(np.random.default_rng(0).choice(len(points), size=k, replace=False))
    sample = [points[i] for i in pick]
    out = Path(tempfile.mkdtemp(prefix="bench_haq_"))
    try:
        res = run_sweep(point, sample, out, backend=LocalBackend(workers=workers),
                        progress=sys.stderr.isatty(), desc="bench sweep")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    per_point = res.elapsed_s / len(sample)
    full = per_point * len(points)
    by_bits = res.table.groupby("bits")["elapsed_s"].mean().to_dict()
    return {"grid_points": len(points), "points_run": len(sample),
            "extrapolated": len(sample) < len(points), "workers": workers, "backend": backend,
            "sample_wall_s": res.elapsed_s, "full_sweep_s": full,
            "point_s_by_bits": {int(k): float(v) for k, v in by_bits.items()},
            "target_s": SWEEP_TARGET_S}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small matrix, 2 %% sweep sample")
    ap.add_argument("--backend", default="calibrated")
    ap.add_argument("--r-wire", type=float, default=1.0,
                    help="wire resistance of the HAQ programming benchmark (ohm)")
    ap.add_argument("--verify-read", default="first_order", choices=["exact", "first_order"])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sample", type=float, default=0.1, help="fraction of the grid to run")
    ap.add_argument("--full-sweep", action="store_true", help="run all 1800 points")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    size = 128 if args.quick else 512
    fraction = 1.0 if args.full_sweep else (0.02 if args.quick else args.sample)

    prog = bench_program(size, 16, args.backend, args.r_wire, args.verify_read)
    sweep = bench_sweep(args.backend, args.workers, fraction)
    report = {"program": prog, "sweep": sweep, "peak_rss_mib": peak_rss_mib(),
              "cpu_count": os.cpu_count()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    ok = prog["target_s"] is None or prog["haq_cold_s"] <= prog["target_s"]
    print(f"HAQ {prog['matrix']} x {prog['bits']} bit ({prog['cells']} cells, {prog['macros']} "
          f"macros, {prog['backend']} read path, {prog['r_wire_ohm']:g} ohm, "
          f"{prog['verify_read']} verify): cold {prog['haq_cold_s']:.1f} s, warm "
          f"{prog['haq_warm_s']:.1f} s"
          + ("" if prog["target_s"] is None else
             f"  (target <= {prog['target_s']:.0f} s: {'ok' if ok else 'MISSED'})"))
    setup = prog["read_path_setup_per_macro_s"]
    print(f"  read-path set-up of one macro: {setup:.1f} s -> exact verify reads would take "
          f"about {prog['exact_verify_estimate_s']:.0f} s (one set-up per macro per bit)")
    how = (f"extrapolated from {sweep['points_run']} of {sweep['grid_points']} points"
           if sweep["extrapolated"] else "all points run")
    ok = sweep["full_sweep_s"] <= SWEEP_TARGET_S
    print(f"default sweep ({sweep['grid_points']} points, {sweep['workers']} workers, "
          f"{sweep['backend']}): {sweep['full_sweep_s'] / 60:.1f} min ({how}; target <= "
          f"{SWEEP_TARGET_S / 60:.0f} min: {'ok' if ok else 'MISSED'})")
    print("mean time per point by bit width (one worker): "
          + ", ".join(f"{b} bit {t:.2f} s" for b, t in sweep["point_s_by_bits"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
