"""HAQ through the realistic read path: time, writes and reads per cell against the plain scheme.

The plain scheme is the NF paper's HAQ (one pass, each bit verified once,
``haq_passes = 1``); the realistic one re-verifies with the MVM's own transfer
(``haq_passes``, default the realistic preset's). Both program the same random
matrix through the same tile: 1T1R cells, the 40 nm wire figure, TIA readout,
IR-aware placement. Printed per scheme: wall time of programming, cell writes and
cell reads per programmed cell, transfer reads (array reads) and the MVM
RMSE of the NF test's inputs. The load average before and after is printed:
other work on the machine skews the times.

The issue's size is a 512 x 512 matrix at 16 bits (4.2 million cells); one
transfer read of it costs one transfer extraction per macro, so the time
scales with the number of macros times the reads. Usage::

    .venv/bin/python benchmarks/bench_haq_read_path.py [--rows 512] [--cols 512] [--bits 16]
"""

from __future__ import annotations

import argparse
import os
import time

from cosim.engine.options import SimOptions
from cosim.hardware.presets import preset
from cosim.workloads.haq.mvm import HaqExperimentConfig, run_mvm_experiment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--cols", type=int, default=512)
    ap.add_argument("--bits", type=int, default=16)
    ap.add_argument("--passes", type=int, default=None,
                    help="default: the realistic preset's")
    ap.add_argument("--r-wire", type=float, default=None, help="default: the 40 nm figure")
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    print(f"load average before: {os.getloadavg()}")
    extra = {} if args.r_wire is None else {"array": {"r_wire_ohm": args.r_wire}}
    sim = SimOptions()
    for passes in (1, args.passes or preset("realistic").programming.haq_passes):
        cfg = HaqExperimentConfig(vector_length=args.rows, n_outputs=args.cols,
                                  n_bits=args.bits, n_vectors=100, read_cycles=0)
        hardware = preset("realistic").with_parts(programming={"haq_passes": passes}, **extra)
        lay = cfg.layout(hardware, sim)
        t0 = time.perf_counter()
        res = run_mvm_experiment(cfg, hardware, sim)
        wall = time.perf_counter() - t0
        ev = res.haq.programmed.events
        cells = res.haq.programmed.g_target_siemens.size
        array_reads = ev.dac_conversions / (args.rows * (args.rows + 1)) if ev.dac_conversions \
            else float("nan")
        print(f"passes {passes}: {args.rows} x {args.cols} at {args.bits} bits, "
              f"{lay.macros} macros ({lay.rows_used} x {lay.cols_used} used of "
              f"{lay.macro_rows} x {lay.macro_cols}); "
              f"program HAQ {res.timings_s['program_haq']:.1f} s "
              f"(whole test {wall:.1f} s); writes/cell {ev.cell_writes / cells:.3f}, "
              f"cell reads/cell {ev.cell_reads / cells:.2f}, transfer reads {array_reads:.0f}; "
              f"RMSE PTQ {res.ptq.rmse:.4f} HAQ {res.haq.rmse:.4f}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
