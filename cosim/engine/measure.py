"""Throughput, set-up time, memory and error of one tile backend (``cosim mvm``)."""

from __future__ import annotations

import resource
import time
from dataclasses import replace

import numpy as np

from circuits.errors import check_choice, check_int
from cosim.engine.options import BACKEND_NAMES, SimOptions
from cosim.engine.tile import compare, make_tile
from cosim.hardware.spec import HardwareSpec


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_mvm(*, rows: int, cols: int, hardware: HardwareSpec, sim: SimOptions, batch: int,
                seed: int = 0, reference: str | None = None,
                repeats: int = 1) -> dict[str, float | str | int]:
    """Program a random array on ``hardware`` and time ``mvm`` on one random batch.

    Conductances are uniform between the HRS and LRS levels, written exactly,
    inputs uniform in ``[-1, 1]``, read without read noise (the figures are the
    backend's own). Set-up time is programming plus the backend's per-array
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
    hardware = hardware.with_parts(noise={"read": 0.0})
    if reference is not None:
        check_choice("reference", reference, BACKEND_NAMES)
    rng = np.random.default_rng(seed)
    rram = hardware.rram
    g = rng.uniform(rram.g_hrs_siemens, rram.g_lrs_siemens, size=(rows, cols))
    x = rng.uniform(-1.0, 1.0, size=(batch, rows))
    tile = make_tile(hardware, sim, seed=seed)
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
        "backend": sim.backend, "rows": rows, "cols": cols, "batch": batch,
        "cell": hardware.cell.kind.name, "r_wire_ohm": hardware.array.r_wire_ohm,
        "hardware": hardware.name, "setup_s": setup_s, "mvm_s": t_mvm,
        "mvm_per_s": batch / t_mvm if t_mvm > 0 else float("inf"),
    }
    if reference is not None:
        ref = make_tile(hardware, replace(sim, backend=reference), seed=seed)
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
