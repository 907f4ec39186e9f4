"""``cosim field``: the neural field, trained, deployed with HAQ and PTQ, evaluated.

``run`` does train, deploy and eval in one go; ``train`` writes a checkpoint
(Ctrl-C keeps the last state, ``--resume`` continues it) that ``deploy``,
``eval``, ``sparse`` and ``hapo`` read with ``--model``; ``encodings``
compares the input encodings; ``verify RUN_DIR`` checks a run's recorded layers
against ngspice (``cosim verify``). Run folders: see :mod:`cosim.outputs.field`.
Every input is checked (config, volume file, model folder) before the run
folder is made and before any work.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from circuits.errors import ConfigError
from cosim.commands.export import check_export, export_network, export_option
from cosim.commands.options import HardwareChoice, SimChoice, hardware_options, sim_options
from cosim.commands.verify import verify_command
from cosim.engine.options import SimOptions
from cosim.hardware.presets import load_hardware
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir


def parse_bits(text: str) -> tuple[int, int, int]:
    """``"14,14,12"`` -> ``(14, 14, 12)`` (input, hidden, output)."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        bits = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--bits must be three integers 'input,hidden,output', got "
                          f"{text!r}") from None
    if len(bits) != 3:
        raise ConfigError(f"--bits must be three integers 'input,hidden,output', got {text!r}")
    return bits  # ranges checked by the config


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"40x128x128"`` -> ``(40, 128, 128)``."""
    try:
        shape = tuple(int(p) for p in str(text).lower().split("x"))
    except ValueError:
        raise ConfigError(f"--phantom must be SLICESxHEIGHTxWIDTH, got {text!r}") from None
    if len(shape) != 3:
        raise ConfigError(f"--phantom must be SLICESxHEIGHTxWIDTH, got {text!r}")
    return shape


@click.group("field")
def field_group() -> None:
    """Neural-field CT reconstruction (NF paper): software vs HAQ vs PTQ."""




def parse_counts(text: str, what: str = "--slices") -> tuple[int, ...]:
    """``"20,10,5"`` -> ``(20, 10, 5)``."""
    try:
        out = tuple(int(p) for p in str(text).split(","))
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated integers, got {text!r}") from None
    return out


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """``"1.2,1.5"`` -> ``(1.2, 1.5)``."""
    try:
        return tuple(float(p) for p in str(text).split(","))
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers, got {text!r}") from None


def _options(opts: list[Callable]) -> Callable:
    def wrap(f: Callable) -> Callable:
        for o in reversed(opts):
            f = o(f)
        return f
    return wrap


_VOLUME = [
    click.option("--volume", "volume_path", type=click.Path(path_type=Path, dir_okay=False),
                 default=None,
                 help="Volume file: .npy, .npz, .nii, .nii.gz [default: phantom / the model's]."),
    click.option("--frame", type=int, default=None, help="Frame of a 4D volume (0-based)."),
]
_MODEL = [
    click.option("--phantom", "phantom", default="40x128x128", show_default=True,
                 help="Phantom size SLICESxHEIGHTxWIDTH when no --volume."),
    click.option("--phantom-angles", "phantom_angles", default="0,0,0", show_default=True,
                 help="Phantom turned against the grid: PHI,THETA,PSI degrees (z-x-z Euler), "
                      "e.g. 30,25,15 for an oblique phantom."),
    click.option("--encoding", default="gaussian", show_default=True,
                 help="gaussian, positional, basic or none."),
    click.option("--sigma", type=float, default=None,
                 help="Scale of the encoding in cycles per unit of x in [-1, 1]: the "
                      "Gaussian B's std, the positional top-frequency base [default: each "
                      "encoding's own: gaussian 2, positional 32]."),
    click.option("--encoder-reads", "encoder_reads", type=int, default=None,
                 help="Analog reads of the Gaussian encoder's projection averaged per voxel "
                      "(its read noise falls as 1/sqrt(N); every read is counted) "
                      "[default: 1; quick 16, the main job's stage setting]."),
    click.option("--wide", is_flag=True,
                 help="The wider network (SIREN, width 128, full-rank hidden)."),
    click.option("--steps", type=int, default=None, help="Training steps [2000; quick 300]."),
    click.option("--batch", type=int, default=None,
                 help="Voxels per step [16384; quick 4096]; 0 for all."),
    click.option("--lr", type=float, default=1e-3, show_default=True,
                 help="Adam learning rate at step 0."),
    click.option("--lr-schedule", default="cosine", show_default=True,
                 help="How the rate falls over the steps: cosine or exponential (to 1 % of "
                      "--lr at the last step) or constant."),
    click.option("--seed", type=int, default=0, show_default=True),
]
_CURVE = click.option("--psnr-every", type=int, default=0, show_default=True,
                      help="Score the software PSNR every N training steps (0: never); "
                           "writes psnr_curve.csv/.png.")
_DEPLOY = [
    click.option("--bits", default="14,14,12", show_default=True,
                 help="Cells per weight: input,hidden,output matrices."),
    click.option("--amp-ratio", type=float, default=1.5, show_default=True, help="HAQ s (> 1)."),
    click.option("--weight-scaling", default="matrix", show_default=True,
                 help="Full-scale weight of HAQ/PTQ: matrix (one per matrix, the NF "
                      "paper's) or column (one per output column, applied digitally)."),
]
_LAYER_READS = click.option(
    "--layer-reads", "layer_reads", type=int, default=None,
    help="Analog reads of every network matrix averaged per voxel (their read noise falls "
         "as 1/sqrt(N); every read is counted) [default: a --model's own, else 1].")
_DEPLOY.append(_LAYER_READS)
HARDWARE = "paper"
"""The field's default hardware preset (a ``--model``'s own hardware where one is given)."""


_MODEL_DIR = click.option("--model", "model_dir", type=click.Path(path_type=Path),
                          required=True,
                          help="Run folder of 'cosim field train' (or 'field run').")
_OUT = [
    click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
                 default=None, help="Run folder [default: results/field-<timestamp>]."),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
]


def _model_config(*, quick: bool = False, phantom: str, phantom_angles: str = "0,0,0",
                  encoding: str, sigma: float | None, encoder_reads: int | None = None,
                  wide: bool, steps: int | None, batch: int | None, lr: float, seed: int,
                  lr_schedule: str = "cosine", bits: str = "14,14,12", amp_ratio: float = 1.5,
                  weight_scaling: str = "matrix", layer_reads: int | None = None):
    from cosim.workloads.field.encoder import EncoderConfig
    from cosim.workloads.field.field import FieldConfig
    from cosim.workloads.field.mlp import PAPER_MLP, WIDE, TrainConfig
    from cosim.workloads.field.stage import (
        QUICK_BATCH,
        QUICK_ENCODER_READS,
        QUICK_LAYER_READS,
        QUICK_SHAPE,
        QUICK_STEPS,
    )

    # --quick: the main job's stage setting
    shape = QUICK_SHAPE if quick else parse_shape(phantom)
    training = TrainConfig(steps=steps if steps is not None else
                           (QUICK_STEPS if quick else 2000),
                           batch=batch if batch is not None else
                           (QUICK_BATCH if quick else 16384), learning_rate=lr,
                           schedule=lr_schedule, seed=seed)
    return FieldConfig(phantom_shape=shape,
                             phantom_angles=parse_floats(phantom_angles, "--phantom-angles"),
                             encoder=EncoderConfig(
                                 kind=encoding, sigma=sigma,
                                 reads=encoder_reads if encoder_reads is not None else
                                 (QUICK_ENCODER_READS if quick else 1)),
                             mlp=WIDE if wide else PAPER_MLP, training=training, seed=seed,
                             **_deploy_fields(bits=bits, amp_ratio=amp_ratio,
                                              weight_scaling=weight_scaling,
                                              layer_reads=layer_reads if layer_reads is not None
                                              else (QUICK_LAYER_READS if quick else None)))


def _deploy_fields(*, bits: str = "14,14,12", amp_ratio: float = 1.5,
                   weight_scaling: str = "matrix", layer_reads: int | None = None
                   ) -> dict[str, Any]:
    """Config fields of the deploy options (``layer_reads`` only where given: a model's
    own stays otherwise)."""
    out = {"bits": parse_bits(bits), "amp_ratio": amp_ratio, "weight_scaling": weight_scaling}
    if layer_reads is not None:
        out["layer_reads"] = layer_reads
    return out


def _check_backend(sim: SimOptions) -> None:
    from cosim.workloads.field.field import workload_sim

    workload_sim(sim)


def _volume(volume_path: Path | None, frame: int | None, option: str = "--frame"):
    from cosim.workloads.field.volume import load_volume

    if volume_path is not None:
        return load_volume(volume_path, frame, option=option)
    if frame is not None:
        raise ConfigError(f"{option} needs --volume")
    return None


def _model(model_dir: Path, deploy: dict[str, Any] | None = None, what: str = "--model", *,
           hardware: HardwareChoice | None = None, sim: SimChoice | None = None):
    """``(config, hardware, sim, volume, state)`` of a trained model, with the deploy
    options applied and the hardware options over the model's own hardware."""
    from cosim.outputs.field import load_checkpoint
    from cosim.workloads.field.field import encoder_read

    cfg, hw0, sim0, truth, state = load_checkpoint(model_dir, what)
    hw = hardware.resolve(hw0) if hardware is not None else hw0
    sim_ = sim.resolve(sim0) if sim is not None else sim0
    if encoder_read(cfg, hw, sim_) != encoder_read(cfg, hw0, sim0):
        raise ConfigError(
            f"{what} {model_dir} was trained on {hw0.name} hardware ({sim0.backend} backend), "
            f"whose Gaussian encoder B it learnt; B is read through the hardware, so "
            f"{hw.name} ({sim_.backend}) needs a model trained on it "
            f"('cosim field train --hardware ...')")
    if deploy is not None:
        cfg = replace(cfg, **_deploy_fields(**deploy))
    _check_backend(sim_)  # a backend the field cannot use, before any work
    return cfg, hw, sim_, truth, state


