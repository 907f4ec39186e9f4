"""``cosim deploy MODEL --data INPUTS``: bring your own network (ONNX or NIR) onto analog layers.

The model, the inputs, the labels and every option are checked before the run
folder is made and before any work (:mod:`cosim.workloads.imported`); the run
folder is written by :func:`cosim.outputs.imported.write_import_run`.
"""

from __future__ import annotations

from pathlib import Path

import click

from circuits.errors import ConfigError, split_items
from cosim.commands.options import hardware_options, sim_options
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir
from cosim.workloads.imported.results import INPUT_HEADROOM, ImportConfig

KINDS = {".onnx": "onnx", ".nir": "nir"}


def _progress(as_json: bool):
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if as_json:
            return
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=total, desc=phase, unit="input", leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return progress


def _classes(shape: tuple[int | None, ...] | None, what: str) -> int | None:
    """Classes of an output ``(N, classes)`` (``None`` when unknown); refuse other ranks."""
    if shape is None:
        return None
    if len(shape) != 2:
        raise ConfigError(f"labels need an output of shape (N, classes); {what} has "
                          f"{len(shape)} axes")
    return shape[1]


@click.command("deploy")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="Inputs: .npy, or .npz (member 'inputs', the model's input name, or the "
                   "only one; a 'labels' member gives labels). Spiking nets: (N, T, ...) or "
                   "(N, ...) arrays, or the SNN's data folders (N-MNIST, images + labels).")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), default=None,
              help="Class labels, one per input (.npy or .npz): accuracy of every method.")
@click.option("--scheme", "schemes", default="haq,ptq", show_default=True,
              help="Programming schemes compared, comma-separated: haq, ptq, pairs "
                   "(tuned differential pairs).")
@click.option("--bits", type=int, default=12, show_default=True,
              help="Cells per weight for HAQ and PTQ.")
@click.option("--amp-ratio", type=float, default=1.5, show_default=True, help="HAQ s (> 1).")
@click.option("--weight-scaling", default="matrix", show_default=True,
              help="Full-scale weight: matrix (one per matrix) or column (one per output).")
@click.option("--headroom", type=float, default=INPUT_HEADROOM, show_default=True,
              help="Each layer's DAC full scale over the largest input the float model "
                   "gives it on the data.")
@click.option("--batch", type=int, default=256, show_default=True,
              help="Inputs per pass (memory).")
@click.option("--timesteps", type=int, default=10, show_default=True,
              help="Spiking nets: timesteps of inputs given without a time axis, and of "
                   "data folders.")
@click.option("--dt", type=float, default=1.0, show_default=True,
              help="Spiking nets: the timestep of NIR's equations (forward Euler).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the write and read noise.")
