"""Run-folder outputs of ``cosim deploy`` (an imported ONNX or NIR network on the hardware).

The workload (:mod:`cosim.workloads.imported`) computes; this module writes::

    RUN_DIR/layers.csv          per scheme and analog layer: shape, bits, cells, macros,
                                MVMs per inference, input scale, max and RMS error (fractions
                                of the layer's full scale), saturated inputs, blocks used
    RUN_DIR/outputs.csv         per scheme and network output: max and RMS difference from the
                                float model (fractions of its full scale)
    RUN_DIR/digital_ops.csv     per scheme and operator type: adds, multiplies, CORDIC steps,
                                values moved
    RUN_DIR/accuracy.csv        with labels: software and each scheme
    RUN_DIR/early_stop.csv      spiking nets with labels: accuracy and timesteps per threshold
    RUN_DIR/outputs.npz         the float model's outputs and each scheme's (spiking: logits at T)
    RUN_DIR/layer_error.png/.svg  each layer's max and RMS error per scheme
    RUN_DIR/workload.json       the first scheme's counted events (for ``cosim report``)
    RUN_DIR/workload_<scheme>.json  the other schemes'
    RUN_DIR/manifest.json       the summary (hardware, config, every figure above)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from circuits.files import atomic_writer
from cosim.accounting.workload import workload_to_json, write_workload_json
from cosim.outputs.jsonout import json_text
from cosim.outputs.layer_records import write_layer_records
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure
from cosim.workloads.imported.results import ImportResult


def write_import_run(result: ImportResult, run_dir: Path, command: str = "deploy"
                     ) -> dict[str, Any]:
    """Write one deployment into ``run_dir`` (module docstring).

    Returns:
        The summary written to ``manifest.json`` (with the file names).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for stem, table in result.tables().items():
        table.to_csv(run_dir / f"{stem}.csv", index=False, float_format="%.6g")
        files.append(f"{stem}.csv")
    arrays = {f"reference_{i}": r for i, r in enumerate(result.reference)}
    for s, run in result.runs.items():
        arrays.update({f"{s}_{i}": o for i, o in enumerate(run.outputs)})
    with atomic_writer(run_dir / "outputs.npz") as f:
        np.savez_compressed(f, **arrays)
    files.append("outputs.npz")
    figures = _layer_error(result, run_dir / "layer_error")
    files += write_layer_records(run_dir, result.layer_records)
    schemes = list(result.runs)
    write_workload_json(run_dir, result.workload(schemes[0]))
    files.append("workload.json")
    for s in schemes[1:]:
        name = f"workload_{s}.json"
        (run_dir / name).write_text(json_text(workload_to_json(result.workload(s))) + "\n")
        files.append(name)
    summary = {**result.summary(), "workload_scheme": schemes[0], "tables": files,
               "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest(command, simulator=False,
                                         seeds={"write_noise": result.config.seed}, **summary))
    return {"command": command, **summary}


def _layer_error(result: ImportResult, stem: Path) -> list[Path]:
    runs = result.runs
    names = [ly.name for ly in next(iter(runs.values())).layers]
    fig = Figure(figsize=(max(4.0, 0.9 * len(names) + 2.0), 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    x = np.arange(len(names))
    width = 0.8 / len(runs)
    for ax, key, title in ((axes[0], "max_error", "max error"),
                           (axes[1], "rms_error", "RMS error")):
        for k, (s, run) in enumerate(runs.items()):
            vals = [max(getattr(ly, key), 1e-17) for ly in run.layers]
            ax.bar(x + (k - (len(runs) - 1) / 2) * width, vals, width, label=s.upper())
        ax.set_yscale("log")
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[0].set_ylabel("fraction of the layer's full scale", fontsize=8)
    fig.suptitle(f"{result.model_name} on {result.hardware.name} ({result.sim.backend})",
                 fontsize=8)
    return save_figure(fig, stem)
