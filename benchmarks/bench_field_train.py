"""Benchmark of the neural field's training step: seconds per Adam step against the batch.

Usage::

    .venv/bin/python benchmarks/bench_field_train.py [--phantom 40x128x128]
        [--batches 4096,16384,0] [--steps 40] [--full-steps 4] [--sigma S]

For each batch (voxels per step; 0: every voxel of the volume) the paper
network is trained for twice ``--steps`` steps (``--full-steps`` for the full
batch) and the second half timed (the first compiles and warms the step):
wall and CPU seconds per step and per 1,000 steps, voxels per CPU second.
Prints one line per batch and the load average before and after. Figures:
``docs/measurements/field.md``.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phantom", default="40x128x128")
    ap.add_argument("--batches", default="4096,16384,0")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--full-steps", type=int, default=4)
    ap.add_argument("--sigma", type=float, default=None)
    a = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    import numpy as np

    from cosim.commands.field import parse_counts, parse_shape
    from cosim.engine.options import SimOptions
    from cosim.hardware.presets import preset
    from cosim.workloads.field.encoder import EncoderConfig
    from cosim.workloads.field.field import FieldConfig, prepare
    from cosim.workloads.field.mlp import TrainConfig, init_params, train

    print(f"# load before: {os.getloadavg()}")
    cfg = FieldConfig(phantom_shape=parse_shape(a.phantom),
                      encoder=EncoderConfig(sigma=a.sigma))
    prep = prepare(cfg, preset("paper"), SimOptions(backend="ideal"))
    feats, target = prep.feats, prep.truth.ravel()
    p0 = init_params(cfg.mlp, feats.shape[1], np.random.default_rng(0))
    for batch in parse_counts(a.batches, "--batches"):
        n = a.full_steps if batch == 0 or batch >= len(target) else a.steps
        marks = []  # the clocks after step n (compiled, warm) and after step 2n
        train(p0, feats, target, cfg.mlp, TrainConfig(steps=2 * n, batch=batch),
              monitor=lambda step, p, marks=marks: marks.append(
                  (time.perf_counter(), time.process_time())),
              monitor_every=n)
        wall, cpu = ((b - a) / n for a, b in zip(marks[0], marks[1], strict=True))
        voxels = batch if 0 < batch < len(target) else len(target)
        print(f"batch {batch or 'all'} ({voxels} voxels): {wall:.4f} s wall, {cpu:.4f} s CPU "
              f"per step; {1000 * wall:.0f} s wall, {1000 * cpu:.0f} s CPU per 1,000 steps; "
              f"{voxels / cpu:,.0f} voxels per CPU second ({n} steps timed)", flush=True)
    print(f"# load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
