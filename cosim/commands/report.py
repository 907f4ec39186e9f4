"""``cosim report``: energy, area and efficiency of workloads against GPU baselines.

Each input is a run folder (with ``workload.json``, or a ``cosim haq`` run), a
``workload.json``-style file or a TOML workload config; several inputs give
one comparison report. A ``cosim baseline`` run folder among them adds its
measured rows beside the datasheet baselines. The run folder is described in
:mod:`cosim.outputs.report`.
"""

from __future__ import annotations

from pathlib import Path

import click

from cosim.accounting.baselines import GpuAssumptions, get_baselines
from cosim.accounting.energy import EnergyTable
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.report import DEFAULT_BASELINES, ReportOptions, build_report, split_inputs
from cosim.outputs.rundir import new_run_dir, prepare_run_dir


@click.command("report")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/report-<timestamp>].")
@click.option("--baseline", "baselines", multiple=True,
              help=f"Baseline to compare with (repeat); default: {', '.join(DEFAULT_BASELINES)}.")
@click.option("--precision", default="fp32", show_default=True,
              help="Baseline throughput precision: fp32 (CUDA cores) or fp16 (tensor cores).")
@click.option("--gpu-utilisation", type=float, default=0.5, show_default=True,
              help="Achieved fraction of the baselines' datasheet peak (assumed).")
@click.option("--energy-override", type=click.Path(path_type=Path), default=None,
              help="CSV or TOML file replacing energy figures (origin 'override').")
@click.option("--simulate/--no-simulate", default=True, show_default=True,
              help="Take the cell-read, VCMAC and TIA energy from ngspice runs of our circuits.")
@click.option("--amplifiers", type=click.Choice(["transistor", "macro"]), default="transistor",
              show_default=True,
              help="Simulate the TIA op-amp and VCMAC amplifiers at transistor level, or with "
                   "the op-amp macro-model and behavioural amplifiers (faster).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def report_command(inputs: tuple[Path, ...], run_dir: Path | None, baselines: tuple[str, ...],
                   precision: str, gpu_utilisation: float, energy_override: Path | None,
                   simulate: bool, amplifiers: str, as_json: bool) -> None:
    """Report of INPUTS (run folders or configs; cosim baseline folders add measured rows)."""
    options = ReportOptions(baselines=tuple(baselines) or DEFAULT_BASELINES,
                            gpu=GpuAssumptions(precision=precision,
                                               utilisation=gpu_utilisation),
                            simulate=simulate, energy_override=energy_override,
                            transistor_amplifiers=amplifiers == "transistor")
    split_inputs(list(inputs))  # refuse bad inputs before the folder is made or ngspice runs
    get_baselines(list(options.baselines))
    if energy_override is not None:
        EnergyTable.cited().with_overrides(energy_override)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("report")) as run_dir:
        manifest = build_report(list(inputs), run_dir, options)
    if as_json:
        emit_json({**manifest, "run_dir": str(run_dir)})
        return
    for row in manifest["summary"]:
        area = row["area_efficiency_ratio"]
        click.echo(f"{row['workload']}: vs {row['baseline']}: energy efficiency "
                   f"{row['energy_efficiency_ratio']:.3g}x"
                   + (f", area efficiency {area:.3g}x" if area == area else ""))
    for note in manifest["notes"]:
        if "pending" in note or "failed" in note:
            click.echo(f"note: {note}")
    click.echo(f"wrote {run_dir / 'report.html'}")
