"""One writer for what a workload returns: its tables, its counted events, its summary.

A workload computes and returns a :class:`WorkloadResult`; :func:`write_result`
puts it in the stage's folder:

    OUT/<table>.csv      one CSV per table
    OUT/workload.json    the events the workload's layers counted (``cosim report``
                         reads these; see ``cosim.accounting.workload``)
    OUT/manifest.json    the summary, with the common manifest fields
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from cosim.accounting.workload import Workload, write_workload_json
from cosim.outputs.manifest import new_manifest, write_manifest


class WorkloadResult(Protocol):
    """What a workload hands to the outputs."""

    def summary(self) -> dict[str, Any]:
        """Flat JSON-able figures of the run."""

    def tables(self) -> dict[str, pd.DataFrame]:
        """Named tables (file stem -> table)."""

    def workload(self) -> Workload:
        """The counted events and the hardware they ran on, for the ledger."""


def write_result(result: WorkloadResult, out: Path) -> dict[str, Any]:
    """Write ``result`` into ``out`` (created); returns the summary with the file names."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for stem, table in result.tables().items():
        table.to_csv(out / f"{stem}.csv", index=False, float_format="%.10g")
        files.append(f"{stem}.csv")
    write_workload_json(out, result.workload())
    summary = {**result.summary(), "tables": files + ["workload.json"]}
    write_manifest(out, new_manifest(out.name, simulator=False, **summary))
    return summary
