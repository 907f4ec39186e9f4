"""The stages of the main job (``cosim run``), in one registry.

A stage is one entry of :data:`STAGES`: its name (also the name of its TOML
section), the frozen dataclass of that section (the keys a config may set and
their defaults come from its fields, and constructing it validates them), the
function that runs it into its sub-folder, a description and a one-line
headline of its summary. :mod:`cosim.config` derives the whole config from this
registry, so adding a stage is one function and one entry here.

Stages run in registry order; a later stage may use an earlier one's summary
(``ctx.results``): the ``haq`` stage programs HAQ with the VCMAC ratios the
``vcmac`` stage measured, and ``report`` reports the workloads run before it.

Every workload stage runs on the job's hardware (``[hardware]``, one
:class:`cosim.hardware.spec.HardwareSpec`) simulated as ``[sim]`` says
(:class:`cosim.engine.options.SimOptions`), unless its own section names
another hardware (``hardware = "paper"``: a preset or a TOML file), and
writes its folder with its workload's one writer, the same as the workload's
own command.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tqdm import tqdm

from circuits.errors import ConfigError, check_choice, check_int, check_range
from cosim.accounting.baselines import get_baselines
from cosim.calibration.amplifiers import TiaJob, run_tia_job
from cosim.calibration.vcmac import SETTLE_STEP, VcmacJob, run_vcmac_job, vcmac_settling
from cosim.engine.options import SimOptions
from cosim.hardware.presets import load_hardware
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.amplifiers import write_tia, write_vcmac_settling
from cosim.outputs.baseline import is_baseline_dir, write_baselines
from cosim.outputs.field import write_field_run
from cosim.outputs.haq import write_experiment
from cosim.outputs.inpaint import write_run as write_inpaint_run
from cosim.outputs.nerf import procedural_scene, write_nerf_run
from cosim.outputs.report import DEFAULT_BASELINES, ReportOptions, build_report
from cosim.outputs.report.fmt import num
from cosim.outputs.snn import write_run
from cosim.outputs.vcmac import write_vcmac
from cosim.workloads.baselines import SOFTWARE_NETS, run_baselines
from cosim.workloads.field.stage import FieldStage, compute_field_stage, field_headline
from cosim.workloads.haq.mvm import HaqExperimentConfig, run_mvm_experiment
from cosim.workloads.inpaint.stage import InpaintStage, compute_inpaint_stage, inpaint_headline
from cosim.workloads.nerf.nerf import run_nerf
from cosim.workloads.nerf.stage import NerfStage, nerf_headline
from cosim.workloads.snn.stage import SnnStage, compute_snn_stage, snn_headline
from cosim.workloads.software import DEVICES


@dataclass(frozen=True, kw_only=True)
class Context:
    """What a stage gets.

    Attributes:
        config: every section's dataclass, by section name (``"run"`` included;
            ``"hardware"``: the job's :class:`HardwareSpec`, ``"sim"``: its ``SimOptions``).
        run_dir: the run folder; the stage writes into ``out`` (``run_dir / name``).
        results: the summaries of the stages run before it, by name.
        progress: draw progress bars.
        name: the stage's name.
    """

    config: Mapping[str, Any]
    run_dir: Path
    results: Mapping[str, dict[str, Any]]
    progress: bool = True
    name: str = ""

    @property
    def out(self) -> Path:
        """The stage's own folder, ``run_dir / name``."""
        return self.run_dir / self.name

    @property
    def sim(self) -> SimOptions:
        """How the job simulates (``[sim]``)."""
        return self.config["sim"]

    def hardware(self, choice: str = "") -> HardwareSpec:
        """The hardware a stage names (a preset or TOML file), or the job's for ``""``."""
        return load_hardware(choice) if choice else self.config["hardware"]


