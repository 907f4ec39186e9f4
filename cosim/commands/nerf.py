"""``cosim nerf``: novel-view synthesis (NeRF, D-NeRF) trained, deployed with HAQ and PTQ.

``run`` renders the procedural scene (or reads ``--scene DIR``), trains, deploys and
evaluates in one go; ``train`` writes a checkpoint (Ctrl-C keeps the last step,
``--resume`` continues it, for ``run`` too) that ``deploy`` and ``eval`` read with
``--model``. Run folders: :mod:`cosim.outputs.nerf`. Every input (options, scene,
model folder, output folder) is checked before any work.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from circuits.errors import ConfigError
from cosim.commands.export import check_export, export_network, export_option
from cosim.commands.field import parse_bits
from cosim.commands.options import HardwareChoice, SimChoice, hardware_options, sim_options
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir

HARDWARE = "paper"
"""Default hardware preset (a ``--model``'s own hardware where one is given)."""


@click.group("nerf")
def nerf_group() -> None:
    """Novel-view synthesis (NF paper): NeRF and D-NeRF, software vs HAQ vs PTQ."""


def _options(opts: list[Callable]) -> Callable:
    def wrap(f: Callable) -> Callable:
        for o in reversed(opts):
            f = o(f)
        return f
    return wrap


_SCENE = [
    click.option("--dynamic", is_flag=True,
                 help="D-NeRF: the moving procedural scene (or a --scene whose frames carry "
                      "time), deformation and canonical networks."),
    click.option("--scene", "scene_dir", type=click.Path(path_type=Path), default=None,
                 help="A scene in the nerf_synthetic layout (Blender or D-NeRF folder) "
                      "[default: the procedural scene, written to RUN_DIR/scene]."),
    click.option("--downscale", type=int, default=1, show_default=True,
                 help="Shrink --scene images by this factor (e.g. 8: 800 px -> 100 px)."),
    click.option("--size", "size_px", type=int, default=None,
                 help="Procedural scene: image size in pixels [64; quick 24]."),
    click.option("--train-views", type=int, default=None,
                 help="Procedural scene: training views [100; quick 24]."),
]
_MODEL = [
    click.option("--quick", is_flag=True,
                 help="The main job's setting: 24 x 24 scene, small network, 400 steps."),
    click.option("--paper-size", is_flag=True,
                 help="The NF paper's network size: width 256, rank 32, 64 Gaussian "
                      "features, 4096 rays of 64 samples per step (slow on a CPU)."),
    click.option("--width", type=int, default=None, help="Neurons per layer [64]."),
    click.option("--rank", type=int, default=None, help="Rank of the low-rank pairs [16]; 0 "
                                                        "for full matrices."),
    click.option("--prune", is_flag=True,
                 help="Structured pruning during training to the paper's width 26, rank 3 "
                      "(the full network trains, is cut in stages, and the cut network is "
                      "fine-tuned; 5000 steps, quick 1200)."),
    click.option("--prune-width", type=int, default=None,
                 help="Pruning target width (implies pruning) [26 with --prune]."),
    click.option("--prune-rank", type=int, default=None,
                 help="Pruning target rank [3 with --prune]."),
    click.option("--steps", type=int, default=None,
                 help="Training steps [1500; quick 400; with pruning 5000, quick 1200]."),
    click.option("--rays", type=int, default=None, help="Rays per step [256; quick 128]."),
    click.option("--samples", type=int, default=None,
                 help="Samples per ray, training and rendering [32; quick 24]."),
    click.option("--lr", type=float, default=None, help="Adam's initial learning rate [0.01]; "
                                                        "it decays to a tenth."),
    click.option("--seed", type=int, default=0, show_default=True),
]
_DEPLOY = [
    click.option("--bits", default="14,14,12", show_default=True,
                 help="Cells per weight: input,hidden,output matrices."),
    click.option("--amp-ratio", type=float, default=1.5, show_default=True, help="HAQ s (> 1)."),
    click.option("--weight-scaling", default="matrix", show_default=True,
                 help="Full-scale weight: matrix or column."),
    click.option("--test-views", "eval_views", type=int, default=None,
                 help="Test views rendered and scored [8; quick 2]."),
]
_OUT = [
    click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
                 default=None, help="Run folder [default: results/nerf-<timestamp>]."),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
]
_MODEL_DIR = click.option("--model", "model_dir", type=click.Path(path_type=Path),
                          required=True, help="Run folder of 'cosim nerf train' (or 'run').")


