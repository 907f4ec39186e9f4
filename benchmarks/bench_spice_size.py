"""Peak memory and time of one ngspice run of the ``spice`` backend, by array size.

For each square size this builds exactly the deck one ``spice`` tile run hands
ngspice (``cosim mvm``'s array: 0T1R by default, 1 ohm wire segments,
conductances uniform in [HRS, LRS], a batch of inputs as one DC sweep of the
control source, the column currents saved) and runs it in ngspice once,
launched from a small child process so that the peak resident memory
(``ru_maxrss``) is ngspice's own. It prints, per size, the wall time, the peak
memory, the memory per cell and the growth exponents between sizes; these
figures are behind the ``spice`` size estimate of ``cosim mvm``
(``cosim.engine.backends.spice.spice_run_estimate``).

Usage (from the project root; 128 x 128 takes minutes)::

    .venv/bin/python benchmarks/bench_spice_size.py [--sizes 32 64 96 128] [--batch 8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import apply_thread_rule  # noqa: E402

from circuits.crossbar import batch_sweep, crossbar, output_sources  # noqa: E402
from circuits.netlist import MODEL_DIR  # noqa: E402
from circuits.runner import ngspice_executable  # noqa: E402
from cosim.engine.options import SimOptions  # noqa: E402
from cosim.engine.tile import make_tile  # noqa: E402
from cosim.hardware.presets import preset  # noqa: E402

LAUNCHER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
out = subprocess.run(sys.argv[1:], capture_output=True, check=False)
print(json.dumps({"wall_s": time.perf_counter() - t0, "returncode": out.returncode,
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def deck(n: int, batch: int, cell: str, seed: int = 0) -> tuple[str, tuple[str, ...]]:
    """The deck of one ``spice`` run of an ``n x n`` array on ``batch`` input vectors,
    and the model files it includes."""
    hw = preset("paper").with_parts(cell={"kind": cell}, array={"r_wire_ohm": 1.0},
                                    noise={"write": 0.0})
    rng = np.random.default_rng(seed)
    g = rng.uniform(hw.rram.g_hrs_siemens, hw.rram.g_lrs_siemens, size=(n, n))
    tile = make_tile(hw, SimOptions(backend="spice", use_cache=False), seed=seed)
    tile.program(g)
    p = tile.macro_params()[0]
    v = rng.uniform(-1.0, 1.0, size=(batch, p.rows)) * 0.2
    save = ".save " + " ".join(f"i({s})" for s in output_sources(p))
    netlist = crossbar(p, v_in_volt=v)
    return netlist.text((batch_sweep(batch).line(), save)), tuple(netlist.models)


def measure(n: int, batch: int, cell: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-spice-size-") as tmp:
        text, models = deck(n, batch, cell)
        for model in models:
            shutil.copyfile(MODEL_DIR / model, Path(tmp) / model)
        path = Path(tmp) / "deck.cir"
        path.write_text(text)
        out = subprocess.run([sys.executable, "-c", LAUNCHER, ngspice_executable(), "-b",
                              "-r", "out.raw", "deck.cir"], cwd=tmp, capture_output=True,
                             text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        row = json.loads(out.stdout)
        if row["returncode"] != 0:
            raise SystemExit(f"ngspice failed at {n} x {n}")
        return {"n": n, "cells": n * n, "deck_bytes": path.stat().st_size,
                "wall_s": row["wall_s"], "peak_mib": row["peak_kib"] / 1024.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 96, 128])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--cell", default="0T1R")
    args = ap.parse_args()
    apply_thread_rule()
    rows = [measure(n, args.batch, args.cell) for n in args.sizes]
    print(f"{args.cell}, 1 ohm wires, batch {args.batch}; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'n':>5} {'cells':>7} {'deck MiB':>9} {'wall s':>8} {'peak MiB':>9} "
          f"{'KiB/cell':>9} {'time exp':>9} {'mem exp':>8}")
    for prev, row in zip([None, *rows[:-1]], rows, strict=True):
        t_exp = m_exp = float("nan")
        if prev is not None:
            scale = math.log(row["cells"] / prev["cells"])
            t_exp = math.log(row["wall_s"] / prev["wall_s"]) / scale
            m_exp = math.log(row["peak_mib"] / prev["peak_mib"]) / scale
        print(f"{row['n']:>5} {row['cells']:>7} {row['deck_bytes'] / 2**20:>9.2f} "
              f"{row['wall_s']:>8.2f} {row['peak_mib']:>9.1f} "
              f"{1024 * row['peak_mib'] / row['cells']:>9.2f} {t_exp:>9.2f} {m_exp:>8.2f}")


if __name__ == "__main__":
    main()
