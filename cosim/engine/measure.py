"""Throughput, set-up time, memory and error of one tile backend (``cosim mvm``)."""

from __future__ import annotations

import resource
import time
from dataclasses import replace

import numpy as np

from circuits.errors import check_choice, check_int
from cosim.engine.backends import BACKENDS
from cosim.engine.tile import TileConfig, compare, make_tile


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_mvm(*, rows: int, cols: int, backend: str, batch: int, r_wire_ohm: float = 1.0,
                cell: str = "0T1R", seed: int = 0, reference: str | None = None,
                use_cache: bool = False, repeats: int = 1) -> dict[str, float | str | int]:
    """Program a random array and time ``mvm`` on one random batch.

    Conductances are uniform between the HRS and LRS levels, inputs uniform
    in ``[-1, 1]``. Set-up time is programming plus the backend's per-array
    set-up (``calibrated``: the transfer extraction). With ``reference``, the
    same array and inputs go through that backend too.

    Returns:
        ``mvm_per_s`` (median of ``repeats`` timed calls), ``setup_s``,
        ``peak_rss_mib`` (this process), ``peak_child_rss_mib`` (the largest
        child, e.g. ngspice) and, with a reference, ``max_rel_error``,
        ``max_abs_error``, ``rms_rel_error`` and ``reference_mvm_per_s``.
    """
    check_int("rows", rows, 1, 65536)
    check_int("cols", cols, 1, 65536)
    check_int("batch", batch, 1, 10**7)
    check_int("repeats", repeats, 1, 1000)
    config = TileConfig(backend=backend, cell=cell, r_wire_ohm=r_wire_ohm, seed=seed,
                        use_cache=use_cache)
    if reference is not None:
        check_choice("reference", reference, BACKENDS)
    rng = np.random.default_rng(seed)
    rram = config.rram
    g = rng.uniform(rram.g_hrs_siemens, rram.g_lrs_siemens, size=(rows, cols))
    x = rng.uniform(-1.0, 1.0, size=(batch, rows))
    tile = make_tile(config)
    t0 = time.perf_counter()
    arr = tile.program(g)
    tile.prepare()
    setup_s = time.perf_counter() - t0
    times, y = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        y = tile.mvm(x).y
        times.append(time.perf_counter() - t0)
    t_mvm = float(np.median(times))
    out: dict[str, float | str | int] = {
        "backend": backend, "rows": rows, "cols": cols, "batch": batch, "cell": cell,
        "r_wire_ohm": r_wire_ohm, "setup_s": setup_s, "mvm_s": t_mvm,
        "mvm_per_s": batch / t_mvm if t_mvm > 0 else float("inf"),
    }
    if reference is not None:
        ref = make_tile(replace(config, backend=reference))
        ref.load(arr)
        ref.prepare()
        t0 = time.perf_counter()
        y_ref = ref.mvm(x).y
        t_ref = time.perf_counter() - t0
        out["reference"] = reference
        out["reference_mvm_per_s"] = batch / t_ref if t_ref > 0 else float("inf")
        out.update(compare(y, y_ref))
    out["peak_rss_mib"] = peak_rss_mib()
    out["peak_child_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return out
