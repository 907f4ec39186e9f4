"""Run folders of novel-view synthesis (NeRF, D-NeRF): scenes, tables, figures, checkpoints.

The workload (:mod:`cosim.workloads.nerf`) computes; this module writes::

    RUN_DIR/scene/                  the procedural scene in the nerf_synthetic layout
                                    (transforms_{train,val,test}.json, RGBA PNGs)
    RUN_DIR/metrics.csv             PSNR and SSIM (mean over the test views) per method
    RUN_DIR/metrics_views.csv       per view (and time, D-NeRF) and method
    RUN_DIR/parameters.csv          parameters: dense, low-rank, pruned (Fig. 5d)
    RUN_DIR/training.csv            training loss
    RUN_DIR/views.png/.svg          ground truth / software / HAQ / PTQ and |error| maps for
                                    the test cameras (D-NeRF: in time order, time in the label)
    RUN_DIR/conductance.png/.svg    conductance histograms: the encoder's pairs and the
                                    output layers, HAQ (Fig. 5c)
    RUN_DIR/parameters.png/.svg     parameter counts (Fig. 5d)
    RUN_DIR/workload.json           the HAQ pass's counted events (for ``cosim report``)
    RUN_DIR/manifest.json           the summary (metrics, conventions, hardware, config)
    RUN_DIR/checkpoint.npz          config, hardware, parameters, Adam state (train, run)

and ``deploy.csv`` (cells, bits and weight error per matrix and scheme) for
``cosim nerf deploy``. Every figure names the hardware and the backend. ``cosim
nerf run`` and the main job's ``nerf`` stage write with the same writer,
:func:`write_nerf_run`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from circuits.errors import ConfigError
from cosim.accounting.workload import write_workload_json
from cosim.engine.options import SimOptions
from cosim.hardware.presets import hardware_from_mapping
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure, wrap_title
from cosim.workloads.nerf.data import Scene, load_scene
from cosim.workloads.nerf.nerf import (
    LPIPS_NOTE,
    NerfConfig,
    NerfResult,
    config_from_dict,
    hardware_text,
)

SCENE_DIR = "scene"
"""Sub-folder of a run that holds its procedural scene."""
CHECKPOINT = "checkpoint.npz"


# -- scenes ------------------------------------------------------------------------------

def write_scene(views: dict[str, list[Any]], folder: Path, camera_angle_x: float) -> Path:
    """Write rendered views (:class:`cosim.workloads.nerf.scene.View`) in the
    nerf_synthetic layout: ``transforms_<split>.json`` and ``<split>/r_<i>.png`` (RGBA,
    8 bits); ``time`` on every frame of a dynamic scene."""
    from PIL import Image

    from circuits.files import atomic_write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, items in views.items():
        if not items:
            continue
        (folder / split).mkdir(exist_ok=True)
        frames = []
        for i, v in enumerate(items):
            Image.fromarray(np.asarray(v.rgba, dtype=np.uint8), mode="RGBA").save(
                folder / split / f"r_{i}.png")
            frame: dict[str, Any] = {"file_path": f"./{split}/r_{i}",
                                     "transform_matrix": np.asarray(v.c2w).tolist()}
            if v.time is not None:
                frame["time"] = float(v.time)
            frames.append(frame)
        atomic_write(folder / f"transforms_{split}.json",
                     json.dumps({"camera_angle_x": float(camera_angle_x), "frames": frames},
                                indent=2) + "\n")
    return folder


def procedural_scene(cfg, folder: Path, progress=None) -> Scene:
    """Render the procedural scene ``cfg`` (:class:`cosim.workloads.nerf.scene.SceneConfig`),
    write it into ``folder`` and read it back with the loader users point at real scenes."""
    from cosim.workloads.nerf.scene import BLENDER, render_views

    write_scene(render_views(cfg, progress=progress), folder, BLENDER["camera_angle_x"])
    return load_scene(folder)


# -- a trained and evaluated run -----------------------------------------------------------

def write_nerf(result: NerfResult, run_dir: Path, command: str = "nerf run") -> dict[str, Any]:
    """Write the tables, figures and workload of one evaluation into ``run_dir``.

    Returns:
        The summary written to ``manifest.json`` (with the file names).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tables = result.tables()
    for stem, table in tables.items():
        table.to_csv(run_dir / f"{stem}.csv", index=False, float_format="%.6g")
    figures = (_views(result, run_dir / "views") + _histograms(result, run_dir / "conductance")
               + _parameters(result, run_dir / "parameters"))
    if "haq" in result.renders:
        write_workload_json(run_dir, result.workload())
    summary = {**result.summary(),
               "tables": sorted(f"{s}.csv" for s in tables) + (["workload.json"]
                                                               if "haq" in result.renders
                                                               else []),
               "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest(command, simulator=False, **summary))
    return {"command": command, **summary}


def write_nerf_run(result: NerfResult, run_dir: Path, command: str = "nerf run"
                   ) -> dict[str, Any]:
    """The one writer of a trained and evaluated run (``cosim nerf run`` and the main job's
    stage): :func:`write_nerf` plus the checkpoint, so the folder is a ``--model``."""
    summary = write_nerf(result, run_dir, command)
    save_checkpoint(run_dir, result.config, result.hardware, result.sim, result.prep.scene,
                    result.training)
    return summary


def _error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b).mean(axis=-1)