def _config(*, dynamic: bool, quick: bool, paper_size: bool, width: int | None,
            rank: int | None, prune: bool, prune_width: int | None, prune_rank: int | None,
            steps: int | None, rays: int | None, samples: int | None, lr: float | None,
            seed: int, size_px: int | None, train_views: int | None,
            eval_views: int | None, bits: str, amp_ratio: float, weight_scaling: str):
    """``(NerfConfig, SceneConfig)`` of the options."""
    from cosim.workloads.nerf.stage import PRUNED, default_config

    if quick and paper_size:
        raise ConfigError("--quick and --paper-size exclude each other")
    pruned = prune or prune_width is not None or prune_rank is not None
    cfg, scene = default_config(dynamic=dynamic, quick=quick, paper_size=paper_size,
                                prune=pruned)
    model, training = cfg.model, cfg.training
    if width is not None or rank is not None:
        w = width if width is not None else model.canonical.width
        r = rank if rank is not None else min(model.canonical.rank, w)
        model = replace(model, canonical=replace(model.canonical, width=w, rank=r),
                        deform=replace(model.deform, width=w, rank=r),
                        view_width=max(1, w // 2))
    if pruned:
        training = replace(training,
                           prune_width=prune_width if prune_width is not None else PRUNED[0],
                           prune_rank=prune_rank if prune_rank is not None else PRUNED[1])
    training = replace(training, seed=seed, **{k: v for k, v in (
        ("steps", steps), ("rays", rays), ("samples", samples), ("learning_rate", lr),
        ("final_learning_rate", None if lr is None else lr / 10)) if v is not None})
    scene = replace(scene, seed=seed, **{k: v for k, v in (
        ("size_px", size_px), ("n_train", train_views),
        ("n_test", eval_views)) if v is not None})
    cfg = replace(cfg, model=model, training=training, seed=seed,
                  eval_views=eval_views if eval_views is not None else cfg.eval_views,
                  bits=parse_bits(bits), amp_ratio=amp_ratio, weight_scaling=weight_scaling)
    return cfg, scene


def _deploy_fields(bits: str, amp_ratio: float, weight_scaling: str,
                   eval_views: int | None) -> dict[str, Any]:
    out = {"bits": parse_bits(bits), "amp_ratio": amp_ratio, "weight_scaling": weight_scaling}
    if eval_views is not None:
        out["eval_views"] = eval_views
    return out


def _check_backend(sim: SimOptions) -> None:
    from cosim.workloads.field.field import workload_sim

    workload_sim(sim)


def _scene_source(scene_dir: Path | None, downscale: int, eval_views: int) -> Callable:
    """A function ``(run_dir, scene_cfg, progress) -> Scene``: the user's scene (checked
    now, before any work) or the procedural one written into the run folder."""
    from cosim.outputs.nerf import SCENE_DIR, procedural_scene
    from cosim.workloads.nerf.data import load_scene

    if scene_dir is not None:
        scene = load_scene(scene_dir, downscale=downscale, max_frames={"test": eval_views})
        return lambda run_dir, cfg, progress: scene
    if downscale != 1:
        raise ConfigError("--downscale applies to --scene; the procedural scene takes --size")
    return lambda run_dir, cfg, progress: procedural_scene(cfg, Path(run_dir) / SCENE_DIR,
                                                          progress)


def _progress(as_json: bool) -> Callable[[str, int, int], None]:
    bars: dict[str, Any] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if as_json:
            return
        from tqdm import tqdm

        bar = bars.get(phase)
        if bar is None:
            unit = "step" if phase == "train" else ("view" if phase == "render scene"
                                                   else "ray")
            bar = bars[phase] = tqdm(total=total, desc=phase, unit=unit, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
    return progress


def _finish(summary: dict[str, Any], run_dir: Path, as_json: bool) -> None:
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for m in ("software", "haq", "ptq"):
        if f"psnr_{m}" in summary:
            click.echo(f"{m:>9}: PSNR {summary[f'psnr_{m}']:6.2f} dB   SSIM "
                       f"{summary[f'ssim_{m}']:.3f}")
    counts = summary.get("parameter_counts", [])
    if counts:
        click.echo("parameters: " + ", ".join(
            f"{r['network']} {r['parameters']:,} (-{100 * r['reduction_vs_dense']:.1f} %)"
            for r in counts))
    click.echo("LPIPS: left out (needs pretrained weights from the internet)")
    click.echo(f"hardware: {summary['hardware_text']}")
    click.echo(f"wrote {run_dir}")


@contextmanager
def _interrupt_note(run_dir: Path, command: str, saved: dict[str, Any]):
    """Ctrl-C: say what the checkpoint keeps and how to go on; exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        step = saved.get("step", "no")
        click.echo(f"interrupted: {run_dir} keeps the checkpoint of step {step}; continue "
                   f"with 'cosim nerf {command} --resume -o {run_dir}'", err=True)
        sys.exit(130)


def _resumed(run_dir: Path | None, hardware: HardwareChoice, sim: SimChoice,
             steps: int | None, command: str):
    """``--resume``: the checkpoint's config, hardware, sim, scene and state."""
    from cosim.outputs.nerf import load_checkpoint
    from cosim.workloads.nerf.data import load_scene

    if run_dir is None:
        raise ConfigError(f"--resume continues a {command} folder; name it with -o")
    cfg, hw0, sim0, scene_dir, downscale, state = load_checkpoint(run_dir, "-o")
    if steps is not None:
        cfg = replace(cfg, training=replace(cfg.training, steps=steps))
    if state.step > cfg.training.steps or (command == "train"
                                           and state.step >= cfg.training.steps):
        raise ConfigError(f"{run_dir} has trained {state.step} of {cfg.training.steps} steps; "
                          f"raise --steps to train on")
    hw, sim_ = hardware.resolve(hw0), sim.resolve(sim0)
    _check_same_encoders(hw0, sim0, hw, sim_, run_dir)
    _check_backend(sim_)
    scene = load_scene(scene_dir, downscale=downscale, max_frames={"test": cfg.eval_views})
    return cfg, hw, sim_, scene, state


def _start(command: str, resume: bool, run_dir: Path | None, hardware: HardwareChoice,
           sim: SimChoice, dynamic: bool, scene_dir: Path | None, downscale: int,
           opts: dict[str, Any]):
    """``(config, hardware, sim, scene config, scene source, state)`` of ``run``/``train``:
    the checkpoint's with ``--resume`` (state to continue), else the options' (no state);
    every input checked before any work."""
    if resume:
        cfg, hw, sim_, scene, state = _resumed(run_dir, hardware, sim, opts["steps"], command)
        return cfg, hw, sim_, None, (lambda r, c, p: scene), state
    cfg, scene_cfg = _config(dynamic=dynamic, **opts)
    hw, sim_ = hardware.resolve(HARDWARE), sim.resolve()
    _check_backend(sim_)
    return cfg, hw, sim_, scene_cfg, _scene_source(scene_dir, downscale, cfg.eval_views), None


def _check_same_encoders(hw0: HardwareSpec, sim0: SimOptions, hw: HardwareSpec,
                         sim: SimOptions, model_dir: Path) -> None:
    """A model learnt the encoders' ``B`` as its hardware reads them: refuse hardware that
    reads them otherwise."""
    from cosim.workloads.field.field import reads_exactly

    same = (reads_exactly(hw0, sim0) and reads_exactly(hw, sim)) or (
        hw.as_dict() == hw0.as_dict() and sim.backend == sim0.backend)
    if not same:
        raise ConfigError(
            f"{model_dir} was trained on {hw0.name} hardware ({sim0.backend} backend), whose "
            f"Gaussian encoders' B it learnt; B is read through the hardware, so {hw.name} "
            f"({sim.backend}) needs a model trained on it ('cosim nerf train --hardware ...')")


# -- commands ----------------------------------------------------------------------------

@nerf_group.command("run")
@_options(_SCENE + _MODEL + _DEPLOY)
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@click.option("--resume", is_flag=True,
              help="Continue the run in -o from its checkpoint (its settings, scene and "
                   "hardware; --steps may raise the total), then deploy and evaluate.")
@export_option
@_options(_OUT)
def nerf_run_command(dynamic: bool, scene_dir: Path | None, downscale: int,
                     hardware: HardwareChoice, sim: SimChoice, resume: bool,
                     export_format: str | None, run_dir: Path | None, as_json: bool,
                     **opts: Any) -> None:
    """Train NeRF (D-NeRF with --dynamic), deploy it with HAQ and PTQ, score the test views."""
    from cosim.outputs.nerf import save_checkpoint, write_nerf_run
    from cosim.workloads.nerf.export import EXPORT_FORMATS
    from cosim.workloads.nerf.nerf import check_scene, evaluate, prepare, train

    check_export(export_format, EXPORT_FORMATS)
    cfg, hw, sim_, scene_cfg, get_scene, state = _start(
        "run", resume, run_dir, hardware, sim, dynamic, scene_dir, downscale, opts)
    progress = _progress(as_json)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("nerf"),
                         resume=resume, resumable=True) as run_dir:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        scene = get_scene(run_dir, scene_cfg, progress)
        check_scene(cfg, scene)
        prep = prepare(cfg, hw, sim_, scene)
        timings["setup"] = time.perf_counter() - t0
        saved: dict[str, Any] = {}

        def keep(st) -> None:
            save_checkpoint(run_dir, cfg, hw, sim_, scene, st)
            saved["step"] = st.step

        t0 = time.perf_counter()
        with _interrupt_note(run_dir, "run", saved):
            state = train(cfg, prep, resume=state, progress=progress, on_interrupt=keep)
        timings["train"] = time.perf_counter() - t0
        save_checkpoint(run_dir, cfg, hw, sim_, scene, state)
        result = evaluate(cfg, hw, sim_, prep, state, progress=progress, timings=timings)
        summary = write_nerf_run(result, run_dir)
        if export_format:
            summary["export"] = _export(run_dir, export_format, cfg, prep, state.params)
    _finish(summary, run_dir, as_json)


def _export(run_dir: Path, fmt: str, cfg, prep, params) -> dict[str, Any] | None:
    """``--export``: the radiance network (:func:`cosim.workloads.nerf.export.nerf_graph`),
    its inputs the samples of a few rays of the first scored test view."""
    from cosim.workloads.nerf.export import nerf_graph, sample_inputs
    from cosim.workloads.nerf.render import ray_segments

    o, d, t, _ = prep.scene.rays("test", prep.views[0])
    g = cfg.geometry
    t0, t1 = ray_segments(o, d, g.bound, g.near, g.far)
    return export_network(run_dir, fmt, nerf_graph(cfg.model, params, prep.encodings),
                          sample_inputs(cfg.model, g, o, d, t, t0, t1, cfg.training.samples))


@nerf_group.command("train")
@_options(_SCENE + _MODEL + _DEPLOY)
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@click.option("--resume", is_flag=True,
              help="Continue the checkpoint in -o (its settings; --steps may raise the total).")
@export_option
@_options(_OUT)
def nerf_train_command(dynamic: bool, scene_dir: Path | None, downscale: int,
                       hardware: HardwareChoice, sim: SimChoice, resume: bool,
                       export_format: str | None, run_dir: Path | None, as_json: bool,
                       **opts: Any) -> None:
    """Train NeRF (D-NeRF with --dynamic) and keep a checkpoint; Ctrl-C keeps the last step."""
    from cosim.outputs.nerf import save_checkpoint, write_training
    from cosim.workloads.field.metrics import psnr
    from cosim.workloads.nerf.export import EXPORT_FORMATS
    from cosim.workloads.nerf.model import SoftwareOps
    from cosim.workloads.nerf.nerf import check_scene, prepare, render_view, train

    check_export(export_format, EXPORT_FORMATS)
    cfg, hw, sim_, scene_cfg, get_scene, state = _start(
        "train", resume, run_dir, hardware, sim, dynamic, scene_dir, downscale, opts)
    progress = _progress(as_json)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("nerf-train"),
                         resume=resume, resumable=True) as run_dir:
        scene = get_scene(run_dir, scene_cfg, progress)
        check_scene(cfg, scene)
        prep = prepare(cfg, hw, sim_, scene)
        saved: dict[str, Any] = {}

        def keep(st) -> None:
            saved["summary"] = write_training(run_dir, cfg, hw, sim_, scene, st,
                                              interrupted=True)
            saved["step"] = st.step

        with _interrupt_note(run_dir, "train", saved):
            state = train(cfg, prep, resume=state, progress=progress, on_interrupt=keep)
        save_checkpoint(run_dir, cfg, hw, sim_, scene, state)
        ops = SoftwareOps(state.params, prep.encodings)
        test = scene.splits["test"]
        scores = [psnr(render_view(ops, cfg, scene, "test", v, cfg.chunk), test.rgb[v])
                  for v in prep.views]
        summary = write_training(run_dir, cfg, hw, sim_, scene, state,
                                 psnr_software=float(sum(scores) / len(scores)))
        if export_format:
            summary["export"] = _export(run_dir, export_format, cfg, prep, state.params)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    click.echo(f"{summary['training_steps']} steps, loss {summary['final_loss']:.3g}, "
               f"software PSNR {summary['psnr_software']:.2f} dB on {len(prep.views)} test "
               f"views, {summary['parameters']:,} parameters")
    click.echo(f"wrote {run_dir}")


def _model(model_dir: Path, deploy: dict[str, Any], hardware: HardwareChoice, sim: SimChoice,
           scene_dir: Path | None = None, downscale: int = 1):
    """The trained model with the deploy options applied, on the hardware options over its
    own hardware, and its scene (or ``scene_dir``)."""
    from cosim.outputs.nerf import load_checkpoint
    from cosim.workloads.nerf.data import load_scene
    from cosim.workloads.nerf.nerf import check_scene

    cfg, hw0, sim0, stored_scene, stored_downscale, state = load_checkpoint(model_dir)
    cfg = replace(cfg, **_deploy_fields(**deploy))
    hw, sim_ = hardware.resolve(hw0), sim.resolve(sim0)
    _check_same_encoders(hw0, sim0, hw, sim_, model_dir)
    _check_backend(sim_)
    if scene_dir is None and downscale != 1:
        raise ConfigError("--downscale applies to --scene (the model's scene is read as it "
                          "was trained)")
    scene = load_scene(scene_dir if scene_dir is not None else stored_scene,
                       downscale=downscale if scene_dir is not None else stored_downscale,
                       max_frames={"test": cfg.eval_views})
    check_scene(cfg, scene)
    return cfg, hw, sim_, scene, state


@nerf_group.command("deploy")
@_MODEL_DIR
@_options(_DEPLOY)
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@_options(_OUT)
def nerf_deploy_command(model_dir: Path, hardware: HardwareChoice, sim: SimChoice,
                        run_dir: Path | None, as_json: bool, **deploy: Any) -> None:
    """Write a trained model onto analog layers with HAQ and PTQ: cells, weight error."""
    from cosim.outputs.nerf import write_deploy
    from cosim.workloads.nerf.nerf import deploy_nerf, prepare

    cfg, hw, sim_, scene, state = _model(model_dir, deploy, hardware, sim)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("nerf-deploy")
                         ) as run_dir:
        prep = prepare(cfg, hw, sim_, scene)
        deployed = {s: deploy_nerf(cfg, hw, sim_, prep, state.params, s) for s in ("haq", "ptq")}
        summary = write_deploy(run_dir, cfg, hw, sim_, deployed, state.params)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for s in ("haq", "ptq"):
        click.echo(f"{s.upper()}: {summary[f'cells_{s}']:,} cells in {summary[f'macros_{s}']} "
                   f"macros, largest weight RMSE {summary[f'weight_rmse_rel_{s}']:.4f} of "
                   f"full scale")
    click.echo(f"wrote {run_dir}")


@nerf_group.command("eval")
@_MODEL_DIR
@click.option("--scene", "scene_dir", type=click.Path(path_type=Path), default=None,
              help="Score on this scene's test views [default: the model's scene].")
@click.option("--downscale", type=int, default=1, show_default=True,
              help="Shrink --scene images by this factor.")
@_options(_DEPLOY)
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@_options(_OUT)
def nerf_eval_command(model_dir: Path, scene_dir: Path | None, downscale: int,
                      hardware: HardwareChoice, sim: SimChoice, run_dir: Path | None,
                      as_json: bool, **deploy: Any) -> None:
    """Deploy a trained model (HAQ, PTQ) and score the test views in software and on hardware."""
    from cosim.outputs.nerf import write_nerf
    from cosim.workloads.nerf.nerf import evaluate, prepare

    cfg, hw, sim_, scene, state = _model(model_dir, deploy, hardware, sim, scene_dir, downscale)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("nerf-eval")
                         ) as run_dir:
        prep = prepare(cfg, hw, sim_, scene)
        result = evaluate(cfg, hw, sim_, prep, state, progress=_progress(as_json))
        summary = write_nerf(result, run_dir, "nerf eval")
    _finish(summary, run_dir, as_json)
