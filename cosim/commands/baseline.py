"""``cosim baseline``: time each workload's software network on this machine's CPU or GPU.

The same JAX forward the workloads train (no analog layers), at the papers' and our
batch sizes (:mod:`cosim.workloads.software`), with power from ``nvidia-smi`` on a
GPU or the device's rated power (``--power-w``; else an assumed per-core figure,
labelled) on a CPU. ``cosim report RUN... BASELINE_DIR`` prices these rows (origin
"measured") beside the datasheet baselines. The run folder is described in
:mod:`cosim.outputs.baseline`.
"""

from __future__ import annotations

from pathlib import Path

import click

from circuits.errors import check_int, check_range, split_items
from cosim.outputs.baseline import write_baselines
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir
from cosim.workloads.baselines import SOFTWARE_NETS, run_baselines
from cosim.workloads.software import DEVICES, jax_device


@click.command("baseline")
@click.option("--device", type=click.Choice(DEVICES), default="cpu", show_default=True,
              help="Time on JAX's CPU or its GPU (a GPU needs JAX with CUDA: .[gpu]).")
@click.option("--workload", "workloads", default=",".join(SOFTWARE_NETS), show_default=True,
              help="Workloads to time, comma-separated.")
@click.option("--batch", "batches", default=None,
              help="Batch sizes for every workload, comma-separated [each workload's own: "
                   "the papers' and ours].")
@click.option("--power-w", type=float, default=None,
              help="The device's rated power (W) [GPU: nvidia-smi; CPU: assumed 10 W per "
                   "core, labelled].")
@click.option("--min-time", "min_time_s", type=float, default=0.5, show_default=True,
              help="Seconds of timing per batch size (after one compiling call).")
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/baseline-<timestamp>].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def baseline_command(device: str, workloads: str, batches: str | None, power_w: float | None,
                     min_time_s: float, run_dir: Path | None, as_json: bool) -> None:
    """Time each workload's software network on this device (measured baselines)."""
    keys = tuple(split_items("--workload", workloads))
    if not keys:
        click.get_current_context().fail("--workload is empty; name at least one of "
                                         f"{', '.join(SOFTWARE_NETS)}")
    for k in keys:
        if k not in SOFTWARE_NETS:
            click.get_current_context().fail(
                f"unknown workload {k!r} for --workload (known: {', '.join(SOFTWARE_NETS)})")
    sizes = None
    if batches is not None:
        sizes = []
        for item in split_items("--batch", batches):
            try:
                sizes.append(check_int("--batch", int(item), 1, 10**8))
            except ValueError:
                click.get_current_context().fail(f"--batch takes whole numbers, got {item!r}")
        sizes = tuple(sizes)
    if power_w is not None:
        check_range("--power-w", power_w, 0.0, 1e5, lo_open=True)
    check_range("--min-time", min_time_s, 0.0, 3600.0)
    jax_device(device)  # no such device: one error line before the folder is made
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("baseline")) as run_dir:
        run = run_baselines(keys, device=device, batches=sizes, power_w=power_w,
                            min_time_s=min_time_s,
                            progress=None if as_json else lambda s: click.echo(s, err=True))
        summary = write_baselines(run, run_dir)
    if as_json:
        emit_json({**summary, "run_dir": str(run_dir)})
        return
    click.echo(f"{run.system} ({run.backend}); dense matrix product "
               f"{run.matmul_flops_per_s / 1e9:.4g} GFLOP/s; power {run.power.watts:.4g} W "
               f"({run.power.origin})")
    for r in run.rows:
        click.echo(f"  {r['workload']:6s} batch {r['batch']:>7d}: {r['inferences_per_s']:.4g} "
                   f"{r['unit']}s/s, {r['energy_per_inference_j']:.4g} J per {r['unit']}, "
                   f"{100 * r['utilisation']:.3g} % of the matrix-product rate")
    click.echo(f"wrote {run_dir}")
