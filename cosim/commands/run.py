"""``cosim run``: the main job on the embedded default or a TOML config."""

from __future__ import annotations

from pathlib import Path

import click

from cosim.config import load_config, parse_override, set_key, validate_config
from cosim.outputs.jsonout import emit_json
from cosim.outputs.rundir import new_run_dir, prepare_run_dir


@click.command("run")
@click.argument("config_file", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", "run_dir", type=str, default=None,
              help="Run folder (default results/run-<timestamp>).")
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override one config key, e.g. --set haq.n_bits=8 or --set "
                   "hardware.array.r_wire_ohm=2.5 (repeatable).")
@click.option("--stages", default=None, help="Comma-separated stages to run "
              "(tia,vcmac,haq,field,snn,baseline,report); default all.")
@click.option("--seed", type=int, default=None, help="Seed of every random draw (run.seed).")
@click.option("--hardware", default=None, metavar="NAME|FILE",
              help="The job's hardware: a preset (paper, realistic, prime), a TOML file or "
                   "a run folder (hardware.preset) [default: realistic].")
@click.option("--workers", type=int, default=None,
              help="Processes at a time: ngspice runs, and the workload stages that run "
                   "side by side (run.workers; 1: every stage in turn).")
@click.option("--no-progress", is_flag=True, help="Do not draw progress bars.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the run's manifest as one JSON object (progress goes to stderr).")
def run_command(config_file: Path | None, run_dir: str | None, overrides: tuple[str, ...],
                stages: str | None, seed: int | None, hardware: str | None, workers: int | None,
                no_progress: bool, as_json: bool, threads: int = 1) -> None:
    """Run the main job: TIA and VCMAC in ngspice, HAQ vs PTQ, neural field, SNN, report.

    CONFIG_FILE is a TOML config or the manifest.json of a previous run (to
    reproduce it); without it the embedded default runs. The run folder must
    be new or empty, and one run at a time holds it. --threads (the rule of
    every command) is recorded in the manifest.
    """
    from cosim.pipeline import run_main

    config = load_config(config_file)
    if hardware is not None:
        set_key(config, "hardware.preset", hardware, where="--hardware")
    for text in overrides:
        set_key(config, *parse_override(text), where="--set")
    for key, value in (("run.stages", stages), ("run.seed", seed), ("run.workers", workers)):
        if value is not None:
            set_key(config, key, value, where="the command line")
    validate_config(config)  # settings that only fail together, before any work

    def echo(text: str) -> None:
        click.echo(text, err=as_json)

    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("run")) as folder:
        echo(f"run folder: {folder}")
        manifest = run_main(config, folder, echo=echo, progress=not no_progress,
                            threads=threads)
    if as_json:
        emit_json({**manifest, "run_dir": str(folder)})
        return
    click.echo(f"finished in {manifest['elapsed_s']:.0f} s; open {folder / 'report.html'}"
               if (folder / "report.html").exists() else
               f"finished in {manifest['elapsed_s']:.0f} s")
