"""The registry of the workloads' software networks (:mod:`cosim.workloads.software`),
by workload key: adding a workload's measured baseline is one builder beside it and
one line here."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from circuits.errors import check_choice
from cosim.workloads.field.software import field_software_net
from cosim.workloads.haq.software import haq_software_net
from cosim.workloads.snn.software import snn_software_net
from cosim.workloads.software import (
    NvidiaSmiPower,
    PowerFigure,
    SoftwareNet,
    cpu_power,
    device_name,
    jax_device,
    matmul_rate,
    measure_net,
)

SOFTWARE_NETS: dict[str, Callable[..., SoftwareNet]] = {
    "haq": haq_software_net,
    "field": field_software_net,
    "snn": snn_software_net,
}
"""Builders of each workload's software network, by the workload's key: ``builder()`` for
the workload's defaults, ``builder(section)`` for the main job's section of that stage
(the same network as the stage ran)."""


@dataclass(frozen=True, kw_only=True)
class BaselineRun:
    """What :func:`run_baselines` measured.

    Attributes:
        device: ``cpu`` or ``gpu``.
        system: the device's name (CPU model and cores, or the GPU's product name).
        matmul_flops_per_s: the device's measured dense float32 matrix-product rate.
        power: the power the rows are priced at (for a GPU, the mean of the samples
            of every row; each row has its own).
        rows: one dict per workload and batch size (:func:`run_baselines`).
        load_before, load_after: the machine's 1-minute load average around the run
            (``None`` where the system does not give one).
        backend: JAX's default backend and version.
    """

    device: str
    system: str
    matmul_flops_per_s: float
    power: PowerFigure
    rows: list[dict[str, Any]]
    load_before: float | None
    load_after: float | None
    backend: str


def _load() -> float | None:
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return None


def run_baselines(keys: tuple[str, ...] = tuple(SOFTWARE_NETS), *, device: str = "cpu",
                  batches: tuple[int, ...] | None = None, power_w: float | None = None,
                  min_time_s: float = 0.5, max_batch: int | None = None,
                  configs: dict[str, Any] | None = None,
                  progress: Callable[[str], None] | None = None) -> BaselineRun:
    """Time each workload's software network on the local ``device``.

    Args:
        keys: workloads (keys of :data:`SOFTWARE_NETS`).
        device: ``cpu`` or ``gpu`` (JAX's first device of that kind).
        batches: batch sizes for every workload (default: each network's own).
        power_w: the device's rated power (W); default: ``nvidia-smi`` on a GPU,
            an assumed per-core figure on a CPU (:func:`cpu_power`).
        min_time_s: timing per batch size (after one compiling call).
        max_batch: skip a network's own batch sizes above this (quick runs).
        configs: a workload's config (the main job's section) by key, so its
            network is the one the workload ran.
        progress: called with a line per workload.

    Raises:
        ConfigError: an unknown workload, no such device, a bad batch or power.
    """
    for k in keys:
        check_choice("workload", k, SOFTWARE_NETS)
    dev = jax_device(device)
    import jax

    load_before = _load()
    if device == "gpu" and power_w is None:
        meter = NvidiaSmiPower
        meter().read()  # fails before any timing when nvidia-smi cannot be read
        power = None
    else:
        meter = None
        power = cpu_power(power_w) if device == "cpu" else PowerFigure(
            watts=float(power_w), origin="rated",
            source=f"rated board power given by the user ({power_w:g} W)")
    system = device_name(dev)
    peak = matmul_rate(dev, min_time_s=min_time_s)
    rows = []
    for key in keys:
        cfg = (configs or {}).get(key)
        net = SOFTWARE_NETS[key]() if cfg is None else SOFTWARE_NETS[key](cfg)
        todo = batches or tuple(b for b, _ in net.batches
                                if max_batch is None or b <= max_batch)
        if progress is not None:
            progress(f"{key}: {net.name}, batches {', '.join(map(str, todo))}")
        for r in measure_net(net, dev, batches=todo, min_time_s=min_time_s,
                             power_meter=meter):
            watts = r.pop("power_w", None) if power is None else power.watts
            origin = "nvidia-smi" if power is None else power.origin
            psrc = ("nvidia-smi power.draw, mean over the timing of this batch"
                    if power is None else power.source)
            rows.append({
                "workload": key, "workload_name": net.name, "unit": net.unit,
                "device": device, "system": system, **r,
                "ops_per_inference": net.ops_per_inference,
                "matmul_flops_per_s": peak, "utilisation": r.pop("best_flops_per_s") / peak,
                "power_w": watts, "power_origin": origin,
                "energy_per_inference_j": watts / r["inferences_per_s"],
                "origin": "measured",
                "source": (f"{net.source} jitted with JAX on {system}, median of "
                           f"{r['repeats']} calls of batch {r['batch']}; power: {psrc}; "
                           f"utilisation: the fastest call's rate against this device's "
                           f"fastest dense float32 matrix product, "
                           f"{peak / 1e9:.4g} GFLOP/s (measured before and after)")})
    after = matmul_rate(dev, min_time_s=min_time_s)
    if after > peak:  # the device's best rate, whichever side of the run it came
        for r in rows:
            r["utilisation"] *= peak / after
            r["matmul_flops_per_s"] = after
            r["source"] = r["source"].replace(f"{peak / 1e9:.4g} GFLOP/s",
                                              f"{after / 1e9:.4g} GFLOP/s")
        peak = after
    mean_power = (power if power is not None else PowerFigure(
        watts=float(np.mean([r["power_w"] for r in rows])), origin="nvidia-smi",
        source="nvidia-smi power.draw sampled during each timing"))
    return BaselineRun(device=device, system=system, matmul_flops_per_s=peak, power=mean_power,
                       rows=rows, load_before=load_before, load_after=_load(),
                       backend=f"jax {jax.__version__}, {dev.platform}")