def _progress(as_json: bool) -> Callable[[str, int, int], None]:
    bars: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if as_json:
            return
        from tqdm import tqdm

        bar = bars.get(phase)
        if bar is None:
            unit = ("step" if phase.startswith("train") else
                    "point" if phase == "hapo" else "voxel")
            bar = bars[phase] = tqdm(total=total, desc=phase, unit=unit, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return progress


def _print_metrics(summary: dict[str, Any], run_dir: Path) -> None:
    for m in ("software", "software_hw_features", "haq", "ptq"):
        if f"psnr_{m}" in summary:
            click.echo(f"{m:>22}: PSNR {summary[f'psnr_{m}']:6.2f} dB   SSIM "
                       f"{summary[f'ssim_{m}']:.3f}")
    if "hardware_text" in summary:
        click.echo(f"hardware: {summary['hardware_text']}")
    click.echo(f"wrote {run_dir}")


def _finish(summary: dict[str, Any], run_dir: Path, as_json: bool) -> None:
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
    else:
        _print_metrics(summary, run_dir)


@field_group.command("run")
@click.option("--quick", is_flag=True,
              help="The main job's quick setting: small phantom (8x48x48), 300 steps, "
                   "16 averaged encoder reads.")
@_options(_VOLUME + _MODEL + _DEPLOY)
@hardware_options(HARDWARE)
@sim_options
@export_option
@_CURVE
@_options(_OUT)
def field_run_command(quick: bool, volume_path: Path | None, frame: int | None,
                      hardware: HardwareSpec, sim: SimOptions, export_format: str | None,
                      psnr_every: int, run_dir: Path | None, as_json: bool,
                      **opts: Any) -> None:
    """Train the neural field (dense), deploy it with HAQ and PTQ, report PSNR/SSIM."""
    from cosim.outputs.field import write_field_run
    from cosim.workloads.field.export import EXPORT_FORMATS
    from cosim.workloads.field.field import run_field

    cfg = _model_config(quick=quick, **opts)
    _check_backend(sim)  # a backend the field cannot use, before any work
    check_export(export_format, EXPORT_FORMATS)
    _check_psnr_every(psnr_every)
    volume = _volume(volume_path, frame)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field")) as run_dir:
        curve: list = []
        result = run_field(cfg, hardware, sim, volume, progress=_progress(as_json),
                           psnr_every=psnr_every, on_psnr=curve.append if psnr_every else None)
        summary = write_field_run(result, run_dir, curve=curve)
        if export_format:
            summary["export"] = _export(run_dir, export_format, result.params, cfg,
                                        result.encoder, result.truth)
    _finish(summary, run_dir, as_json)


def _check_psnr_every(psnr_every: int) -> None:
    if not 0 <= psnr_every <= 10**7:
        raise ConfigError(f"--psnr-every must be 0 (never) or a number of steps up to 1e7, "
                          f"got {psnr_every}")


def _export(run_dir: Path, fmt: str, params, cfg, encoder, truth) -> dict[str, Any] | None:
    """``--export``: the trained network (:func:`cosim.workloads.field.export.field_graph`),
    its inputs the voxel coordinates and its targets the normalised volume."""
    from cosim.workloads.field.export import field_graph
    from cosim.workloads.field.volume import voxel_coordinates

    return export_network(run_dir, fmt, field_graph(params, cfg.mlp, encoder),
                          voxel_coordinates(truth.shape),
                          targets=truth.reshape(-1, 1).astype("float32"))


@field_group.command("train")
@click.option("--resume", is_flag=True,
              help="Continue the checkpoint in -o (its config; --steps may raise the total).")
@_options(_VOLUME + _MODEL + [_LAYER_READS])
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@export_option
@_CURVE
@_options(_OUT)
def field_train_command(resume: bool, volume_path: Path | None, frame: int | None,
                        hardware: HardwareChoice, sim: SimChoice, export_format: str | None,
                        psnr_every: int, run_dir: Path | None, as_json: bool,
                        **opts: Any) -> None:
    """Train the neural field (dense) and keep a checkpoint; Ctrl-C keeps the last step."""
    from cosim.outputs.field import write_training
    from cosim.workloads.field.export import EXPORT_FORMATS
    from cosim.workloads.field.field import prepare, train_field
    from cosim.workloads.field.mlp import TrainConfig

    check_export(export_format, EXPORT_FORMATS)
    _check_psnr_every(psnr_every)
    if resume:
        if run_dir is None:
            raise ConfigError("--resume needs -o RUN_DIR (the run to continue)")
        if volume_path is not None or frame is not None:
            raise ConfigError("--resume continues on the checkpoint's volume; drop --volume")
        cfg, hw, sim_, truth, state = _model(run_dir, what="-o", hardware=hardware, sim=sim)
        if opts["steps"] is not None:
            cfg = replace(cfg, training=TrainConfig(**{**cfg.training.__dict__,
                                                       "steps": opts["steps"]}))
        if opts["layer_reads"] is not None:
            cfg = replace(cfg, layer_reads=opts["layer_reads"])
        volume = truth
    else:
        cfg, state = _model_config(**opts), None
        hw, sim_ = hardware.resolve(HARDWARE), sim.resolve()
        _check_backend(sim_)
        volume = _volume(volume_path, frame)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field-train"),
                         resume=resume, resumable=True) as run_dir:
        prep = prepare(cfg, hw, sim_, volume)
        saved: dict[str, Any] = {}
        curve: list = []

        def keep(st) -> None:
            saved["summary"] = write_training(run_dir, cfg, hw, sim_, prep.truth, st,
                                              interrupted=True, curve=curve)

        try:
            state = train_field(cfg, prep, resume=state, progress=_progress(as_json),
                                on_interrupt=keep, psnr_every=psnr_every,
                                on_psnr=curve.append if psnr_every else None)
        except KeyboardInterrupt:
            step = saved.get("summary", {}).get("training_steps", "?")
            click.echo(f"interrupted at step {step}; checkpoint kept in {run_dir}; continue "
                       f"with 'cosim field train --resume -o {run_dir}'", err=True)
            sys.exit(130)
        summary = write_training(run_dir, cfg, hw, sim_, prep.truth, state, curve=curve)
        from cosim.workloads.field.metrics import psnr
        from cosim.workloads.field.mlp import forward

        summary["psnr_software"] = psnr(forward(state.params, prep.feats, cfg.mlp).reshape(
            prep.truth.shape), prep.truth)
        if export_format:
            summary["export"] = _export(run_dir, export_format, state.params, cfg,
                                        prep.encoder, prep.truth)
    if as_json:
        emit_json({**summary, "run_dir": str(run_dir)})
    else:
        click.echo(f"{summary['training_steps']} steps, loss {summary['final_loss']:.3g}, "
                   f"software PSNR {summary['psnr_software']:.2f} dB")
        click.echo(f"wrote {run_dir}")


