"""Benchmark of the neural field: dense training + HAQ/PTQ deployment + evaluation.

Usage::

    .venv/bin/python benchmarks/bench_field.py [--phantom 40x128x128] [--steps 2000]
        [--batch 16384] [--backend ideal] [--encoding gaussian] [--sigma S] [--wide]
        [--weight-scaling matrix|column] [-o RUN_DIR]

Prints the wall time of each phase (training, programming, forward pass of all
voxels per scheme), the process's CPU time, the load average and the metrics;
writes the run folder when ``-o`` is given. ``--sigma`` defaults to the
encoding's own scale (:data:`cosim.workloads.field.encoder.DEFAULT_SCALES`).

Measured 2026-11-27 (40 x 128 x 128, Gaussian sigma 4, 2000 steps, batch 16384, ideal
backend, paper read path; pinned to one core shared with other jobs):

=====================  ========  =====  =====  ==========================================
network                software  HAQ    PTQ    time
=====================  ========  =====  =====  ==========================================
paper (15,200 weights)  30.02     28.68  12.13  train 472 s, all 768 s wall, 383 s CPU
wide (33,280 weights)   33.17     29.58  12.67  train 661 s, all 973 s wall, 528 s CPU
=====================  ========  =====  =====  ==========================================

With ``--weight-scaling column`` (same models, ``cosim field eval``): HAQ 31.95 dB
(wide) and 29.70 dB (paper, whose software there is 30.32 dB). ``--wide
--weight-scaling column`` end to end, 2026-11-28, one core, load about 2: 33.17 /
31.95 / 13.03 dB, train 350 s, all 441 s wall (432 s CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phantom", default="40x128x128")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16384)
    ap.add_argument("--backend", default="ideal")
    ap.add_argument("--encoding", default="gaussian")
    ap.add_argument("--sigma", type=float, default=None)
    ap.add_argument("--wide", action="store_true")
    ap.add_argument("--weight-scaling", default="matrix", choices=("matrix", "column"))
    ap.add_argument("-o", "--out", default=None)
    a = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    from cosim.commands.field import parse_shape
    from cosim.engine.options import SimOptions
    from cosim.hardware.presets import preset
    from cosim.workloads.field.encoder import EncoderConfig
    from cosim.workloads.field.field import FieldConfig, run_field
    from cosim.workloads.field.mlp import PAPER_MLP, WIDE, TrainConfig

    cfg = FieldConfig(phantom_shape=parse_shape(a.phantom),
                            encoder=EncoderConfig(kind=a.encoding, sigma=a.sigma),
                            mlp=WIDE if a.wide else PAPER_MLP,
                            weight_scaling=a.weight_scaling,
                            training=TrainConfig(steps=a.steps, batch=a.batch))
    t0 = time.perf_counter()
    r = run_field(cfg, preset("paper"), SimOptions(backend=a.backend))
    total = time.perf_counter() - t0
    s = r.summary()
    out = {k: s[k] for k in s if k.startswith(("psnr", "ssim"))}
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.update(timings_s=s["timings_s"], total_s=total, cpu_s=ru.ru_utime + ru.ru_stime,
               load_1min=os.getloadavg()[0], hardware=s["hardware_text"],
               encoding=cfg.encoder.kind, scale=cfg.encoder.scale, network=str(cfg.mlp),
               steps=cfg.training.steps, batch=cfg.training.batch,
               weights=s["weights"], voxels=s["voxels"], weight_scaling=a.weight_scaling)
    if a.out:
        from cosim.outputs.field import write_field

        write_field(r, a.out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