def _views(result: NerfResult, stem: Path, rows: int = 4) -> list[Path]:
    test = result.prep.scene.splits["test"]
    views = result.prep.views
    picks = list(range(len(views)))
    if test.times is not None:
        picks.sort(key=lambda k: test.times[views[k]])
    if len(picks) > rows:
        picks = [picks[int(round(i))] for i in np.linspace(0, len(picks) - 1, rows)]
    methods = [m for m in ("software", "haq", "ptq") if m in result.renders]
    cols = 1 + 2 * len(methods)
    fig = Figure(figsize=(1.6 * cols, 1.75 * len(picks) + 0.4), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(picks), cols))
    for r, k in enumerate(picks):
        truth = result.truth[k]
        panels = [("ground truth", truth, None)]
        for m in methods:
            img = result.renders[m].images[k]
            panels.append((f"{m.upper() if m != 'software' else m} "
                           f"{result.renders[m].psnr_views[k]:.1f} dB", np.clip(img, 0, 1), None))
            panels.append((f"|{m} - truth|", _error(img, truth), "magma"))
        for c, (title, img, cmap) in enumerate(panels):
            ax = axes[r, c]
            if cmap is None:
                ax.imshow(img)
            else:
                ax.imshow(img, cmap=cmap, vmin=0.0, vmax=0.25)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=6)
        label = f"view {views[k]}"
        if test.times is not None:
            label += f", t = {test.times[views[k]]:.2f}"
        axes[r, 0].set_ylabel(label, fontsize=7)
    rec = result.renders
    head = " / ".join(f"{m} {rec[m].psnr:.2f}" for m in methods)
    hw = wrap_title(hardware_text(result.hardware, result.sim))
    fig.suptitle(f"{'D-NeRF' if result.dynamic else 'NeRF'}, PSNR {head} dB (error maps: "
                 f"mean |RGB error|, 0-0.25)\n{hw}", fontsize=6)
    return save_figure(fig, stem)


