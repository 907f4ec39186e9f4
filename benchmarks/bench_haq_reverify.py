"""HAQ's re-verify passes under wire resistance: effective weight error of one field-sized layer.

Programs one Gaussian weight matrix (default 131 x 100, the size of the neural
field's hidden layers) with HAQ (14 bits, s = 1.5) on the realistic preset,
with and without its wires and read noise, with one pass (the NF paper's
scheme) and with the preset's passes. Printed per case: the RMSE (of full
scale) of the weights the programmed array gives (the layer's forward of
one-hot inputs on the same placement without read noise: what the MVM
computes), the RMSE the last verify read saw, the column-mean error, cell
writes per cell, array reads, and the wall time of programming. The load
average before and after is printed: other work on the machine skews the times.

Usage::

    .venv/bin/python benchmarks/bench_haq_reverify.py [--rows 131] [--cols 100] [--bits 14]
        [--passes N] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.layers.analog import AnalogLayer
from cosim.layers.placed import placed_tile
from cosim.programming.binary import HAQ


def one_case(rows: int, cols: int, bits: int, passes: int, r_wire: float, read: float,
             seed: int) -> str:
    hw = preset("realistic").with_parts(noise={"read": read}, array={"r_wire_ohm": r_wire},
                                        programming={"haq_passes": passes})
    w = np.random.default_rng(seed).normal(size=(rows, cols))
    sim = SimOptions()
    t0 = time.perf_counter()
    layer = AnalogLayer.place(HAQ(n_bits=bits, amp_ratio=1.5), hw, sim, w=w, seed=seed)
    wall = time.perf_counter() - t0
    quiet = placed_tile(hw.with_parts(noise={"read": 0.0}), sim, rows, cols * bits, bits,
                        seed=seed)[0]
    y, _ = AnalogLayer(quiet, layer.programmed).forward(np.eye(rows))
    full = np.abs(w).max()
    err = (y - w) / full
    seen = (layer.programmed.w_verify - w) / full
    ev = layer.programmed.events
    cells = layer.programmed.g_target_siemens.size
    reads = ev.dac_conversions / (rows * (rows + 1)) if ev.dac_conversions else float("nan")
    return (f"r_wire {r_wire:g} ohm, read noise {read:g}, passes {passes}: weight RMSE "
            f"{np.sqrt(np.mean(err ** 2)):.3e} (verify read {np.sqrt(np.mean(seen ** 2)):.3e}, "
            f"column means {np.sqrt(np.mean(err.mean(axis=0) ** 2)):.1e}); writes/cell "
            f"{ev.cell_writes / cells:.2f}, array reads {reads:.0f}, "
            f"{layer.placement.macros} macros; programming {wall:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=131)
    ap.add_argument("--cols", type=int, default=100)
    ap.add_argument("--bits", type=int, default=14)
    ap.add_argument("--passes", type=int, default=None,
                    help="re-verify passes (default: the realistic preset's)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    passes = args.passes or preset("realistic").programming.haq_passes
    r_wire = preset("realistic").array.r_wire_ohm
    read = preset("realistic").noise.read
    print(f"load average before: {os.getloadavg()}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fast 1T1R model's range notes
        for wire, noise, p in [(r_wire, read, 1), (r_wire, read, passes), (r_wire, 0.0, passes),
                               (0.0, read, passes), (0.0, 0.0, passes)]:
            print(one_case(args.rows, args.cols, args.bits, p, wire, noise, args.seed),
                  flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
