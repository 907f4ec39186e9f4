"""A spiking network's matrices on hardware, what its timestep loop counts, and the ledger.

**Deployment** (:func:`deploy_pairs`): layer ``l`` of a pop-up network is
programmed with ``Pruned(RandomPairs(seed + l), keep=mask_l)`` through
:meth:`cosim.layers.analog.AnalogLayer.place`: the same forming draw the
network was trained on (:func:`cosim.workloads.spiking.popup.random_pair_weights`),
then the pruned pairs RESET to HRS, so their ``G+ - G-`` is about zero. A
weight-trained network is written by tuning every cell of its pairs
(:class:`cosim.programming.pairs.TunedPairs`). Each layer's tile draws read
noise once per call (``per_call``: one draw per timestep shared by the batch,
because a ``per_vector`` draw of every cell for every sample costs more than the
MVM itself).

**Counting** (:class:`StepCounts`): every layer call's events and the LIF updates,
per timestep, summed over the samples.

**Ledger** (:func:`spiking_workload`): one inference is one sample through the
steps it ran. Hardware (area) is sized by the ``mvm`` rule of
:mod:`cosim.accounting.workload` for each matrix with two cells per weight (a
differential pair on two neighbouring columns) and one conversion per pair (the
tile subtracts the pair's currents before the ADC), i.e. the rule's
``bits = 2`` with one TIA per weight, and no VCMAC. GPU operations per
inference (the baseline does the same work for the same steps): per step,
``2 x rows x cols`` per matrix product and 4 per LIF update (two multiplies, an
add and a compare, as :mod:`.lif` writes eq. 1-2), plus the network's other
digital operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from circuits.errors import check_range
from cosim.accounting.area import Hardware
from cosim.accounting.energy import EnergyTable
from cosim.accounting.events import Events
from cosim.accounting.workload import Workload, mvm_workload
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.programming.base import Scheme
from cosim.programming.pairs import Pruned, TunedPairs, TuningWriter

GPU_OPS_PER_LIF_UPDATE = 4


def deploy_pairs(shapes: Sequence[tuple[int, int]], hardware: HardwareSpec, sim: SimOptions, *,
                 bases: Sequence[Scheme], keep: Sequence[np.ndarray] | None,
                 weights: Sequence[np.ndarray] | None = None,
                 input_scales: Sequence[float], seed: int = 0,
                 write_noise: float | None = None) -> list[AnalogLayer]:
    """Place and program every matrix on ``hardware`` (module docstring).

    Args:
        shapes: ``(in, out)`` of each matrix.
        hardware: the hardware; its write noise is every write's programming noise
            (:class:`cosim.programming.pairs.TuningWriter`).
        sim: how the tiles compute (the cache is off for the fast backends: every
            layer's array is new).
        bases: the random pairs of each matrix (its forming draw).
        keep: the kept pairs of each matrix (booleans ``(in, out)``); all true: the
            unpruned random pairs.
        weights: weights (``N(0, 1)`` pair units) to tune into pairs instead (a
            weight-trained network); then ``bases`` and ``keep`` are not used.
        input_scales: the input magnitude of a full-scale row voltage, per matrix.
        seed: layer ``l``'s read noise uses ``seed + l``, its writes ``seed + 1000 + l``.
        write_noise: overrides the hardware's write noise.
    """
    sigma = hardware.noise.write if write_noise is None else write_noise
    check_range("write noise", sigma, 0.0, 10.0)
    sim = replace(sim, use_cache=False) if sim.backend != "spice" else sim
    layers = []
    for i, shape in enumerate(shapes):
        write = TuningWriter(rram=hardware.rram, sigma=sigma,
                             rng=np.random.default_rng(seed + 1000 + i))
        if weights is not None:
            scheme, w, g_max = TunedPairs(), weights[i], hardware.rram.g_max_siemens
        else:
            scheme, w, g_max = Pruned(base=bases[i], keep=keep[i]), None, None
        layers.append(AnalogLayer.place(scheme, hardware, sim, w=w, shape=shape, seed=seed + i,
                                        write=write, input_scale=input_scales[i],
                                        g_cell_max_siemens=g_max, read_noise_draw="per_call"))
    return layers


@dataclass(frozen=True, kw_only=True)
class StepCounts:
    """What the timestep loop counted, per timestep, summed over the samples.

    Attributes:
        samples: samples the counts cover.
        events: hardware and digital events of each timestep.
        lif_updates: LIF neuron updates of each timestep.
    """

    samples: int
    events: list[Events] = field(default_factory=list)
    lif_updates: list[int] = field(default_factory=list)

    def per_inference(self, avg_timesteps: float) -> tuple[Events, float]:
        """Events and LIF updates of one sample that runs ``avg_timesteps`` steps.

        Every step of a sample costs the same (each step reads every cell and
        updates every neuron), so a sample stopped early at step ``t`` costs
        ``t`` steps; over a set, the average steps give the average cost.
        """
        t_n = len(self.events)
        check_range("avg_timesteps", avg_timesteps, 0.0, float(t_n))
        f = avg_timesteps / t_n / self.samples
        total = sum(self.events, Events()).as_dict()
        return Events(**{k: v * f for k, v in total.items()}), sum(self.lif_updates) * f


def pair_hardware(matrices: list[tuple[int, int]], blocks: list[tuple[int, int]],
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


def spiking_workload(counts: StepCounts, *, matrices: list[tuple[int, int]],
                     vectors_per_step: list[int], lif_per_step: int, avg_timesteps: float,
                     name: str, blocks: list[tuple[int, int]], macro: tuple[int, int],
                     cell: str, source: str, claim: str,
                     other_ops_per_step: float = 0.0) -> Workload:
    """One inference of a deployed spiking network as a :class:`Workload`.

    Args:
        counts: what the timestep loop counted.
        matrices: ``(rows, cols)`` of each weight matrix (conv layers: im2col).
        vectors_per_step: matrix-vector products of each matrix per sample and step
            (1 for a dense layer, output positions for a convolution, input
            positions for a transposed one).
        lif_per_step: LIF neurons updated per sample and step.
        avg_timesteps: steps per inference (``T``, or the early-stop average).
        name: label in reports.
        blocks: ``(rows, columns)`` used per macro of each matrix (its placement).
        macro: ``(rows, columns)`` of one physical macro.
        cell: the cell kind's name (area).
        source: what produced the counts.
        claim: the published claim the report compares with (``claimed_ratios.csv``).
        other_ops_per_step: a GPU's further operations per sample and step (sampling,
            overlap-adds, output nonlinearity).
    """
    events, lif = counts.per_inference(avg_timesteps)
    ops_step = sum(2.0 * r * c * v for (r, c), v in zip(matrices, vectors_per_step, strict=True))
    ops_step += GPU_OPS_PER_LIF_UPDATE * lif_per_step + other_ops_per_step
    return Workload(name=name, events=events, extra_counts={"lif_updates": lif},
                    ops_per_inference=ops_step * avg_timesteps, inferences=1.0,
                    read_steps=sum(vectors_per_step) * avg_timesteps,
                    hardware=pair_hardware(matrices, blocks, macro, cell),
                    claim=claim, source=source)


def energy_table(full: Workload, early: Workload, threshold: float) -> pd.DataFrame:
    """Energy per inference and component of two runs of one network, without and with
    early stop at ``threshold``, priced with the cited energy table."""
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