@field_group.command("deploy")
@_MODEL_DIR
@_options(_DEPLOY)
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@_options(_OUT)
def field_deploy_command(model_dir: Path, hardware: HardwareChoice, sim: SimChoice,
                         run_dir: Path | None, as_json: bool, **deploy: Any) -> None:
    """Write a trained model onto analog layers with HAQ and PTQ: cells, weight error."""
    from cosim.outputs.field import write_deploy
    from cosim.workloads.field.field import deploy_field, prepare

    cfg, hw, sim_, truth, state = _model(model_dir, deploy, hardware=hardware, sim=sim)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field-deploy")
                         ) as run_dir:
        prep = prepare(cfg, hw, sim_, truth)
        deployed = {s: deploy_field(cfg, hw, sim_, prep, state.params, s) for s in ("haq", "ptq")}
        summary = write_deploy(run_dir, cfg, hw, sim_, deployed, state.params)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for s in ("haq", "ptq"):
        click.echo(f"{s.upper()}: {summary[f'cells_{s}']} cells, largest weight RMSE "
                   f"{summary[f'weight_rmse_rel_{s}']:.4f} of full scale")
    click.echo(f"wrote {run_dir}")


@field_group.command("eval")
@_MODEL_DIR
@_options(_VOLUME + _DEPLOY)
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@_options(_OUT)
def field_eval_command(model_dir: Path, volume_path: Path | None, frame: int | None,
                       hardware: HardwareChoice, sim: SimChoice, run_dir: Path | None,
                       as_json: bool, **deploy: Any) -> None:
    """Deploy a trained model (HAQ, PTQ) and evaluate it on its volume or --volume."""
    from cosim.outputs.field import write_field
    from cosim.workloads.field.field import evaluate_field, prepare

    cfg, hw, sim_, truth, state = _model(model_dir, deploy, hardware=hardware, sim=sim)
    volume = _volume(volume_path, frame)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field-eval")
                         ) as run_dir:
        prep = prepare(cfg, hw, sim_, truth if volume is None else volume)
        result = evaluate_field(cfg, hw, sim_, prep, state, progress=_progress(as_json))
        summary = write_field(result, run_dir, "field eval")
    _finish(summary, run_dir, as_json)


