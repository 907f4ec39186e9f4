"""What a report compares against and how: the options of
:func:`cosim.outputs.report.build_report`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cosim.accounting.area import LAYOUT, LayoutAssumptions
from cosim.accounting.baselines import (
    GpuAssumptions,
)

DEFAULT_BASELINES = ("a100", "jetson_nano", "rtx4090", "h100")


TABLE_ORIGINS = ("simulated", "netlist", "cited", "derived", "measured", "override")
"""Every table row's ``origin`` is one of these."""


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """How a report is made.

    Attributes:
        baselines: baseline keys to compare with (``cosim.accounting.baselines``).
        gpu: precision and utilisation of the baselines' throughput.
        simulate: take the cell-read, VCMAC and TIA figures from ngspice
            (``cosim.accounting.circuit_energy``), and the amplifiers' time per
            conversion from their simulated settling; off uses the cited table
            and the workloads' own timing only.
        transistor_amplifiers: simulate the TIA's op-amp and the VCMAC's
            regulation amplifiers at transistor level (default); False uses
            the op-amp macro-model and the behavioural VCMAC amplifiers (the
            fast option). The energy table's sources say which was used.
        energy_override: a user's override file (CSV or TOML), or ``None``.
        layout: layout assumptions of the netlist-derived areas.
    """

    baselines: tuple[str, ...] = DEFAULT_BASELINES
    gpu: GpuAssumptions = field(default_factory=GpuAssumptions)
    simulate: bool = True
    transistor_amplifiers: bool = True
    energy_override: Path | None = None
    layout: LayoutAssumptions = LAYOUT
