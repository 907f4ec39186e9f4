"""The SNN as a workload for the energy ledger: what the timestep loop counted, per inference.

One inference is one sample classified. Its events are what the timestep
loop counted (:class:`cosim.workloads.spiking.pairs.StepCounts`) for the steps
the sample ran: all ``T`` without early stop, ``avg_timesteps`` with it
(every step of a sample costs the same). LIF updates go to the ledger's
``lif_updates`` counter. Hardware and GPU operations are sized as for every
spiking network (:func:`cosim.workloads.spiking.pairs.spiking_workload`).
"""

from __future__ import annotations

from cosim.accounting.workload import Workload
from cosim.workloads.spiking.pairs import StepCounts, spiking_workload

CLAIM = "SNN N-MNIST"
"""The PRIME paper's claim this workload compares with (37.83x vs RTX 4090)."""


def snn_workload(counts: StepCounts, *, matrices: list[tuple[int, int]],
                 vectors_per_step: list[int], lif_per_step: int, avg_timesteps: float,
                 name: str, blocks: list[tuple[int, int]], macro: tuple[int, int], cell: str,
                 source: str) -> Workload:
    """One inference of the deployed SNN as a :class:`Workload` (arguments as
    :func:`cosim.workloads.spiking.pairs.spiking_workload`), compared with PRIME's
    N-MNIST claim."""
    return spiking_workload(counts, matrices=matrices, vectors_per_step=vectors_per_step,
                            lif_per_step=lif_per_step, avg_timesteps=avg_timesteps, name=name,
                            blocks=blocks, macro=macro, cell=cell, source=source, claim=CLAIM)
