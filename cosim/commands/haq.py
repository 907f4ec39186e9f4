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

import os
import re
from pathlib import Path

import click

from circuits.crossbar import CELLS, READOUTS
from circuits.errors import ConfigError, check_int
from cosim.layers.analog import VERIFY_READS
from cosim.layers.read_path import PLACEMENTS
from cosim.outputs.haq import write_budget, write_experiment, write_sweep_outputs
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir
from cosim.programming.aggregation import AGGREGATIONS
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
from cosim.workloads.haq_budget import budget_summary, run_budget
from cosim.workloads.haq_mvm import (
    BACKENDS,
    PAPER,
    HaqExperimentConfig,
    encode_ratios,
    measured_vcmac_ratios,
    run_mvm_experiment,
    sweep_config,
    sweep_point,
)

AGG_CHOICE = click.Choice(list(AGGREGATIONS))


def _default(name: str):
    """The default of a ``HaqExperimentConfig`` field: one place for the config and the CLI."""
    return HaqExperimentConfig.__dataclass_fields__[name].default


def _backend_option(default: str):
    # A plain string, checked by the config (ConfigError with did-you-mean).
    return click.option("--backend", default=default, show_default=True,
                        help=f"Tile backend: {', '.join(BACKENDS)}.")


@click.command("haq")
@click.option("--bits", type=int, default=_default("n_bits"), show_default=True,
              help="Bits (cells) per weight.")
@click.option("--amp-ratio", type=float, default=_default("amp_ratio"), show_default=True,
              help="HAQ amplification ratio s (> 1).")
@click.option("--noise", type=float, default=_default("write_noise"), show_default=True,
              help="Write-noise std of LRS cells, fraction of g_LRS (NF Fig. 2a: 0.187).")
@click.option("--hrs-noise", type=float, default=_default("hrs_noise"), show_default=True,
              help="Write-noise std of HRS cells, fraction of g_HRS.")
@click.option("--read-noise", type=float, default=_default("read_noise"), show_default=True,
              help="Read-noise amplitude, fresh at every read (PRIME eq. 7).")
@_backend_option(_default("backend"))
@click.option("--aggregation", type=AGG_CHOICE, default=_default("aggregation"),
              show_default=True,
              help="Bit aggregation of HAQ: exact digital powers or the VCMAC chain.")
@click.option("--read-cycles", type=int, default=_default("read_cycles"), show_default=True,
              help="MVM repetitions for the RMSE distribution (Fig. 2h,i).")
@click.option("--r-wire", "r_wire_ohm", type=float, default=_default("r_wire_ohm"),
              show_default=True,
              help="Wire resistance per cell segment (ohm); default the 40 nm interconnect "
                   "figure (circuits.interconnect); 0 is the paper's setting.")
@click.option("--cell", type=click.Choice(list(CELLS)), default=_default("cell"),
              show_default=True, help="Cell: access transistor in series (1T1R) or not.")
@click.option("--readout", type=click.Choice(list(READOUTS)), default=_default("readout"),
              show_default=True, help="Column front end: the TIA, or an ideal virtual ground.")
@click.option("--placement", type=click.Choice(list(PLACEMENTS)), default=_default("placement"),
              show_default=True,
              help="Weights in 512 x 512 macros: IR-aware (rows and columns used per macro "
                   "kept uniform) or every row and column.")
@click.option("--passes", "haq_passes", type=int, default=_default("haq_passes"),
              show_default=True, help="HAQ programming passes (1: the NF paper's scheme).")
@click.option("--adc-bits", type=int, default=None,
              help="Column ADC resolution [default: ideal ADC].")
@click.option("--verify-read", type=click.Choice(VERIFY_READS), default=_default("verify_read"),
              show_default=True,
              help="HAQ verify reads: the MVM's transfer, each cell alone, or first order.")
@click.option("--vector-length", type=int, default=_default("vector_length"),
              show_default=True, help="Rows of the test matrix (input vector length).")
@click.option("--outputs", "n_outputs", type=int, default=_default("n_outputs"),
              show_default=True, help="Columns of the test matrix.")
@click.option("--budget", is_flag=True,
              help="Also write the error budget: each read-path stage alone and together.")
@click.option("--seed", type=int, default=_default("seed"), show_default=True)
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/haq-<timestamp>].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def haq_command(bits: int, amp_ratio: float, noise: float, hrs_noise: float, read_noise: float,
                backend: str, aggregation: str, read_cycles: int, r_wire_ohm: float,
                cell: str, readout: str, placement: str, haq_passes: int,
                adc_bits: int | None, verify_read: str, vector_length: int,
                n_outputs: int, budget: bool, seed: int,
                run_dir: Path | None, as_json: bool) -> None:
    """NF paper MVM test: PTQ vs HAQ RMSE (length-100 vectors, 8-bit inputs)."""
    cfg = HaqExperimentConfig(n_bits=bits, amp_ratio=amp_ratio, write_noise=noise,
                              hrs_noise=hrs_noise, read_noise=read_noise, backend=backend,
                              aggregation=aggregation, read_cycles=read_cycles,
                              r_wire_ohm=r_wire_ohm, cell=cell, readout=readout,
                              placement=placement, haq_passes=haq_passes, adc_bits=adc_bits,
                              verify_read=verify_read, vector_length=vector_length,
                              n_outputs=n_outputs, seed=seed)
    cfg.layout()  # an impossible placement is refused before the run folder
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("haq")) as run_dir:
        analog = cfg.aggregation == "analog" or budget
        vcmac = measured_vcmac_ratios([cfg.amp_ratio], cfg.backend) if analog else None
        result = run_mvm_experiment(cfg, vcmac_measured=vcmac, progress=not as_json)
        summary = write_experiment(result, run_dir)
        if budget:
            table = run_budget(cfg, vcmac_measured=vcmac, progress=not as_json)
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
    click.echo(f"read path: {cfg.cell}, {cfg.r_wire_ohm:g} ohm per segment, {cfg.readout}; "
               f"{lay['rows_used']} x {lay['cols_used']} cells used per macro, "
               f"{lay['macros']} macros ({lay['macros_full']} placed in full)")
    if budget:
        click.echo("error budget (RMSE, each stage alone on ideal hardware):")
        for stage, r in summary["budget"].items():
            click.echo(f"  {stage:<18} PTQ {r['rmse_ptq']:.4f}   HAQ {r['rmse_haq']:.4f}")
    click.echo(f"wrote {run_dir}")


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)"
                      r":(\d{1,5})$")