# The field's check against ngspice is the one every deployed run has: its recorded layers,
# macro by macro (a run or eval folder: `cosim field verify RUN_DIR`, as `cosim verify`).
field_group.add_command(verify_command)


@field_group.command("sparse")
@_MODEL_DIR
@click.option("--slices", default="20,10,5", show_default=True,
              help="Slices used for fine-tuning, one run each.")
@click.option("--finetune-steps", type=int, default=500, show_default=True,
              help="Adam steps of each fine-tune.")
@click.option("--batch", type=int, default=16384, show_default=True,
              help="Voxels per fine-tuning step; 0 for all of the chosen slices.")
@click.option("--lr", type=float, default=1e-4, show_default=True, help="Fine-tuning rate.")
@click.option("--anchor-weight", type=int, default=4, show_default=True,
              help="Weight of the dense model's own prediction, fitted on the slices not "
                   "chosen beside the target's chosen slices: an integer 0..16 (0: the chosen "
                   "slices alone).")
@click.option("--motion", type=float, default=0.05, show_default=True,
              help="Target without --volume: a phantom model's phantom moved by this "
                   "(a model of another volume: that volume).")
@_options(_VOLUME)
@click.option("--target-frame", type=int, default=None,
              help="With a 4D --volume: the phase fine-tuned on and evaluated; --frame is "
                   "then the phase the --model was trained on (checked).")
