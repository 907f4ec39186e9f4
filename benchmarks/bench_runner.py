"""Batch-mode ngspice (``circuits.runner``) against PySpice's shared-library mode.

Same crossbar decks (0T1R, wire resistance on every segment), two questions:

1. Wall time of one operating point: a fresh ``ngspice -b`` process per deck
   (our runner: write deck, run, read the raw file) against ``libngspice`` in
   this process through PySpice (load the circuit, run, read the vectors,
   ``remove_circuit()``).
2. The ``.dc``-sweep batch trick: K input vectors in one run. The generator
   drives each row from a behavioural source ``V = pwl(v(ctl), 0, x0, 1, x1, ...)``
   of a control source swept ``0..K-1`` (``crossbar(p, v_in_volt=X)`` with X of
   shape (K, rows), ``batch_sweep(K)``), so one ``.dc`` sweep solves K vectors.
   Reported per vector, against one operating point per vector.

Every figure is the median over repeats of the wall time; the currents of the
two modes are compared so the timing is of the same work.

Usage::

    .venv/bin/python benchmarks/bench_runner.py [--quick] [--repeats N] [--vectors K]
"""

from __future__ import annotations

import argparse
import ctypes.util
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from circuits.analyses import Op  # noqa: E402
from circuits.crossbar import CrossbarParams, batch_sweep, crossbar, output_sources  # noqa: E402
from circuits.devices import TAOX_40NM  # noqa: E402
from circuits.netlist import MODEL_DIR, Netlist  # noqa: E402
from circuits.runner import ngspice_version, run  # noqa: E402

V_READ = 0.2
"""Largest input voltage of the random input vectors (V)."""


def crossbar_params(n: int, seed: int = 1) -> CrossbarParams:
    """An n x n 0T1R crossbar, 1 ohm per wire segment, random conductances."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(TAOX_40NM.g_hrs_siemens, TAOX_40NM.g_lrs_siemens, size=(n, n))
    return CrossbarParams(g_siemens=g, cell="0T1R", r_wire_bl_ohm=1.0, r_wire_sl_ohm=1.0)


def input_vectors(n: int, k: int, seed: int = 2) -> np.ndarray:
    """K random input vectors, shape (k, n), in [0, V_READ] volts."""
    return np.random.default_rng(seed).uniform(0.0, V_READ, size=(k, n))


def sense_names(p: CrossbarParams) -> list[str]:
    return [s.lower() for s in output_sources(p)]


# --- batch mode ------------------------------------------------------------------------------

def time_batch_op(p: CrossbarParams, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Wall time of one op through circuits.runner, and the sense currents."""
    net = crossbar(p, v_in_volt=x)
    t0 = time.perf_counter()
    res = run(net, Op())
    i = np.array([res.i(s)[0] for s in sense_names(p)])
    return time.perf_counter() - t0, i


def time_batch_sweep(p: CrossbarParams, xs: np.ndarray) -> tuple[float, np.ndarray]:
    """Wall time of one K-point sweep through circuits.runner, and currents (K, cols)."""
    net = crossbar(p, v_in_volt=xs)
    t0 = time.perf_counter()
    res = run(net, batch_sweep(len(xs)))
    i = np.stack([res.i(s) for s in sense_names(p)], axis=1)
    return time.perf_counter() - t0, i


# --- shared-library mode ---------------------------------------------------------------------

class Shared:
    """PySpice's NgSpiceShared with the project's model files in a temporary folder."""

    def __init__(self) -> None:
        os.environ.setdefault("NGSPICE_LIBRARY_PATH",
                              ctypes.util.find_library("ngspice") or "libngspice.so.0")
        logging.getLogger("PySpice").setLevel(logging.ERROR)
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared

        self.ng = NgSpiceShared.new_instance()
        self.model_dir = Path(tempfile.mkdtemp(prefix="bench-models-"))
        for model in os.listdir(MODEL_DIR):
            shutil.copyfile(MODEL_DIR / model, self.model_dir / model)

    def solve(self, net: Netlist, analysis: str, p: CrossbarParams) -> tuple[float, np.ndarray]:
        """Wall time of load + run + read + remove_circuit, and currents (points, cols)."""
        text = net.text((analysis,), model_dir=str(self.model_dir))
        t0 = time.perf_counter()
        self.ng.load_circuit(text)
        self.ng.run()
        vectors = self.ng.plot(None, self.ng.last_plot)
        i = np.stack([np.asarray(vectors[f"{s}#branch"]._data, dtype=float).real
                      for s in sense_names(p)], axis=1)
        self.ng.remove_circuit()
        return time.perf_counter() - t0, i

    def close(self) -> None:
        shutil.rmtree(self.model_dir, ignore_errors=True)


# --- report ----------------------------------------------------------------------------------

def median_ms(times: list[float]) -> float:
    return 1e3 * statistics.median(times)


def bench_size(n: int, repeats: int, k: int, shared: Shared) -> list[tuple]:
    p = crossbar_params(n)
    xs = input_vectors(n, k)
    reps = [xs[i % k] for i in range(repeats)]
    b = [time_batch_op(p, x) for x in reps]
    s = [shared.solve(crossbar(p, v_in_volt=x), ".op", p) for x in reps]
    op_err = max(np.max(np.abs(bi[1] - si[1][0])) for bi, si in zip(b, s, strict=True))
    bs = [time_batch_sweep(p, xs) for _ in range(repeats)]
    ss = [shared.solve(crossbar(p, v_in_volt=xs), batch_sweep(k).line(), p)
          for _ in range(repeats)]
    sw_err = max(np.max(np.abs(a[1] - c[1])) for a, c in zip(bs, ss, strict=True))
    size = f"{n}x{n}"
    return [
        (size, "batch ngspice, one op", median_ms([t for t, _ in b]), op_err),
        (size, "PySpice shared, one op", median_ms([t for t, _ in s]), op_err),
        (size, f"batch ngspice, .dc sweep of {k} vectors, per vector",
         median_ms([t for t, _ in bs]) / k, sw_err),
        (size, f"PySpice shared, .dc sweep of {k} vectors, per vector",
         median_ms([t for t, _ in ss]) / k, sw_err),
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8x8 and 16x16, 3 repeats, 16 vectors")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--vectors", type=int, default=None)
    args = ap.parse_args(argv)
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    sizes = (8, 16) if args.quick else (16, 32)
    repeats = args.repeats or (3 if args.quick else 9)
    k = args.vectors or (16 if args.quick else 64)
    shared = Shared()
    print(f"# ngspice batch vs PySpice shared ({ngspice_version()}), 0T1R, 1 ohm wire segments")
    print(f"median of {repeats} repeats; max |difference| of the sense currents between modes\n")
    print("| array | mode | wall per operating point (ms) | max abs diff (A) |")
    print("|---|---|---:|---:|")
    try:
        for n in sizes:
            for size, mode, ms, err in bench_size(n, repeats, k, shared):
                print(f"| {size} | {mode} | {ms:.3f} | {err:.1e} |", flush=True)
    finally:
        shared.close()


if __name__ == "__main__":
    main()
