"""``cosim haq`` (the NF paper's MVM test) and ``cosim sweep haq`` (s x noise sweep).

Run folder of ``cosim haq``::

    RUN_DIR/manifest.json             RMSEs, ratio, normalisation, config, timings
    RUN_DIR/weights.csv, mvm.csv      target vs programmed weights; exact vs computed outputs
    RUN_DIR/rmse_cycles.csv           RMSE of each read cycle (with --read-cycles)
    RUN_DIR/scatter_weights.png/.svg  target vs programmed weight, PTQ and HAQ (Fig. 2f,g)
    RUN_DIR/scatter_mvm.png/.svg      exact vs computed MVM output
    RUN_DIR/rmse_cycles.png/.svg      RMSE distribution over read cycles (Fig. 2h,i)

Run folder of ``cosim sweep haq``::

    RUN_DIR/points.jsonl              one row per finished point (resume state)
    RUN_DIR/sweep.parquet, sweep.csv  the tidy table, one row per point
    RUN_DIR/heatmap_rmse_haq_<n>bit.png/.svg, best_amp_ratio.csv/.png/.svg
    RUN_DIR/manifest.json             axes, fixed settings, counts, timings
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import click

from circuits.errors import ConfigError, check_int
from cosim.commands.options import hardware_options, sim_options
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.haq import write_budget, write_experiment, write_sweep_outputs
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir
from cosim.sweep import (
    DEFAULT_RETRIES,
    FAILED_FILE,
    MAX_POINTS,
    DaskBackend,
    LocalBackend,
    check_resumable,
    grid,
    parse_range,
    run_sweep,
)
from cosim.sweep.executors import check_scheduler
from cosim.workloads.haq.budget import budget_summary, run_budget
from cosim.workloads.haq.mvm import (
    PAPER,
    HaqExperimentConfig,
    encode_ratios,
    measured_vcmac_ratios,
    run_mvm_experiment,
    sweep_config,
    sweep_hardware,
    sweep_point,
)


def _default(name: str):
    """The default of a ``HaqExperimentConfig`` field: one place for the config and the CLI."""
    return HaqExperimentConfig.__dataclass_fields__[name].default


@click.command("haq")
@click.option("--bits", type=int, default=_default("n_bits"), show_default=True,
              help="Bits (cells) per weight.")
@click.option("--amp-ratio", type=float, default=_default("amp_ratio"), show_default=True,
              help="HAQ amplification ratio s (> 1).")
@click.option("--read-cycles", type=int, default=_default("read_cycles"), show_default=True,
              help="MVM repetitions for the RMSE distribution (Fig. 2h,i).")
@click.option("--vector-length", type=int, default=_default("vector_length"),
              show_default=True, help="Rows of the test matrix (input vector length).")
@click.option("--outputs", "n_outputs", type=int, default=_default("n_outputs"),
              show_default=True, help="Columns of the test matrix.")
@click.option("--budget", is_flag=True,
              help="Also write the error budget: each read-path stage alone and together.")
@click.option("--seed", type=int, default=_default("seed"), show_default=True)
@hardware_options("realistic")
@sim_options
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/haq-<timestamp>].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def haq_command(bits: int, amp_ratio: float, read_cycles: int, vector_length: int,
                n_outputs: int, budget: bool, seed: int, hardware: HardwareSpec,
                sim: SimOptions, run_dir: Path | None, as_json: bool) -> None:
    """NF paper MVM test: PTQ vs HAQ RMSE (length-100 vectors, 8-bit inputs)."""
    cfg = HaqExperimentConfig(n_bits=bits, amp_ratio=amp_ratio, read_cycles=read_cycles,
                              vector_length=vector_length, n_outputs=n_outputs, seed=seed)
    cfg.check_hardware(hardware)
    cfg.layout(hardware, sim)  # an impossible placement is refused before the run folder
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("haq")) as run_dir:
        analog = hardware.aggregation.kind == "analog" or budget
        vcmac = measured_vcmac_ratios([cfg.amp_ratio], sim.backend) if analog else None
        result = run_mvm_experiment(cfg, hardware, sim, vcmac_measured=vcmac,
                                    progress=not as_json)
        summary = write_experiment(result, run_dir)
        if budget:
            table = run_budget(cfg, hardware, sim, vcmac_measured=vcmac, progress=not as_json)
            write_budget(table, run_dir)
            summary["budget"] = budget_summary(table)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    click.echo(f"PTQ RMSE {result.ptq.rmse:.4f}   HAQ RMSE {result.haq.rmse:.4f}   "
               f"PTQ/HAQ {result.ratio:.1f}x   (NF paper: {PAPER['rmse_ptq']} / "
               f"{PAPER['rmse_haq']} / {PAPER['ratio']}x)")
    click.echo(f"normalisation: {summary['normalisation']}")
    if read_cycles:
        c = summary["rmse_cycles_haq"]
        p = summary["rmse_cycles_ptq"]
        click.echo(f"over {read_cycles} read cycles: PTQ {p['mean']:.4f} +- {p['std']:.2g}, "
                   f"HAQ {c['mean']:.4f} +- {c['std']:.2g}")
    lay = summary["placement"]
    click.echo(f"hardware: {hardware.describe()}; {sim.describe()}")
    click.echo(f"placement: {lay['rows_used']} x {lay['cols_used']} cells used per macro, "
               f"{lay['macros']} macros ({lay['macros_full']} placed in full)")
    if budget:
        click.echo("error budget (RMSE, each stage alone on ideal hardware):")
        for stage, r in summary["budget"].items():
            click.echo(f"  {stage:<18} PTQ {r['rmse_ptq']:.4f}   HAQ {r['rmse_haq']:.4f}")
    click.echo(f"wrote {run_dir}")


def _digest(obj: object) -> str:
    """A short content hash of a JSON-able table (a sweep point names its hardware by it)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


