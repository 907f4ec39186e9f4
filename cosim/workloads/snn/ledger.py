"""The SNN as a workload for the energy ledger: what the timestep loop counted, per inference.

One inference is one sample classified. Its events are what the timestep
loop counted (:class:`cosim.workloads.snn.deployed.StepCounts`) for the steps
the sample ran: all ``T`` without early stop, ``avg_timesteps`` with it
(every step of a sample costs the same). LIF updates go to the ledger's
``lif_updates`` counter.

Hardware (area) is sized by the ``mvm`` rule of
:mod:`cosim.accounting.workload` for each weight matrix with two cells per
weight (a differential pair on two neighbouring columns) and one conversion
per pair (the tile subtracts the pair's currents before the ADC), i.e. the
rule's ``bits = 2`` with one TIA per weight, and no VCMAC.

GPU operations per inference (the baseline does the same work for the same
steps): per step, ``2 x rows x cols`` per matrix product and 4 per LIF update
(two multiplies, an add and a compare, as :mod:`.lif` writes eq. 1-2).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from cosim.accounting.area import Hardware
from cosim.accounting.energy import EnergyTable
from cosim.accounting.workload import Workload, mvm_workload
from cosim.workloads.snn.deployed import StepCounts

CLAIM = "SNN N-MNIST"
"""The PRIME paper's claim this workload compares with (37.83x vs RTX 4090)."""
GPU_OPS_PER_LIF_UPDATE = 4


def snn_hardware(matrices: list[tuple[int, int]], blocks: list[tuple[int, int]],
                 macro: tuple[int, int] = (512, 512), cell: str = "1T1R") -> Hardware:
    """Arrays and periphery of the differential-pair matrices (module docstring).

    Each matrix takes as many macros as its placement (blocks of ``(rows used,
    columns used)``), and each of them is a whole physical ``macro`` (its area)."""
    hw = None
    for (rows, cols), (block_rows, block_cols) in zip(matrices, blocks, strict=True):
        m = mvm_workload({"rows": rows, "cols": cols, "bits": 2, "aggregation": "analog",
                          "macro_rows": block_rows, "macro_cols": block_cols, "cell": cell})
        h = replace(m.hardware, vcmac_columns=0, rows_per_array=macro[0],
                    cols_per_array=macro[1], dacs=macro[0] * m.hardware.arrays)
        hw = h if hw is None else hw + h
    assert hw is not None
    return hw


def snn_workload(counts: StepCounts, *, matrices: list[tuple[int, int]],
                 vectors_per_step: list[int], lif_per_step: int, avg_timesteps: float,
                 name: str, blocks: list[tuple[int, int]], macro: tuple[int, int], cell: str,
                 source: str) -> Workload:
    """One inference of the deployed SNN as a :class:`Workload`.

    Args:
        counts: what the timestep loop counted.
        matrices: ``(rows, cols)`` of each weight matrix (conv layers: im2col).
        vectors_per_step: matrix-vector products of each matrix per sample and step
            (1 for a dense layer, output positions for a convolution).
        lif_per_step: LIF neurons updated per sample and step.
        avg_timesteps: steps per inference (``T``, or the early-stop average).
        name: label in reports.
        blocks: ``(rows, columns)`` used per macro of each matrix (its placement).
        macro: ``(rows, columns)`` of one physical macro.
        cell: the cell kind's name (area).
        source: what produced the counts.
    """
    events, lif = counts.per_inference(avg_timesteps)
    ops_step = sum(2.0 * r * c * v for (r, c), v in zip(matrices, vectors_per_step, strict=True))
    ops_step += GPU_OPS_PER_LIF_UPDATE * lif_per_step
    return Workload(name=name, events=events, extra_counts={"lif_updates": lif},
                    ops_per_inference=ops_step * avg_timesteps, inferences=1.0,
                    read_steps=sum(vectors_per_step) * avg_timesteps,
                    hardware=snn_hardware(matrices, blocks, macro, cell),
                    claim=CLAIM, source=source)


def energy_table(full: Workload, early: Workload, threshold: float) -> pd.DataFrame:
    """Energy per inference and component, without and with early stop (cited energy table)."""
    table = EnergyTable.cited()
    rows = []
    for label, w in (("no early stop", full), (f"early stop {threshold:g}", early)):
        led = w.ledger(table)
        for _, r in led.iterrows():
            rows.append({"run": label, "component": r["component"], "count": r["count"],
                         "energy_per_inference_j": r["energy_per_inference_j"],
                         "origin": r["origin"]})
        rows.append({"run": label, "component": "total", "count": np.nan,
                     "energy_per_inference_j": float(led["energy_per_inference_j"].sum()),
                     "origin": "derived"})
    return pd.DataFrame(rows)
