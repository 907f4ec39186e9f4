"""``--export onnx|nir``: one option for every command that trains a network.

A command adds it with ``@export_option``, refuses a format its workload
cannot write before any work (:func:`cosim.outputs.export.check_export`, with
the workload's reasons), and after its run calls :func:`export_network`, which
writes the model and its sample inputs into the run folder and records them in
its ``manifest.json`` (``export``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from circuits.files import atomic_write
from cosim.outputs.export import FORMATS, check_export, write_export
from cosim.outputs.jsonout import json_text
from cosim.outputs.manifest import MANIFEST
from cosim.workloads.imported.ir import Graph, SpikingGraph


def export_option(func: Callable) -> Callable:
    """Add ``--export FORMAT`` (the command gets ``export_format``, ``None`` without it)."""
    return click.option(
        "--export", "export_format", type=click.Choice(FORMATS), default=None,
        help="Also write the trained network as ONNX or NIR (model.onnx | model.nir) with "
             "its inputs (model_inputs.npz), for 'cosim deploy' or other tools.")(func)


def export_network(run_dir: Path, fmt: str | None, model: Graph | SpikingGraph,
                   inputs: np.ndarray, **extra: np.ndarray) -> dict[str, Any] | None:
    """Write the export (when ``fmt``) and add it to the run's manifest; returns its record."""
    if fmt is None:
        return None
    info = write_export(run_dir, model, fmt, inputs, **extra)
    path = Path(run_dir) / MANIFEST
    if path.is_file():
        import json

        manifest = json.loads(path.read_text())
        manifest["export"] = info
        atomic_write(path, json_text(manifest) + "\n")
    return info


__all__ = ["check_export", "export_network", "export_option"]