@_options(_DEPLOY)
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@_options(_OUT)
def field_sparse_command(model_dir: Path, slices: str, finetune_steps: int, batch: int,
                         lr: float, anchor_weight: int, motion: float, volume_path: Path | None,
                         frame: int | None, target_frame: int | None,
                         hardware: HardwareChoice, sim: SimChoice, run_dir: Path | None,
                         as_json: bool, **deploy: Any) -> None:
    """Sparse task (Fig. 4e): fine-tune the model on a few slices, evaluate all of them.

    The target ("another phase"): without --volume, a phantom model's phantom moved
    by --motion; with --volume FILE [--frame F], that volume; with a 4D --volume,
    --frame F --target-frame T: the model must have been trained on frame F of FILE
    ('cosim field train --volume FILE --frame F') and is fine-tuned on frame T.
    """
    from cosim.outputs.field import write_field, write_sparse
    from cosim.workloads.field.field import prepare
    from cosim.workloads.field.sparse import (
        SparseConfig,
        check_source_frame,
        run_sparse,
        slice_subset,
        sparse_target,
    )

    scfg = SparseConfig(counts=parse_counts(slices), steps=finetune_steps, batch=batch,
                        learning_rate=lr, anchor_weight=anchor_weight)
    cfg, hw, sim_, truth, state = _model(model_dir, deploy, hardware=hardware, sim=sim)
    if target_frame is not None:
        if volume_path is None or frame is None:
            raise ConfigError("--target-frame needs a 4D --volume and --frame (the phase the "
                              "--model was trained on)")
        target = _volume(volume_path, target_frame, option="--target-frame")
        check_source_frame(truth, _volume(volume_path, frame), frame, str(volume_path),
                           str(model_dir))
        what = f"{volume_path} frame {target_frame} (model: frame {frame})"
    else:
        volume = _volume(volume_path, frame)
        if volume is None:
            target, what = sparse_target(truth, motion, cfg.phantom_angles)
        else:
            target, what = volume, str(volume_path)

    for k in scfg.counts:
        slice_subset(target.shape[0], k)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field-sparse")
                         ) as run_dir:
        prep = prepare(cfg, hw, sim_, target)
        result = run_sparse(cfg, hw, sim_, prep, state.params, scfg, progress=_progress(as_json))
        summary = write_sparse(result, run_dir)
        top = max(scfg.counts)
        write_field(result.runs[top], run_dir / f"slices_{top}")
    summary.update(command="field sparse", target=what, run_dir=str(run_dir))
    if as_json:
        emit_json(summary)
        return
    nan = float("nan")
    for row in summary["sparse"]:
        click.echo(f"{row['slices_used']:>3} slices: PSNR software {row['psnr_software']:.2f}"
                   f" / HAQ {row.get('psnr_haq', nan):.2f} / PTQ "
                   f"{row.get('psnr_ptq', nan):.2f} dB; software on the slices used "
                   f"{row['psnr_used_software']:.2f}, on the others "
                   f"{row.get('psnr_unused_software', nan):.2f} dB")
    click.echo(f"wrote {run_dir}")