def workload_stage(compute: Callable[..., Any], write: Callable[[Any, Path], dict[str, Any]]
                   ) -> Callable[[Context, Any], dict[str, Any]]:
    """The stage function of a workload: compute on the stage's hardware, then write with
    the workload's one writer (the one its own command uses).

    ``compute(cfg, hardware, sim)`` returns the workload's result; ``write(result,
    folder)`` writes its tables, figures, ``workload.json`` (the events it
    counted, which the report reads) and manifest. A new workload is then one
    module (its config dataclass and ``compute``), its writer, and one entry in
    :data:`STAGES` with ``run=workload_stage(compute, write)``.
    """
    def run(ctx: Context, cfg: Any) -> dict[str, Any]:
        hw = ctx.hardware(getattr(cfg, "hardware", ""))
        return {**write(compute(cfg, hw, ctx.sim), ctx.out), "hardware_name": hw.name}
    return run


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One stage of the main job.

    Attributes:
        name: the stage's name and TOML section.
        config: the frozen dataclass of its section.
        run: ``run(ctx, cfg) -> summary`` (JSON-able); writes ``ctx.run_dir / name``.
        description: what it does, one line.
        headline: one line of its summary for the console.
        in_default_job: whether ``cosim run`` runs it when ``[run] stages`` is not given.
        from_run: fields of ``config`` filled from the ``[run]`` section (not
            keys of this section), e.g. the seed.
        side_by_side: the stage may run in a worker process at the same time as the
            side-by-side stages next to it in the registry (``run.workers`` at a
            time): it reads no summary of those, writes only its own folder and times
            nothing it reports as a machine's speed.
        cost_s: a side-by-side stage's typical time with its default settings (s,
            measured on a 2-core machine); side-by-side stages start longest first, so
            the workers end close together. Only the order depends on it.
    """

    name: str
    config: type
    run: Callable[[Context, Any], dict[str, Any]]
    description: str
    headline: Callable[[dict[str, Any]], str]
    from_run: tuple[str, ...] = ()
    in_default_job: bool = True
    side_by_side: bool = False
    cost_s: float = 0.0


# -- the stages' own settings ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportStage:
    """``[report]``: the energy and area report.

    Attributes:
        baselines: GPU baselines to compare with (``cosim.accounting.baselines``).
        simulate: take the cell-read, TIA and VCMAC energies (and the amplifiers'
            conversion times) from ngspice.
        transistor_amplifiers: simulate the amplifiers at transistor level;
            false: op-amp macro-model and behavioural VCMAC amplifiers (faster).
    """

    baselines: tuple[str, ...] = DEFAULT_BASELINES
    simulate: bool = True
    transistor_amplifiers: bool = True

    def __post_init__(self) -> None:
        if not self.baselines:
            raise ConfigError("baselines is empty; name at least one GPU baseline")
        get_baselines(list(self.baselines))


@dataclass(frozen=True, kw_only=True)
class BaselineStage:
    """``[baseline]``: the software networks of the workloads this job ran, timed on this
    machine (``cosim baseline``), so the report prices them beside the datasheets.

    Attributes:
        device: ``cpu`` or ``gpu`` (JAX's).
        min_time_s: seconds of timing per batch size.
        max_batch: skip batch sizes above this (the NF paper's 655,360-voxel frame
            takes seconds per call on a CPU; ``cosim baseline`` times it).
        power_w: the device's rated power (W); 0: ``nvidia-smi`` on a GPU, an
            assumed per-core figure on a CPU (labelled).
    """

    device: str = "cpu"
    min_time_s: float = 0.2
    max_batch: int = 20_000
    power_w: float = 0.0

    def __post_init__(self) -> None:
        check_choice("device", self.device, DEVICES)
        check_range("min_time_s", self.min_time_s, 0.0, 3600.0)
        check_int("max_batch", self.max_batch, 1, 10**8)
        check_range("power_w", self.power_w, 0.0, 1e5)


# -- what each stage does ----------------------------------------------------------------


def _tia(ctx: Context, cfg: TiaJob) -> dict[str, Any]:
    result = run_tia_job(cfg, workers=ctx.config["run"].workers, workdir=ctx.out / "spice")
    write_tia(result, ctx.out, cfg.tolerance)
    return result.summary(cfg.tolerance)


def _vcmac(ctx: Context, cfg: VcmacJob) -> dict[str, Any]:
    with tqdm(total=16, desc="VCMAC codes", unit="code", disable=not ctx.progress,
              leave=False) as bar:
        summary, curves = run_vcmac_job(cfg, workers=ctx.config["run"].workers,
                                        progress=bar.update)
    write_vcmac(summary, curves, ctx.out)
    in_range = summary[(summary.nominal >= 1.1 - 1e-9) & (summary.nominal <= 2.0 + 1e-9)]
    out = {"codes": summary[["code", "nominal", "measured", "rel_error"]].to_dict("records"),
           "max_abs_rel_error_1p1_to_2p0": float(in_range.rel_error.abs().max())}
    if cfg.settling and cfg.transistor_level:
        table, responses = vcmac_settling(cfg.params(), cfg.settle_codes,
                                          workers=ctx.config["run"].workers,
                                          workdir=ctx.out / "spice" / "settling")
        write_vcmac_settling(table, responses, ctx.out, SETTLE_STEP.delay_s)
        out["settling"] = table[["code", "settle_s", "overshoot"]].to_dict("records")
        out["max_settle_s"] = float(table["settle_s"].max())
    return out


def _haq(ctx: Context, cfg: HaqExperimentConfig) -> dict[str, Any]:
    hw = ctx.hardware()
    vcmac = None
    if "vcmac" in ctx.results and hw.aggregation.kind == "analog":
        vcmac = {int(r["code"]): float(r["measured"]) for r in ctx.results["vcmac"]["codes"]}
    summary = write_experiment(run_mvm_experiment(cfg, hw, ctx.sim, vcmac_measured=vcmac,
                                                  progress=ctx.progress),
                               ctx.out)
    return {**{k: summary[k] for k in ("rmse_ptq", "rmse_haq", "ratio", "normalisation",
                                       "hardware_text") if k in summary},
            "hardware_name": hw.name}


def _nerf(ctx: Context, cfg: NerfStage) -> dict[str, Any]:
    """``cosim nerf run --quick`` as a stage: the procedural scene written into the stage's
    folder and read back, then train, deploy, evaluate and the one writer."""
    hw = ctx.hardware(cfg.hardware)
    nerf_cfg, scene_cfg = cfg.configs()
    scene = procedural_scene(scene_cfg, ctx.out / "scene")
    return {**write_nerf_run(run_nerf(nerf_cfg, scene, hw, ctx.sim), ctx.out),
            "hardware_name": hw.name}


def _baseline(ctx: Context, cfg: BaselineStage) -> dict[str, Any]:
    keys = tuple(k for k in SOFTWARE_NETS if k in ctx.results)
    if not keys:
        return {"skipped": "no workload with a software network ran in this job"}
    run = run_baselines(keys, device=cfg.device, power_w=cfg.power_w or None,
                        min_time_s=cfg.min_time_s, max_batch=cfg.max_batch,
                        configs={k: ctx.config[k] for k in keys})
    return write_baselines(run, ctx.out)


def _baseline_line(s: dict[str, Any]) -> str:
    if "skipped" in s:
        return s["skipped"]
    best = ", ".join(f"{b['workload']} {num(b['inferences_per_s'], 3)}/s (batch {b['batch']})"
                     for b in s["best"])
    return f"{s['system']}, {s['power_w']:.3g} W ({s['power_origin']}): {best}"


def _report(ctx: Context, cfg: ReportStage) -> dict[str, Any]:
    inputs = [ctx.run_dir / s for s in ctx.results
              if (ctx.run_dir / s / "workload.json").exists() or is_baseline_dir(ctx.run_dir / s)]
    if not inputs:
        return {"skipped": "no workload run in this job"}
    manifest = build_report(inputs, ctx.out,
                            ReportOptions(baselines=tuple(cfg.baselines), simulate=cfg.simulate,
                                          transistor_amplifiers=cfg.transistor_amplifiers))
    shutil.copyfile(ctx.out / "report.html", ctx.run_dir / "report.html")
    return {"report": "report.html", "ratios": manifest["summary"]}


def _tia_line(s: dict[str, Any]) -> str:
    return (f"gain {s['gain_ohm']:.2f} ohm ({s['gain_rel_error']:+.3%}), "
            f"settles to {s['settle_tolerance']:.1%} in {s['settle_time_s'] * 1e9:.1f} ns, "
            f"{s['energy_per_conversion_j'] * 1e12:.3g} pJ per conversion")


def _vcmac_line(s: dict[str, Any]) -> str:
    line = f"max |ratio error| for s 1.1-2.0: {s['max_abs_rel_error_1p1_to_2p0']:.3%}"
    if "max_settle_s" in s:
        line += f", settles in {s['max_settle_s'] * 1e6:.3g} us at most"
    return line


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage(name="tia", config=TiaJob, run=_tia,
          description="TIA (transistor-level op-amp) gain, offset, settling and energy per "
                      "input range in ngspice", headline=_tia_line),
    Stage(name="vcmac", config=VcmacJob, run=_vcmac,
          description="VCMAC (transistor-level amplifiers) ratio and settling of all 16 "
                      "switch codes in ngspice", headline=_vcmac_line),
    Stage(name="haq", config=HaqExperimentConfig, run=_haq, from_run=("seed",),
          side_by_side=True, cost_s=45.0,
          description="HAQ vs PTQ MVM test through the tile",
          headline=lambda s: f"RMSE PTQ {s['rmse_ptq']:.4f}, HAQ {s['rmse_haq']:.4f} "
                             f"({s['ratio']:.1f}x)"),
    Stage(name="field", config=FieldStage,
          run=workload_stage(compute_field_stage, write_field_run),
          from_run=("seed",), headline=field_headline, side_by_side=True, cost_s=75.0,
          description="neural-field CT: software vs HAQ vs PTQ (quick setting)"),
    Stage(name="nerf", config=NerfStage, run=_nerf, from_run=("seed",),
          headline=nerf_headline, side_by_side=True, cost_s=60.0,
          description="novel-view synthesis: NeRF on the procedural scene, software vs HAQ "
                      "vs PTQ (quick setting)"),
    Stage(name="snn", config=SnnStage,
          run=workload_stage(compute_snn_stage, lambda r, out: write_run(r, out, "snn run")),
          from_run=("seed",), headline=snn_headline, side_by_side=True, cost_s=90.0,
          description="PRIME SNN: pop-up pruning of random pairs, LIF loop on the tiles, "
                      "early stop (quick setting)"),
    Stage(name="inpaint", config=InpaintStage,
          run=workload_stage(compute_inpaint_stage,
                             lambda r, out: write_inpaint_run(r, out, "inpaint run")),
          from_run=("seed",), headline=inpaint_headline, in_default_job=False,
          side_by_side=True, cost_s=60.0,
          description="PRIME inpainting: spiking VAE on pruned random pairs, early stop by "
                      "the decoder (quick setting)"),
    Stage(name="baseline", config=BaselineStage, run=_baseline, headline=_baseline_line,
          description="the workloads' software networks timed on this machine (measured "
                      "baselines)"),
    Stage(name="report", config=ReportStage, run=_report,
          description="energy and area report against GPU baselines",
          headline=lambda s: "report.html written" if "report" in s else s.get("skipped", "")),
)}

DEFAULT_STAGES: tuple[str, ...] = tuple(n for n, s in STAGES.items() if s.in_default_job)
"""What ``cosim run`` runs unless ``[run] stages`` says otherwise."""
"""The stage registry, in run order."""


@dataclass(frozen=True, kw_only=True)
class RunSection:
    """``[run]``: the job as a whole.

    Attributes:
        seed: seed of every random draw of the job.
        workers: processes at a time: ngspice runs, and the side-by-side workload
            stages (:attr:`Stage.side_by_side`: haq, field, nerf, snn, inpaint), each in
            a worker process with the job's BLAS thread cap; 1 runs every stage in
            this process, one after another. A stage's results do not depend on it.
        stages: the stages to run (registry order is kept).
    """

    seed: int = 0
    workers: int = 2
    stages: tuple[str, ...] = field(default_factory=lambda: DEFAULT_STAGES)

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0, 2**63 - 1)
        check_int("workers", self.workers, 1, 1024)
        if not self.stages:
            raise ConfigError(f"stages is empty; name at least one of {', '.join(STAGES)}")
        for name in self.stages:
            check_choice("stage", str(name), STAGES)


FLAT_SECTIONS: dict[str, type] = {"run": RunSection, "sim": SimOptions}
"""The sections that are not stages, each one flat dataclass (``[hardware]``, nested, is
read by :mod:`cosim.config` through :mod:`cosim.hardware.presets`)."""


def section_fields(name: str) -> dict[str, Any]:
    """The keys of section ``name`` with their defaults (from its dataclass)."""
    if name in FLAT_SECTIONS:
        cls, skip = FLAT_SECTIONS[name], ()
    else:
        cls, skip = STAGES[name].config, STAGES[name].from_run
    default = cls()
    return {f.name: getattr(default, f.name) for f in fields(cls) if f.name not in skip}


def build(name: str, values: Mapping[str, Any], run: RunSection | None = None) -> Any:
    """Section ``name``'s dataclass from ``values`` (and the ``[run]`` fields it takes).

    Raises:
        ConfigError: a value the dataclass refuses, named ``section.key``.
    """
    cls = FLAT_SECTIONS[name] if name in FLAT_SECTIONS else STAGES[name].config
    extra = {} if name in FLAT_SECTIONS else {k: getattr(run or RunSection(), k)
                                              for k in STAGES[name].from_run}
    try:
        return cls(**{**values, **extra})
    except ConfigError as exc:
        raise ConfigError(_qualified(name, cls, str(exc))) from None


def _qualified(section: str, cls: type, msg: str) -> str:
    """``msg`` naming the key as the user writes it (``haq.backend``), or the section."""
    for f in fields(cls):
        for lead in ("", "unknown "):
            if msg.startswith(f"{lead}{f.name} "):
                return f"{lead}{section}.{msg[len(lead):]}"
    return f"[{section}] {msg}"