@hardware_options("realistic")
@sim_options
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/deploy-<timestamp>].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def deploy_command(model: Path, data_path: Path, labels_path: Path | None, schemes: str,
                   bits: int, amp_ratio: float, weight_scaling: str, headroom: float,
                   batch: int, timesteps: int, dt: float, seed: int, hardware: HardwareSpec,
                   sim: SimOptions, run_dir: Path | None, as_json: bool) -> None:
    """Deploy an ONNX network or a NIR spiking network on the hardware: per-layer error,
    end-to-end difference from the float model, accuracy (with labels) and energy events.

    ONNX: Gemm, MatMul, Conv and ConvTranspose with constant weights go onto crossbars;
    the other operators run digitally. NIR: Affine, Linear and Conv2d onto crossbars,
    the neurons (LIF, CubaLIF, LI, IF, I) in the timestep loop with early stop.
    """
    from cosim.workloads.imported.data import check_labels, load_inputs, load_spiking_inputs
    from cosim.workloads.imported.run import deploy_sim

    kind = KINDS.get(model.suffix.lower())
    if kind is None:
        raise ConfigError(f"model {model}: give an .onnx or a .nir file")
    cfg = ImportConfig(schemes=tuple(split_items("--scheme", schemes)), bits=bits,
                       amp_ratio=amp_ratio, weight_scaling=weight_scaling,
                       input_headroom=headroom, batch=batch, timesteps=timesteps, dt=dt,
                       seed=seed)
    deploy_sim(sim)
    if kind == "onnx":
        from cosim.workloads.imported.onnx_model import load_onnx

        loaded = load_onnx(model)
        x, labels = load_inputs(data_path, loaded.input)
        out_shape = loaded.graph.outputs[0].shape or None
        out_what = f"output {loaded.graph.outputs[0].name!r}"
    else:
        from cosim.workloads.imported.ir import TensorSpec
        from cosim.workloads.imported.nir_model import load_nir
        from cosim.workloads.snn.stage import CACHE_DIR

        loaded = load_nir(model)
        spec = TensorSpec(name="input", shape=(None, *loaded.input_shape), dtype="float64")
        x, labels = load_spiking_inputs(data_path, spec, timesteps, CACHE_DIR)
        out = next(n for n in loaded.graph.nodes if n.kind == "Output")
        out_shape = (None, *out.params.get("shape", ()))
        out_what = f"output {out.name!r}"
    if kind == "onnx":
        from cosim.workloads.imported.run import check_runs

        check_runs(loaded, x, cfg)
    else:
        from cosim.workloads.imported.spiking import prepare_net

        prepare_net(loaded, cfg, x)
    if labels_path is not None:
        from cosim.workloads.imported.data import load_labels

        labels = load_labels(labels_path, len(x), _classes(out_shape, out_what))
    elif labels is not None:
        labels = check_labels(labels, len(x), _classes(out_shape, out_what),
                              f"the labels in --data {data_path}")
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("deploy")) as run_dir:
        from cosim.outputs.imported import write_import_run

        if kind == "onnx":
            from cosim.workloads.imported.run import run_onnx

            result = run_onnx(cfg, hardware, sim, loaded, x, labels,
                              progress=_progress(as_json))
        else:
            from cosim.workloads.imported.spiking import run_nir

            result = run_nir(cfg, hardware, sim, loaded, x, labels,
                             progress=_progress(as_json))
        summary = write_import_run(result, run_dir)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    _print(result, summary)


def _print(result, summary: dict) -> None:
    from cosim.workloads.imported.results import ImportResult

    assert isinstance(result, ImportResult)
    runs = result.runs
    click.echo(f"{result.model_name} ({result.kind}): {result.inputs} inputs of shape "
               f"{tuple(result.input_shape)}")
    if result.kind == "onnx" and result.software_vs_reference == result.software_vs_reference:
        click.echo(f"float pass vs ONNX reference evaluator: "
                   f"{result.software_vs_reference:.1e} of full scale")
    for note in result.notes:
        click.echo(f"note: {note}")
    head = "".join(f"  {s.upper():>6} max    rms  " for s in runs)
    click.echo(f"{'layer':>14} {'op':>13} {'rows x cols':>12} {'cells':>9} {'macros':>6}{head}")
    first = next(iter(runs.values()))
    for i, ly in enumerate(first.layers):
        errs = "".join(f"  {r.layers[i].max_error:10.2e} {r.layers[i].rms_error:8.2e}"
                       for r in runs.values())
        click.echo(f"{ly.name[:14]:>14} {ly.op[:13]:>13} {f'{ly.rows} x {ly.cols}':>12} "
                   f"{ly.cells:>9} {ly.macros:>6}{errs}")
    for name, *errs in zip(result.output_names, *(r.output_error for r in runs.values()),
                           strict=True):
        text = ", ".join(f"{s.upper()} max {e['max']:.2e} rms {e['rms']:.2e}"
                         for s, e in zip(runs, errs, strict=True))
        click.echo(f"end to end, output {name!r} (fraction of full scale): {text}")
    if result.labels is not None:
        acc = ", ".join(f"{s.upper()} {100 * r.accuracy:.2f} %" for s, r in runs.items())
        click.echo(f"accuracy: software {100 * result.software_accuracy:.2f} %, {acc}")
    click.echo(f"hardware: {summary['hardware_text']}")
    click.echo(f"wrote {summary['run_dir']}")
