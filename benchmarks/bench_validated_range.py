"""Accuracy of the ``calibrated`` 1T1R backend against ``spice`` over its accepted range.

For each array size, conductance range and read voltage, one random array
(conductances uniform in the range) is programmed into a ``calibrated`` tile
(the tangent transfer), a ``calibrated`` tile with ``exact_nonlinear=True``
(Newton on every vector) and a ``spice`` tile, and each gets the same input
vectors: uniform in ``[-1, 1]`` plus all rows at +1 and all rows at -1.
Reported: ``max|y - y_spice| / max|y_spice|`` (of full scale) for the tangent
and for Newton, and whether the configuration warns (``OutsideValidatedRange``).
1T1R, default BSIM4 access transistor, 1 ohm wire segments, no driver or
sense resistance, no quantisation, no noise. Run from the project root::

    python benchmarks/bench_validated_range.py [--sizes 8 16] [--cols N] [--vectors 8]
        [--ranges 1-100] [--volts 0.1] [--json]

``--cols`` makes every array ``size x N`` (rows x columns) instead of square, for
tall blocks such as a layer's 100-row block of 12 bit columns.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cosim.engine.options import SimOptions  # noqa: E402
from cosim.engine.tile import Tile, compare, make_tile  # noqa: E402
from cosim.hardware.presets import preset  # noqa: E402

G_RANGES_SIEMENS = {
    "HRS-LRS (1-29.22 uS)": (1.0e-6, 29.22e-6),
    "1-100 uS": (1.0e-6, 100e-6),
    "1-200 uS": (1.0e-6, 200e-6),
}
READ_VOLTS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)


def _hardware(v_read: float):
    """1T1R cells (the default access transistor), 1 ohm wire segments, an ideal virtual
    ground, no converters, no noise, read at ``v_read``."""
    return preset("paper").with_parts(cell={"kind": "1T1R"}, array={"r_wire_ohm": 1.0},
                                      readout={"v_read_volt": v_read},
                                      noise={"write": 0.0, "read": 0.0})


def _tile(backend: str, v_read: float, **kw) -> Tile:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_tile(_hardware(v_read), SimOptions(backend=backend, use_cache=False, **kw))


def _warns(v_read: float, g: np.ndarray) -> bool:
    """Whether building and programming this tile warns that it leaves the validated range."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = make_tile(_hardware(v_read), SimOptions(backend="calibrated", use_cache=False))
        t.program(g)
        t.prepare()  # the transfer's extraction checks the conductances
    return any(type(w.message).__name__ == "OutsideValidatedRange" for w in caught)


def measure(n: int, g_range: tuple[float, float], v_read: float, n_vectors: int,
            seed: int = 0, cols: int | None = None) -> dict[str, float | int | bool]:
    rng = np.random.default_rng(seed)
    m = n if cols is None else cols
    g = rng.uniform(*g_range, size=(n, m))
    x = np.vstack([rng.uniform(-1.0, 1.0, size=(n_vectors, n)), np.ones((1, n)),
                   -np.ones((1, n))])
    ref = _tile("spice", v_read)
    arr = ref.program(g)
    t0 = time.perf_counter()
    y_ref = ref.mvm(x).y
    t_spice = time.perf_counter() - t0
    out: dict[str, float | int | bool] = {"n": n, "cols": m, "v_read": v_read,
                                          "g_lo_us": g_range[0] * 1e6,
                                          "g_hi_us": g_range[1] * 1e6, "spice_s": t_spice}
    for name, kw in (("tangent", {}), ("newton", {"exact_nonlinear": True})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warns column reports them
            t = _tile("calibrated", v_read, **kw)
            t.load(arr)
            out[name] = compare(t.mvm(x).y, y_ref)["max_rel_error"]
    out["warns"] = _warns(v_read, g)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--cols", type=int, default=None, help="columns (default: square)")
    ap.add_argument("--ranges", nargs="+", default=list(G_RANGES_SIEMENS),
                    help="conductance ranges, by the start of their label (e.g. 1-100)")
    ap.add_argument("--vectors", type=int, default=8, help="random vectors per case (+2)")
    ap.add_argument("--volts", type=float, nargs="+", default=list(READ_VOLTS))
    ap.add_argument("--json", action="store_true", help="one JSON line per case")
    args = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    print(f"{'size':>7} {'conductances':<22} {'v_read':>6} {'tangent':>9} {'newton':>9} "
          f"{'warns':>5}", flush=True)
    ranges = {k: v for k, v in G_RANGES_SIEMENS.items()
              if any(k.startswith(r) for r in args.ranges)}
    if not ranges:
        ap.error(f"--ranges: none of {args.ranges} starts a range label ({list(G_RANGES_SIEMENS)})")
    for n in args.sizes:
        for label, g_range in ranges.items():
            for v in args.volts:
                r = measure(n, g_range, v, args.vectors, cols=args.cols)
                if args.json:
                    print(json.dumps(r), flush=True)
                else:
                    print(f"{n:>3}x{r['cols']:<3} {label:<22} {v:>6.2f} {r['tangent']:>9.2e} "
                          f"{r['newton']:>9.2e} {'yes' if r['warns'] else 'no':>5}",
                          flush=True)


if __name__ == "__main__":
    main()
