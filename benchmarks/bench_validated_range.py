"""Measured error of the ``calibrated`` backend's 1T1R read models: the data it states.

For every block height, width, cell range and read voltage of the grid, one
random array (conductances uniform in the range) and one batch of input
vectors (``inputs``: ``--vectors`` uniform in ``[-1, 1]``, two random ``+-1``,
every row at ``+-1``, ``+-0.75``, ``+-0.5`` and ``+-0.25``, two uniform in
``[0, 1]`` and two in ``[-1, 0]``) are solved by

- the fast model (``cosim.engine.read_models.LocalSecant``: every cell's chord
  over the read range and each column's cubic correction, ``LocalSecant.currents``,
  what ``calibrated`` uses by default; its affine part alone is printed beside it),
- the exact model (``ExactSolver``: chord iterations to convergence,
  ``exact_nonlinear=True``),
- and, where ngspice runs in reasonable time (``rows x cols <= --spice-cells``),
  ngspice 39 with ``RELTOL = 1e-9``, ``ABSTOL = 1e-18`` and ``VNTOL = 1e-12``
  (its default ``RELTOL = 1e-3`` leaves differences of 1e-5 of full scale of
  its own; ``--default-tol`` runs it with its defaults instead).

The error of a model against a reference is ``max|y - y_ref| / max|y_ref|``
over the batch (of full scale). Rows of the data: ``fast`` against ``exact``
(every case), ``exact`` and ``fast`` against ``spice`` (where it ran). The
array: 1T1R, default BSIM4 access transistor (tabulated from ngspice), wire
segments of ``circuits.interconnect.R_WIRE_40NM_OHM``, no driver or sense
resistance, no quantisation, no noise. Run from the project root with one
BLAS thread::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_validated_range.py \\
        [--rows 16 64] [--cols 8] [--ranges 1-29] [--volts 0.1] [--vectors 8]
        [--write cosim/engine/data/measured_error.csv] [--json]

``--write`` stores every row (the file the backend reads: its stated error and its
``OutsideValidatedRange`` warnings); without it the rows are printed only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from circuits.crossbar import CrossbarParams, batch_sweep, crossbar, output_sources  # noqa: E402
from circuits.interconnect import R_WIRE_40NM_OHM  # noqa: E402
from circuits.runner import run  # noqa: E402
from cosim.engine import read_models  # noqa: E402
from cosim.engine.backends.calibrated import MEASURED_FIELDS  # noqa: E402
from cosim.engine.read_models import BIAS_FRACTION  # noqa: E402

G_RANGES_SIEMENS = {
    "1-29.22": (1.0e-6, 29.22e-6),   # HRS to LRS: binary cells
    "1-60": (1.0e-6, 60e-6),         # formed pairs (mean 29.22 uS, 5.46 uS std) and written LRS
    "1-100": (1.0e-6, 100e-6),
    "1-200": (1.0e-6, 200e-6),       # the device maximum
}
READ_VOLTS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
ROWS = (2, 4, 8, 16, 32, 64, 128, 256, 512)
COLS = (8, 96, 512)
TIGHT_OPTIONS = ".options reltol=1e-9 abstol=1e-18 vntol=1e-12"


COHERENT_LEVELS = (1.0, 0.75, 0.5, 0.25)
"""Levels of the coherent inputs (every row at the same level, both signs): +-1 load the
source lines most, the middle levels are where a chord is furthest from its cell."""


def inputs(rng: np.random.Generator, n_vectors: int, rows: int) -> np.ndarray:
    """Test inputs in [-1, 1]: ``n_vectors`` uniform, two random +-1, every row at
    ``+-COHERENT_LEVELS``, two uniform in [0, 1] and two in [-1, 0]."""
    coherent = [s * lev * np.ones((1, rows)) for lev in COHERENT_LEVELS for s in (1.0, -1.0)]
    return np.vstack([rng.uniform(-1.0, 1.0, size=(n_vectors, rows)),
                      np.where(rng.random((2, rows)) < 0.5, -1.0, 1.0), *coherent,
                      rng.uniform(0.0, 1.0, size=(2, rows)),
                      -rng.uniform(0.0, 1.0, size=(2, rows))])


def spice_currents(p: CrossbarParams, v: np.ndarray, tight: bool = True,
                   timeout_s: float = 3600.0) -> np.ndarray:
    """(B, cols) output currents of ``p`` for inputs ``v`` (V) from one ngspice run."""
    lines = ([TIGHT_OPTIONS] if tight else []) + [batch_sweep(v.shape[0]).line()]
    sources = output_sources(p)
    res = run(crossbar(p, v_in_volt=v), lines, save=[f"i({s})" for s in sources],
              timeout_s=timeout_s)
    return np.column_stack([res.i(s) for s in sources]).reshape(v.shape[0], len(sources))


def rel(y: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(y - ref).max() / np.abs(ref).max())


def measure(rows: int, cols: int, g_range: tuple[float, float], v_read: float,
            n_vectors: int, spice_cells: int, tight: bool, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    g = rng.uniform(*g_range, size=(rows, cols))
    p = CrossbarParams(g_siemens=g, cell="1T1R", r_wire_bl_ohm=R_WIRE_40NM_OHM,
                       r_wire_sl_ohm=R_WIRE_40NM_OHM)
    v = inputs(rng, n_vectors, rows) * v_read
    case = {"rows": rows, "cols": cols, "g_lo_us": g_range[0] * 1e6,
            "g_hi_us": g_range[1] * 1e6, "v_read_volt": v_read, "vectors": v.shape[0]}
    t0 = time.perf_counter()
    fast = read_models.LocalSecant(p, v_read)
    y_fast = fast.currents(v)
    t_fast = time.perf_counter() - t0
    y_affine = v @ fast.M + fast.c
    t0 = time.perf_counter()
    try:
        y_exact = read_models.ExactSolver(p, BIAS_FRACTION * v_read, v_read).currents(v)
    except Exception as exc:  # noqa: BLE001 - a case that fails is reported, not fatal
        print(f"# {rows}x{cols} {g_range} {v_read} V: exact model failed: {exc}",
              file=sys.stderr)
        return []
    t_exact = time.perf_counter() - t0
    out = [case | {"model": "fast", "reference": "exact", "max_error": rel(y_fast, y_exact),
                   "affine_error": rel(y_affine, y_exact), "seconds": round(t_fast, 3)}]
    if rows * cols <= spice_cells:
        t0 = time.perf_counter()
        try:
            y_spice = spice_currents(p, v, tight)
        except Exception as exc:  # noqa: BLE001
            print(f"# {rows}x{cols} {g_range} {v_read} V: ngspice failed: {exc}",
                  file=sys.stderr)
            return out
        t_spice = time.perf_counter() - t0
        ref = "spice" if tight else "spice-default-tol"
        out.append(case | {"model": "exact", "reference": ref,
                           "max_error": rel(y_exact, y_spice), "seconds": round(t_exact, 3)})
        out.append(case | {"model": "fast", "reference": ref,
                           "max_error": rel(y_fast, y_spice), "seconds": round(t_spice, 3)})
    return out


def _cell(name: str, value: object) -> object:
    """A CSV cell: errors rounded up to two significant digits (a stated bound)."""
    if name == "max_error":
        x = float(value)
        if x == 0.0 or not np.isfinite(x):
            return f"{x:.1e}"
        scale = 10.0 ** (np.floor(np.log10(x)) - 1)
        return f"{np.ceil(x / scale) * scale:.1e}"
    return f"{value:g}" if isinstance(value, float) else value


def summary(path: Path) -> str:
    """Markdown tables of a measured-error file: the fast model against the exact one per
    cell range (block by read voltage), and the exact model against ngspice."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    fast = [r for r in rows if (r["model"], r["reference"]) == ("fast", "exact")]
    volts = sorted({float(r["v_read_volt"]) for r in fast})
    for g in sorted({float(r["g_hi_us"]) for r in fast}):
        sel = [r for r in fast if float(r["g_hi_us"]) == g]
        out.append(f"\nFast model against the exact one, cells 1-{g:g} uS "
                   "(max error, of full scale):\n")
        out.append("| block | " + " | ".join(f"{v:g} V" for v in volts) + " |")
        out.append("|---|" + "---:|" * len(volts))
        for rc in sorted({(int(r["rows"]), int(r["cols"])) for r in sel}):
            cells = {float(r["v_read_volt"]): r["max_error"] for r in sel
                     if (int(r["rows"]), int(r["cols"])) == rc}
            out.append(f"| {rc[0]} x {rc[1]} | " + " | ".join(cells.get(v, "-") for v in volts)
                       + " |")
    for ref in ("spice", "spice-default-tol"):
        ex = [float(r["max_error"]) for r in rows if (r["model"], r["reference"]) == ("exact", ref)]
        if ex:
            blocks = sorted({(int(r["rows"]), int(r["cols"])) for r in rows
                             if (r["model"], r["reference"]) == ("exact", ref)})
            out.append(f"\nExact model against ngspice ({ref}): {len(ex)} cases (blocks "
                       f"{', '.join(f'{a} x {b}' for a, b in blocks)}), max {max(ex):.1e}, "
                       f"median {np.median(ex):.1e}.")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=list(ROWS))
    ap.add_argument("--cols", type=int, nargs="+", default=list(COLS))
    ap.add_argument("--ranges", nargs="+", default=list(G_RANGES_SIEMENS),
                    help="conductance ranges in uS, by label (e.g. 1-29.22)")
    ap.add_argument("--volts", type=float, nargs="+", default=list(READ_VOLTS))
    ap.add_argument("--vectors", type=int, default=8, help="uniform random vectors per case")
    ap.add_argument("--spice-cells", type=int, default=4096,
                    help="largest rows x cols checked against ngspice")
    ap.add_argument("--default-tol", action="store_true",
                    help="run ngspice with its default tolerances")
    ap.add_argument("--write", type=Path, default=None, help="CSV file to write")
    ap.add_argument("--append", action="store_true",
                    help="keep the file's other rows (a row of the same model, reference "
                         "and case is replaced)")
    ap.add_argument("--json", action="store_true", help="one JSON line per row")
    ap.add_argument("--summary", type=Path, default=None,
                    help="print Markdown tables of this measured-error file and stop")
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    if args.summary is not None:
        print(summary(args.summary))
        return
    unknown = [r for r in args.ranges if r not in G_RANGES_SIEMENS]
    if unknown:
        ap.error(f"--ranges: unknown {unknown}; known: {list(G_RANGES_SIEMENS)}")
    print(f"# load average {os.getloadavg()[0]:.1f}; BLAS threads "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}", flush=True)
    rows_out: list[dict] = []
    for rows in args.rows:
        for cols in args.cols:
            for label in args.ranges:
                for v in args.volts:
                    got = measure(rows, cols, G_RANGES_SIEMENS[label], v, args.vectors,
                                  args.spice_cells, not args.default_tol)
                    rows_out += got
                    for r in got:
                        if args.json:
                            print(json.dumps(r), flush=True)
                        else:
                            print(f"{rows:>4}x{cols:<4} {label:>8} uS {v:>5.2f} V "
                                  f"{r['model']:>5} vs {r['reference']:<6} "
                                  f"{r['max_error']:9.2e}  ({r['seconds']} s)"
                                  + (f"  affine part alone {r['affine_error']:9.2e}"
                                     if "affine_error" in r else ""), flush=True)
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        new = [{k: str(_cell(k, r[k])) for k in MEASURED_FIELDS} for r in rows_out]
        old = []
        if args.append and args.write.exists():
            with args.write.open(newline="") as f:
                old = list(csv.DictReader(f))
        key = ("model", "reference", "rows", "cols", "g_hi_us", "v_read_volt")
        fresh = {tuple(r[k] for k in key) for r in new}
        rows_all = [r for r in old if tuple(r[k] for k in key) not in fresh] + new
        with args.write.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=MEASURED_FIELDS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows_all)
        print(f"# wrote {len(rows_all)} rows to {args.write}")


if __name__ == "__main__":
    main()