@click.group("sweep")
def sweep_group() -> None:
    """Parameter sweeps (resumable; one tidy row per point)."""


@sweep_group.command("haq")
@click.option("--amp-ratio", "amp_ratio", default="1.1:2.5:0.1", show_default=True,
              help="Ratios s: a:b:step, a,b,c or one value.")
@click.option("--write-noise", "write_noise", default="0.05:0.30:0.05", show_default=True,
              help="Write-noise levels (fraction of g_LRS), a:b:step, a,b,c or one value.")
@click.option("--bits", default="4,8,12,16", show_default=True, help="Bit widths.")
@click.option("--seeds", type=int, default=5, show_default=True,
              help="Seeds per setting (0 .. seeds-1).")
@click.option("--vector-length", type=int, default=_default("vector_length"),
              show_default=True, help="Rows of the test matrix.")
@click.option("--outputs", "n_outputs", type=int, default=_default("n_outputs"),
              show_default=True, help="Columns of the test matrix.")
@hardware_options("realistic", exclude=("noise.write",))
@sim_options
@click.option("--workers", type=int, default=None,
              help="Worker processes [default: the CPU count].")
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              required=True, help="Run folder (holds the resume state).")
@click.option("--resume", is_flag=True, help="Continue the sweep already in the run folder.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the points on this Dask distributed scheduler (tcp://host:8786) "
                   "instead of the local process pool.")
@click.option("--retries", type=int, default=DEFAULT_RETRIES, show_default=True,
              help="Extra attempts of a point that fails before it is recorded as failed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sweep_haq_command(amp_ratio: str, write_noise: str, bits: str, seeds: int,
                      vector_length: int, n_outputs: int, hardware: HardwareSpec,
                      sim: SimOptions, workers: int | None, run_dir: Path, resume: bool,
                      scheduler: str | None, retries: int, as_json: bool,
                      threads: int = 1) -> None:
    """HAQ MVM RMSE over amplification ratio x write noise x bit width (Supp. Fig. 1).

    Each local worker process follows --threads too (0: the libraries' default).
    """
    check_int("--seeds", seeds, 1, MAX_POINTS)
    if workers is not None:
        check_int("--workers", workers, 1, 1024)
    check_int("--retries", retries, 0, 100)
    if scheduler is not None:
        check_scheduler(scheduler)
    axes = {"amp_ratio": parse_range(amp_ratio, "--amp-ratio"),
            "write_noise": parse_range(write_noise, "--write-noise"),
            "bits": parse_range(bits, "--bits", integer=True)}
    total = len(axes["amp_ratio"]) * len(axes["write_noise"]) * len(axes["bits"]) * seeds
    if total > MAX_POINTS:  # before the grid (and the seed list) is built
        raise ConfigError(f"the sweep has {total} points, more than {MAX_POINTS}; "
                          "use fewer --seeds or shorter ranges")
    axes["seed"] = list(range(seeds))
    hw_table, sim_table = hardware.as_dict(), asdict(sim)
    fixed = {"vector_length": vector_length, "n_outputs": n_outputs,
             "hardware_digest": _digest({"hardware": hw_table, "sim": sim_table})}
    points = grid(axes, **fixed)
    for p in points:  # refuse bad values before any work starts
        sweep_config(p).check_hardware(sweep_hardware(p, hardware))
    analog = hardware.aggregation.kind == "analog"
    if resume:
        check_resumable(run_dir)
    with prepare_run_dir(run_dir, resume=resume, resumable=True) as run_dir:
        if analog:  # the circuit's ratios, measured once for every point
            measured = encode_ratios(measured_vcmac_ratios(axes["amp_ratio"], sim.backend))
            fixed["vcmac_measured"] = measured
            points = [{**p, "vcmac_measured": measured} for p in points]
        workers = workers or os.cpu_count() or 1
        executor = (DaskBackend(scheduler=scheduler, retries=retries) if scheduler
                    else LocalBackend(workers=workers, retries=retries,
                                      threads_per_worker=threads or os.cpu_count() or 1))
        point_fn = functools.partial(sweep_point, hardware=hw_table, sim=sim_table)
        result = run_sweep(point_fn, points, run_dir, backend=executor,
                           resume=resume, progress=not as_json, desc="sweep haq")
        best = write_sweep_outputs(result.table, run_dir)
        manifest = new_manifest(
            "sweep haq", config={"axes": axes, "fixed": fixed}, hardware=hw_table,
            hardware_text=hardware.describe(), sim=sim_table,
            seeds={"haq": list(range(seeds))}, simulator=sim.backend == "spice" or analog,
            points=len(points), computed=result.computed,
            skipped=result.skipped, failed=result.failed, scheduler=scheduler or "local",
            workers=workers, elapsed_s=result.elapsed_s,
            best_amp_ratio=best.to_dict(orient="records"))
        write_manifest(run_dir, manifest)
    if as_json:
        emit_json({**manifest, "run_dir": str(run_dir)})
        return
    click.echo(f"{len(points)} points: {result.computed} computed, {result.skipped} already "
               f"done, {result.failed} failed, {result.elapsed_s:.1f} s")
    if result.failed:
        click.echo(f"failed points and their errors: {run_dir / FAILED_FILE} "
                   "(run again with --resume to retry them)")
    click.echo("best amplification ratio s per write noise (mean HAQ RMSE over seeds):")
    click.echo(best.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"wrote {run_dir}")
