"""The export hook: a workload's trained network written as ONNX or NIR, with sample inputs.

A workload that can export describes its trained network in the exchange form
(:class:`cosim.workloads.imported.ir.Graph` for ONNX, :class:`~.ir.SpikingGraph`
for NIR) and its command adds ``--export`` (:mod:`cosim.commands.export`);
:func:`write_export` writes into the run folder::

    RUN_DIR/model.onnx | model.nir   the network
    RUN_DIR/model_inputs.npz         'inputs' (and 'labels' or 'targets') it was evaluated on

so ``cosim deploy RUN_DIR/model.onnx --data RUN_DIR/model_inputs.npz`` brings it
back. Files are written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from circuits.errors import ConfigError
from circuits.files import atomic_write, atomic_writer
from cosim.workloads.imported.ir import Graph, SpikingGraph

FORMATS = ("onnx", "nir")
FILES = {"onnx": "model.onnx", "nir": "model.nir"}
INPUTS = "model_inputs.npz"


def check_export(fmt: str | None, reasons: dict[str, str | None]) -> None:
    """Refuse, before any work, a format the workload cannot write (``reasons[fmt]`` says
    why) or a package the format needs that is not installed."""
    if fmt is None:
        return
    why = reasons.get(fmt, f"{fmt} is not an export format")
    if why:
        raise ConfigError(f"--export {fmt}: {why}")
    if fmt == "onnx":
        from cosim.workloads.imported.onnx_model import onnx_package

        onnx_package()
    else:
        from cosim.workloads.imported.nir_model import nir_package

        nir_package()


def write_model(model: Graph | SpikingGraph, fmt: str, path: Path) -> Path:
    """Write ``model`` as ``fmt`` (``onnx``: a :class:`Graph`; ``nir``: a
    :class:`SpikingGraph`) at ``path``, atomically."""
    path = Path(path)
    if fmt == "onnx" and isinstance(model, Graph):
        from cosim.workloads.imported.onnx_model import graph_to_proto

        return atomic_write(path, graph_to_proto(model).SerializeToString())
    if fmt == "nir" and isinstance(model, SpikingGraph):
        import nir

        from cosim.workloads.imported.nir_model import to_nir

        buffer = io.BytesIO()
        nir.write(buffer, to_nir(model))
        return atomic_write(path, buffer.getvalue())
    raise ConfigError(f"a {type(model).__name__} is not written as {fmt}")


def write_export(run_dir: Path, model: Graph | SpikingGraph, fmt: str, inputs: np.ndarray,
                 **extra: np.ndarray) -> dict[str, str]:
    """Write the model and its sample inputs into ``run_dir`` (module docstring).

    Returns:
        ``{"model": file name, "inputs": file name}`` for the manifest.
    """
    run_dir = Path(run_dir)
    name = FILES[fmt]
    write_model(model, fmt, run_dir / name)
    with atomic_writer(run_dir / INPUTS) as f:
        np.savez_compressed(f, inputs=np.asarray(inputs, dtype=np.float32),
                            **{k: np.asarray(v) for k, v in extra.items()})
    return {"model": name, "inputs": INPUTS, "format": fmt}