def check_scheduler(address: str) -> str:
    """Refuse a Dask scheduler address that is not ``[tcp://]HOST:PORT``."""
    match = _ADDRESS.match(address.strip())
    if not match or not 1 <= int(match.group(1)) <= 65535:
        raise ConfigError(f"--scheduler {address!r} is not a scheduler address; write "
                          "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return address.strip()


@click.group("sweep")
def sweep_group() -> None:
    """Parameter sweeps (resumable; one tidy row per point)."""


@sweep_group.command("haq")
@click.option("--amp-ratio", "amp_ratio", default="1.1:2.5:0.1", show_default=True,
              help="Ratios s: a:b:step, a,b,c or one value.")
@click.option("--noise", default="0.05:0.30:0.05", show_default=True,
              help="Write-noise levels (fraction of g_LRS).")
@click.option("--bits", default="4,8,12,16", show_default=True, help="Bit widths.")
@click.option("--seeds", type=int, default=5, show_default=True,
              help="Seeds per setting (0 .. seeds-1).")
@_backend_option(_default("backend"))
@click.option("--aggregation", type=AGG_CHOICE, default=_default("aggregation"),
              show_default=True)
@click.option("--read-noise", type=float, default=_default("read_noise"), show_default=True)
@click.option("--r-wire", "r_wire_ohm", type=float, default=_default("r_wire_ohm"),
              show_default=True, help="Wire resistance per cell segment (ohm).")
@click.option("--verify-read", type=click.Choice(VERIFY_READS),
              default=_default("verify_read"), show_default=True,
              help="HAQ verify reads: the MVM's transfer, each cell alone, or first order "
                   "(one transfer extraction per point; exact without wires).")
@click.option("--vector-length", type=int, default=_default("vector_length"),
              show_default=True, help="Rows of the test matrix.")
@click.option("--outputs", "n_outputs", type=int, default=_default("n_outputs"),
              show_default=True, help="Columns of the test matrix.")
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
def sweep_haq_command(amp_ratio: str, noise: str, bits: str, seeds: int, backend: str,
                      aggregation: str, read_noise: float, r_wire_ohm: float,
                      verify_read: str, vector_length: int, n_outputs: int,
                      workers: int | None, run_dir: Path, resume: bool,
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
            "noise": parse_range(noise, "--noise"),
            "bits": parse_range(bits, "--bits", integer=True)}
    total = len(axes["amp_ratio"]) * len(axes["noise"]) * len(axes["bits"]) * seeds
    if total > MAX_POINTS:  # before the grid (and the seed list) is built
        raise ConfigError(f"the sweep has {total} points, more than {MAX_POINTS}; "
                          "use fewer --seeds or shorter ranges")
    axes["seed"] = list(range(seeds))
    fixed = {"backend": backend, "aggregation": aggregation, "read_noise": read_noise,
             "r_wire_ohm": r_wire_ohm, "verify_read": verify_read,
             "vector_length": vector_length, "n_outputs": n_outputs}
    points = grid(axes, **fixed)
    for p in points:  # refuse bad values before any work starts
        sweep_config(p)
    if resume:
        check_resumable(run_dir)
    with prepare_run_dir(run_dir, resume=resume, resumable=True) as run_dir:
        if aggregation == "analog":  # the circuit's ratios, measured once for every point
            measured = encode_ratios(measured_vcmac_ratios(axes["amp_ratio"], backend))
            fixed["vcmac_measured"] = measured
            points = [{**p, "vcmac_measured": measured} for p in points]
        workers = workers or os.cpu_count() or 1
        executor = (DaskBackend(scheduler=scheduler, retries=retries) if scheduler
                    else LocalBackend(workers=workers, retries=retries,
                                      threads_per_worker=threads or os.cpu_count() or 1))
        result = run_sweep(sweep_point, points, run_dir, backend=executor,
                           resume=resume, progress=not as_json, desc="sweep haq")
        best = write_sweep_outputs(result.table, run_dir)
        manifest = new_manifest(
            "sweep haq", config={"axes": axes, "fixed": fixed},
            seeds={"haq": list(range(seeds))}, simulator=backend == "spice" or
            aggregation == "analog", points=len(points), computed=result.computed,
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