@field_group.command("encodings")
@click.option("--quick", is_flag=True, help="Small phantom (8x48x48), 300 steps.")
@click.option("--kinds", default="none,basic,positional,gaussian", show_default=True,
              help="Encodings to compare, same network and budget.")
@_options(_VOLUME + _MODEL + _OUT)
def field_encodings_command(quick: bool, kinds: str, volume_path: Path | None,
                            frame: int | None, run_dir: Path | None, as_json: bool,
                            **opts: Any) -> None:
    """Compare the input encodings (Fig. 4b) under the same network and training budget.

    Gaussian and positional each use their own default scale unless --sigma sets one.
    """
    from cosim.outputs.field import write_encodings
    from cosim.workloads.field.encodings import check_kinds, compare_encodings

    names = check_kinds(tuple(k.strip() for k in kinds.split(",")))
    cfg = _model_config(quick=quick, **opts)
    volume = _volume(volume_path, frame)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field-encodings")
                         ) as run_dir:
        # software only: the encoder's B as the paper preset's cells hold it
        result = compare_encodings(cfg, load_hardware(HARDWARE), SimOptions(), volume,
                                   kinds=names, progress=_progress(as_json))
        summary = write_encodings(result, run_dir)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for row in summary["encodings"]:
        scale = f", scale {row['scale']:g}" if row["scale"] is not None else ""
        click.echo(f"{row['encoding']:>10} ({row['features']:>3} features{scale}): PSNR "
                   f"{row['psnr_software']:6.2f} dB   SSIM {row['ssim_software']:.3f}")
    click.echo(f"same network and {cfg.training.steps} steps; {summary['scales']}; "
               f"best: {summary['best_encoding']}")
    click.echo(f"wrote {run_dir}")


