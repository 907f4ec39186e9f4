"""Benchmark: the deployed forward pass of every voxel of the full phantom.

Usage::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 \\
        .venv/bin/python benchmarks/bench_field_forward.py [--phantom 40x128x128]
        [--backend calibrated] [--hardware paper] [--chunk 1024] [--repeats 3]
        [--modes folded,layer]

The paper's network (131 -> 100 -> 10 -> 100 -> 1 SIREN) with randomly
initialised parameters (no training: the forward pass costs the same whatever
the weights), deployed with HAQ (14/14/12 bits, s = 1.5) on ``--backend``,
then every voxel through the hardware: the Gaussian encoder's projection on
its analog layer, CORDIC sin/cos, each matrix on its layer, CORDIC sine
activations. Two ways of running the analog layers (``--modes``):

- ``layer``: every call through ``AnalogLayer.forward`` (the tile's MVM of
  every bit column, offset, aggregation);
- ``folded``: every layer first folded into its affine map
  (``cosim.workloads.field.deploy.FoldedLayer``, read once through the layer;
  exact for the calibrated backend with a virtual ground and no quantisation
  or read noise: the paper read path), the same outputs to rounding and the
  same events.

Each mode is timed ``--repeats`` times; prints the median wall and CPU
(process) time, voxels/s, the largest difference between the modes'
outputs, and the set-up (programming) time.

Measured 2026-11-28 (one core, the other busy, load 2.1-2.4): layer 57.4 s wall
(55.8 s CPU), folded 11.5 s wall (11.1 s CPU), median of 3; modes differ by 3e-16.

Batching and threads, chosen on purpose: 1024 voxels per call (measured on
65,536 voxels, one core: 1024 beats 512, 2048, 4096 and 8192 by 20-25 %; the
CORDIC's int64 arrays stay in cache); one BLAS thread (set before numpy
loads), the toolkit's rule on a shared 2-core machine
(``benchmarks/bench_threads.py``): quote the CPU time when other jobs share
the core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phantom", default="40x128x128")
    ap.add_argument("--backend", default="calibrated")
    ap.add_argument("--hardware", default="paper", help="a hardware preset or TOML file")
    ap.add_argument("--chunk", type=int, default=1024, help="voxels per forward call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--modes", default="folded,layer")
    a = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()

    import numpy as np

    from cosim.commands.field import parse_shape
    from cosim.engine.options import SimOptions
    from cosim.hardware.presets import load_hardware
    from cosim.workloads.field.field import (
        FieldConfig,
        deploy_field,
        forward_voxels,
        hardware_text,
        prepare,
    )
    from cosim.workloads.field.mlp import init_params

    cfg = FieldConfig(phantom_shape=parse_shape(a.phantom), eval_chunk=a.chunk)
    hardware, sim = load_hardware(a.hardware), SimOptions(backend=a.backend)
    t0 = time.perf_counter()
    prep = prepare(cfg, hardware, sim)
    params = init_params(cfg.mlp, prep.feats.shape[1], np.random.default_rng(0))
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    dep = deploy_field(cfg, hardware, sim, prep, params, "haq")
    t_deploy = time.perf_counter() - t0
    n = len(prep.x)
    out = {"voxels": n, "backend": a.backend, "hardware": hardware_text(hardware, sim),
           "chunk": a.chunk, "prepare_s": t_prep, "deploy_haq_s": t_deploy,
           "rram_cells": dep.cells,
           "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS",
                                                      "OPENBLAS_NUM_THREADS")}}
    preds = {}
    for mode in a.modes.split(","):
        walls, cpus = [], []
        for _ in range(max(1, a.repeats)):
            w0, c0 = time.perf_counter(), time.process_time()
            pred, _, _ = forward_voxels(prep.encoder, dep, prep.x, cfg.eval_chunk,
                                        fold=mode == "folded")
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        preds[mode] = pred
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        out[mode] = {"forward_wall_s": walls, "forward_cpu_s": cpus, "median_wall_s": wall,
                     "median_cpu_s": cpu, "voxels_per_s_wall": n / wall,
                     "voxels_per_s_cpu": n / cpu, "finite": bool(np.all(np.isfinite(pred)))}
        print(mode, json.dumps(out[mode]), flush=True)
    if len(preds) == 2:
        p1, p2 = preds.values()
        out["max_abs_difference_between_modes"] = float(np.max(np.abs(p1 - p2)))
    out["load_average"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