def _histograms(result: NerfResult, stem: Path) -> list[Path]:
    haq = result.renders.get("haq")
    if haq is None or haq.deployed is None:
        return []
    dep = haq.deployed
    outs = [n for n in dep.analog if n.rsplit("/", 1)[-1] in ("W_s", "W_c", "W_x")]
    fig = Figure(figsize=(3.0 * (1 + len(outs)), 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, 1 + len(outs)))
    enc = result.prep.encoders["position"].layer
    if enc is not None:
        pw = enc.programmed
        axes[0].hist(((pw.g_actual_siemens - pw.g_actual_neg_siemens) * 1e6).ravel(), bins=30)
        axes[0].set_title("position encoder: G+ - G- (uS)", fontsize=7)
    else:
        axes[0].set_title(f"{result.config.model.position.kind} encoding: no RRAM cells",
                          fontsize=7)
    for ax, name in zip(axes[1:], outs, strict=True):
        pw = dep.analog[name].programmed
        ax.hist(pw.g_actual_siemens.ravel() * 1e6, bins=60)
        ax.set_title(f"{name}, HAQ {pw.n_bits} bit: cell G (uS)", fontsize=7)
    for ax in axes:
        ax.set_ylabel("cells", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(wrap_title(hardware_text(result.hardware, result.sim), 40 * (1 + len(outs))),
                 fontsize=6)
    return save_figure(fig, stem)


def _parameters(result: NerfResult, stem: Path) -> list[Path]:
    rows = result.parameter_counts()
    fig = Figure(figsize=(4.2, 2.8), layout="constrained")
    ax = fig.subplots()
    labels = [r["network"].split(" (")[0].split(",")[0] for r in rows]
    vals = [r["parameters"] for r in rows]
    ax.bar(labels, vals, color=["tab:grey", "tab:blue", "tab:green"][:len(rows)])
    for i, r in enumerate(rows):
        ax.text(i, vals[i], f"{vals[i]:,}\n(-{100 * r['reduction_vs_dense']:.1f} %)"
                if i else f"{vals[i]:,}", ha="center", va="bottom", fontsize=6)
    ax.set_ylabel("parameters")
    ax.tick_params(labelsize=7)
    ax.set_title("parameters before and after low rank and pruning (NF paper Fig. 5d: "
                 "-42.41 %, -90.38 %)", fontsize=6)
    return save_figure(fig, stem)


# -- checkpoints ---------------------------------------------------------------------------

def save_checkpoint(run_dir: Path, cfg: NerfConfig, hardware: HardwareSpec, sim: SimOptions,
                    scene: Scene, state) -> Path:
    """Write ``RUN_DIR/checkpoint.npz`` atomically: config, hardware and sim (JSON), the
    scene's folder (relative to the run folder when inside it) and the factor its images
    were shrunk by, parameters, Adam state."""
    from circuits.files import atomic_writer
    from cosim.outputs.jsonout import json_text
    from cosim.workloads.nerf.train import opt_leaves

    run_dir = Path(run_dir)
    src = Path(scene.source)
    try:
        src = src.resolve().relative_to(run_dir.resolve())
    except ValueError:
        src = src.resolve()
    arrays = {f"param/{k}": np.asarray(v) for k, v in state.params.items()}
    if state.opt_state is not None:
        arrays.update({f"opt/{i:04d}": leaf for i, leaf in enumerate(opt_leaves(state))})
    path = run_dir / CHECKPOINT
    with atomic_writer(path) as handle:
        np.savez(handle, config=np.array(json_text(asdict(cfg))),
                 hardware=np.array(json_text(hardware.as_dict())),
                 sim=np.array(json_text(asdict(sim))), scene=np.array(str(src)),
                 downscale=np.array(scene.downscale),
                 step=np.array(state.step), losses=np.asarray(state.losses, float), **arrays)
    return path


def load_checkpoint(model_dir: Path | str, what: str = "--model"):
    """``(config, hardware, sim, scene folder, its downscale, train state)`` of a ``cosim nerf
    train`` (or ``run``) folder.

    Raises:
        ConfigError: no such folder, no checkpoint in it, or one that cannot be read.
    """
    import zipfile

    from circuits.files import checked_npz
    from cosim.workloads.field.mlp import TrainState
    from cosim.workloads.nerf.train import restore

    d = Path(model_dir)
    if not d.is_dir():
        raise ConfigError(f"{what} {str(d)!r}: no such folder (a 'cosim nerf train' run)")
    path = d / CHECKPOINT
    if not path.exists():
        raise ConfigError(f"{what} {str(d)!r} holds no {CHECKPOINT}; train one with "
                          f"'cosim nerf train -o {d}'")
    try:
        with checked_npz(path, CHECKPOINT) as z:
            cfg = config_from_dict(json.loads(str(z["config"])))
            hardware = hardware_from_mapping(json.loads(str(z["hardware"])), where="checkpoint")
            sim = SimOptions(**json.loads(str(z["sim"])))
            scene = Path(str(z["scene"]))
            downscale = int(z["downscale"])
            params = {k[6:]: z[k] for k in z.files if k.startswith("param/")}
            leaves = [z[k] for k in sorted(k for k in z.files if k.startswith("opt/"))]
            step, losses = int(z["step"]), z["losses"]
    except ConfigError as exc:
        raise ConfigError(f"{what} {str(d)!r}: {exc}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{what} {str(d)!r}: {CHECKPOINT} cannot be read: {reason}") from None
    if not params:
        raise ConfigError(f"{what} {str(d)!r}: {CHECKPOINT} holds no parameters")
    state = (restore(params, leaves, step, losses) if leaves else
             TrainState(params=params, opt_state=None, step=step, losses=losses))
    return cfg, hardware, sim, (scene if scene.is_absolute() else d / scene), downscale, state


def write_training(run_dir: Path, cfg: NerfConfig, hardware: HardwareSpec, sim: SimOptions,
                   scene: Scene, state, *, interrupted: bool = False,
                   psnr_software: float | None = None) -> dict[str, Any]:
    """``cosim nerf train``: checkpoint, loss table, manifest; returns the summary."""
    from cosim.workloads.nerf.model import n_params, structure

    run_dir = Path(run_dir)
    save_checkpoint(run_dir, cfg, hardware, sim, scene, state)
    losses = state.losses
    pd.DataFrame({"step": np.linspace(0, state.step, len(losses) + 1)[1:].round(),
                  "loss": losses}).to_csv(run_dir / "training.csv", index=False,
                                          float_format="%.6g")
    summary = {"task": "D-NeRF" if cfg.model.dynamic else "NeRF",
               "scene": scene.source, "parameters": n_params(state.params),
               **{f"trained_{k}": v for k, v in structure(state.params).items()},
               "training_steps": state.step, "target_steps": cfg.training.steps,
               "interrupted": interrupted,
               "final_loss": float(losses[-1]) if losses.size else None,
               "psnr_software": psnr_software, "lpips_note": LPIPS_NOTE,
               "config": asdict(cfg), "hardware_text": hardware_text(hardware, sim),
               "hardware": hardware.as_dict(), "sim": asdict(sim),
               "tables": ["training.csv"], "checkpoint": CHECKPOINT}
    write_manifest(run_dir, new_manifest("nerf train", simulator=False, **summary))
    return {"command": "nerf train", **summary}


def write_deploy(run_dir: Path, cfg: NerfConfig, hardware: HardwareSpec, sim: SimOptions,
                 deployed: dict, params) -> dict[str, Any]:
    """``cosim nerf deploy``: per-matrix table (cells, weight error), histograms, manifest."""
    run_dir = Path(run_dir)
    rows = []
    for scheme, dep in deployed.items():
        for name, layer in dep.analog.items():
            w = np.asarray(params[name], dtype=float)
            err = layer.weights() - w
            pw = layer.programmed
            lay = dep.placements.get(name)
            rows.append({"scheme": scheme, "matrix": name, "hardware": hardware.name,
                         "rows": w.shape[0], "cols": w.shape[1], "bits": pw.n_bits,
                         "macros": lay.macros if lay is not None else None,
                         "cells": int(pw.g_actual_siemens.size),
                         "weight_rmse_rel": float(np.sqrt(np.mean(err ** 2))
                                                  / max(np.abs(w).max(), 1e-30))})
    table = pd.DataFrame(rows)
    table.to_csv(run_dir / "deploy.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(3.4 * len(deployed), 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(deployed)))
    for ax, (scheme, dep) in zip(axes, deployed.items(), strict=True):
        pw = dep.analog["canonical/W_c"].programmed
        ax.hist(pw.g_actual_siemens.ravel() * 1e6, bins=60)
        ax.set_title(f"colour head, {scheme.upper()} {pw.n_bits} bit: cell G (uS)", fontsize=7)
        ax.set_ylabel("cells", fontsize=7)
    text = hardware_text(hardware, sim)
    fig.suptitle(wrap_title(text, 50 * len(deployed)), fontsize=6)
    figures = save_figure(fig, run_dir / "conductance")
    summary: dict[str, Any] = {"hardware_text": text,
                               "hardware_name": hardware.name, "hardware": hardware.as_dict(),
                               "sim": asdict(sim), "bits": list(cfg.bits),
                               "amp_ratio": cfg.amp_ratio}
    for scheme in deployed:
        sub = table[table.scheme == scheme]
        summary[f"cells_{scheme}"] = int(sub.cells.sum())
        summary[f"macros_{scheme}"] = int(deployed[scheme].macros)
        summary[f"weight_rmse_rel_{scheme}"] = float(sub.weight_rmse_rel.max())
    summary.update(tables=["deploy.csv"], figures=sorted(p.name for p in figures))
    write_manifest(run_dir, new_manifest("nerf deploy", simulator=False, **summary))
    return {"command": "nerf deploy", **summary}