@field_group.command("hapo")
@_MODEL_DIR
@click.option("--bits-input", default="10,12,14", show_default=True, help="Input-layer bits.")
@click.option("--bits-hidden", default="10,12,14", show_default=True, help="Hidden bits.")
@click.option("--bits-output", default="8,10,12", show_default=True, help="Output bits.")
@click.option("--amp-ratios", default="1.3,1.5,1.8", show_default=True, help="HAQ s values.")
@click.option("--keep", default="1.0", show_default=True,
              help="Fractions of hidden neurons kept (structured pruning).")
@click.option("--ranks", default="0", show_default=True,
              help="Ranks of the hidden matrices (0: the model's own).")
@click.option("--finetune-steps", type=int, default=200, show_default=True,
              help="Adam steps after pruning or a rank cut.")
@click.option("--penalty", type=float, default=1.0, show_default=True,
              help="Objective's lambda: dB a doubling of RRAM cells must buy.")
@click.option("--eval-voxels", type=int, default=65536, show_default=True,
              help="Voxels evaluated per point (seeded sample); 0 for all.")
@click.option("--weight-scaling", default="matrix", show_default=True,
              help="Full-scale weight of HAQ: matrix or column.")
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@_options(_OUT)
def field_hapo_command(model_dir: Path, bits_input: str, bits_hidden: str, bits_output: str,
                       amp_ratios: str, keep: str, ranks: str, finetune_steps: int,
                       penalty: float, eval_voxels: int, weight_scaling: str,
                       hardware: HardwareChoice, sim: SimChoice, run_dir: Path | None,
                       as_json: bool) -> None:
    """HAPO: grid over bits, s, pruning and rank; PSNR against RRAM cells, optimum marked."""
    from cosim.outputs.field import write_hapo
    from cosim.workloads.field.field import hardware_text, prepare
    from cosim.workloads.field.hapo import HapoConfig, run_hapo

    hcfg = HapoConfig(bits_input=parse_counts(bits_input, "--bits-input"),
                      bits_hidden=parse_counts(bits_hidden, "--bits-hidden"),
                      bits_output=parse_counts(bits_output, "--bits-output"),
                      amp_ratios=parse_floats(amp_ratios, "--amp-ratios"),
                      keep=parse_floats(keep, "--keep"), ranks=parse_counts(ranks, "--ranks"),
                      finetune_steps=finetune_steps, penalty_db=penalty,
                      eval_voxels=eval_voxels)
    cfg, hw, sim_, truth, state = _model(model_dir, hardware=hardware, sim=sim)
    cfg = replace(cfg, weight_scaling=weight_scaling)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field-hapo")
                         ) as run_dir:
        prep = prepare(cfg, hw, sim_, truth)
        result = run_hapo(cfg, hw, sim_, prep, state.params, hcfg, progress=_progress(as_json))
        summary = write_hapo(result, run_dir, hardware_text(hw, sim_))
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    b = summary["hapo_optimum"]
    click.echo(f"{summary['hapo_points']} points; optimum {b['bits_input']}/{b['bits_hidden']}/"
               f"{b['bits_output']} bit, s {b['amp_ratio']:g}, keep {b['keep']:g}, rank "
               f"{b['rank']}: PSNR {b['psnr_haq']:.2f} dB with {b['cells']} cells")
    click.echo(f"wrote {run_dir}")
