"""Run-folder outputs of the inpainting workload: tables, figures, workload.json, manifest.

The workload (:mod:`cosim.workloads.inpaint.experiment`) computes; this module writes.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from circuits.errors import ConfigError
from circuits.files import atomic_writer, checked_npz
from cosim.accounting.workload import workload_to_json, write_workload_json
from cosim.engine.options import SimOptions
from cosim.hardware.presets import hardware_from_mapping
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.jsonout import json_text
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure
from cosim.workloads.inpaint.classifier import Classifier
from cosim.workloads.inpaint.experiment import (
    ROWS,
    InpaintResult,
    InpaintRunConfig,
    Trained,
)
from cosim.workloads.inpaint.network import TrainedVAE, VAEConfig
from cosim.workloads.spiking.pairs import energy_table
from cosim.workloads.spiking.popup import random_pair_weights

CHECKPOINT = "checkpoint.npz"
"""The trained VAEs (pop-up and weight-trained), the score's classifier, config, history."""
GRID_IMAGES = 8
"""Digits shown in the grid figure."""


def early_stop_pick(thresholds: list[dict], tolerance: float = 0.02) -> dict:
    """The threshold row with the fewest average timesteps whose masked MSE is within
    ``tolerance`` (relative) of the row without early stop (threshold 0, else the one with
    the most steps)."""
    ref = max(thresholds, key=lambda r: (r["threshold"] == 0, r["avg_timesteps"]))
    ok = [r for r in thresholds if r["mse_masked"] <= (1 + tolerance) * ref["mse_masked"]]
    return min(ok, key=lambda r: (r["avg_timesteps"], -r["threshold"]))


def summary(result: InpaintResult) -> dict[str, Any]:
    """The flat JSON object of a run (``--json`` and ``manifest.json``)."""
    cfg = result.config
    sw, hw = result.row(ROWS[1]), result.row(ROWS[2])
    base = next((r for r in result.rows if r["row"] == ROWS[0]), None)
    early = early_stop_pick(result.thresholds)
    return {
        "network": cfg.net.label, "T": cfg.net.n_frames,
        "mse_masked_software": sw["mse_masked"], "mse_masked_hardware": hw["mse_masked"],
        "mse_masked_weight_trained": None if base is None else base["mse_masked"],
        "mse_masked_random_unpruned": result.row(ROWS[3])["mse_masked"],
        "score_software": sw.get("score"), "score_hardware": hw.get("score"),
        "score_weight_trained": None if base is None else base.get("score"),
        "classifier_accuracy_originals": result.original_accuracy,
        "avg_timesteps": float(cfg.net.n_frames), "early_stop": early,
        "rows": result.rows, "thresholds": result.thresholds,
        "macros": result.workload().hardware.arrays,
        "score_note": "classifier score: the Inception Score's formula with a small MNIST "
                      "classifier trained in the project (Inception-v3 needs ImageNet weights "
                      "from the internet); not comparable with Inception Score values",
        "train_history": result.trained.net.history,
        "baseline_history": (result.trained.baseline.history if result.trained.baseline
                             else None),
        "timings_s": dict(result.timings_s), "config": asdict(cfg),
        "hardware_text": result.hardware.describe(), "hardware": result.hardware.as_dict(),
        "sim": asdict(result.sim),
    }


def grid_figure(images: dict[str, np.ndarray], path: Path, n: int = GRID_IMAGES) -> None:
    """Rows of masked input / weight-trained / software / hardware / ground truth digits."""
    order = [k for k in ("masked", "weight-trained", "software", "hardware", "truth")
             if k in images]
    n = min(n, images["truth"].shape[0])
    fig = Figure(figsize=(1.0 * n, 1.05 * len(order)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(order), n, squeeze=False))
    for r, key in enumerate(order):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(images[key][c], cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(key, fontsize=7)
    save_figure(fig, path)


def write_run(result: InpaintResult, run_dir: Path, command: str = "inpaint run"
              ) -> dict[str, Any]:
    """Write one run into ``run_dir``.

    Files: ``rows.csv`` (the four rows' metrics), ``thresholds.csv`` (early stop
    on the hardware), ``history.csv``, ``inpainting_grid`` (masked / software /
    hardware / ground truth digits) and ``mse_vs_timesteps`` (PNG + SVG),
    ``workload.json`` (one image without early stop) and
    ``workload_early_stop.json`` (at the early-stop pick of the summary) for ``cosim
    report``, ``energy_per_inference.csv``, ``manifest.json`` (the summary).

    Returns:
        The summary.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(result.rows).to_csv(run_dir / "rows.csv", index=False, float_format="%.6g")
    table = pd.DataFrame(result.thresholds)
    table.to_csv(run_dir / "thresholds.csv", index=False, float_format="%.6g")
    pd.DataFrame(result.trained.net.history).to_csv(run_dir / "history.csv", index=False,
                                                    float_format="%.6g")
    grid_figure(result.images, run_dir / "inpainting_grid")

    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    axes = fig.subplots(1, 2)
    axes[0].plot(table["avg_timesteps"], table["mse_masked"], "o-", label="hardware")
    axes[0].plot(table["software_avg_timesteps"], table["software_mse_masked"], "s--",
                 label="software")
    for _, r in table.iterrows():
        axes[0].annotate(f"{r['threshold']:g}", (r["avg_timesteps"], r["mse_masked"]),
                         fontsize=6)
    axes[0].set_xlabel("average timesteps", fontsize=8)
    axes[0].set_ylabel("masked-region MSE", fontsize=8)
    axes[0].legend(fontsize=7)
    if "score" in table:
        axes[1].plot(table["threshold"], table["score"], "o-")
        axes[1].set_ylabel("classifier score (hardware)", fontsize=8)
    axes[1].set_xlabel("early-stop threshold (change per pixel)", fontsize=8)
    for ax in axes:
        ax.grid(True, alpha=0.3)
    save_figure(fig, run_dir / "mse_vs_timesteps")

    out = summary(result)
    pick = out["early_stop"]
    full, early = result.workload(), result.workload(pick["avg_timesteps"])
    write_workload_json(run_dir, full)
    (run_dir / "workload_early_stop.json").write_text(json_text(workload_to_json(early)) + "\n")
    energy = energy_table(full, early, pick["threshold"])
    energy.to_csv(run_dir / "energy_per_inference.csv", index=False, float_format="%.6g")
    tot = energy[energy["component"] == "total"]["energy_per_inference_j"].tolist()
    out["energy_per_inference_j"] = {"no_early_stop": tot[0], "early_stop": tot[1],
                                     "early_stop_threshold": pick["threshold"],
                                     "energy_table": "cited",
                                     "paper_ratio_vs_rtx4090": 62.5}
    out["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    write_manifest(run_dir, new_manifest(command, simulator=False, **out))
    return out


def write_noise_sweep(points: list[dict], cfg: InpaintRunConfig, hardware: HardwareSpec,
                      sim: SimOptions, run_dir: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """``read_noise.csv`` and ``mse_vs_read_noise`` (PRIME Fig. 5e: one line per
    threshold), ``manifest.json``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(points)
    table.to_csv(run_dir / "read_noise.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    axes = fig.subplots(1, 2)
    for th, g in table.groupby("threshold"):
        axes[0].plot(g["read_noise"], g["mse_masked"], "o-", label=f"threshold {th:g}")
        if "score" in g:
            axes[1].plot(g["read_noise"], g["score"], "o-", label=f"threshold {th:g}")
    axes[0].set_ylabel("masked-region MSE", fontsize=8)
    axes[1].set_ylabel("classifier score", fontsize=8)
    for ax in axes:
        ax.set_xlabel("read-noise scale (PRIME eq. 7)", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=6)
    fig.suptitle(f"{hardware.name} hardware, {sim.backend} backend, T = {cfg.net.n_frames}",
                 fontsize=8)
    save_figure(fig, run_dir / "mse_vs_read_noise")
    out = {"points": points, **extra, "config": asdict(cfg),
           "hardware_text": hardware.describe(), "hardware": hardware.as_dict(),
           "sim": asdict(sim)}
    out["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    write_manifest(run_dir, new_manifest("inpaint sweep-noise", simulator=False, **out))
    return out


def save_checkpoint(run_dir: Path, trained: Trained, cfg: InpaintRunConfig, data: str,
                    clf: Classifier | None, *, hardware: HardwareSpec | None = None,
                    sim: SimOptions | None = None) -> Path:
    """Write ``RUN_DIR/checkpoint.npz`` atomically: both VAEs' parameters (the fixed random
    weights are the forming draw of the seed, drawn again on load) and optimiser states,
    the classifier, the config, the data source and (for a run) the hardware and sim."""
    arrays: dict[str, np.ndarray] = {}
    params: dict[str, dict[str, int]] = {}
    hist: dict[str, list] = {}
    opt: dict[str, int] = {}
    for tag, net in (("net", trained.net), ("base", trained.baseline)):
        if net is None:
            continue
        params[tag] = {k: len(v) for k, v in net.params.items()}
        hist[tag] = net.history
        for k, v in net.params.items():
            for i, a in enumerate(v):
                arrays[f"{tag}_{k}_{i}"] = np.asarray(a)
        if net.opt_state is not None:
            opt[tag] = len(net.opt_state)
            for i, a in enumerate(net.opt_state):
                arrays[f"{tag}_opt_{i}"] = np.asarray(a)
    if clf is not None:
        for i, a in enumerate(clf.params):
            arrays[f"clf_{i}"] = a
    meta = {"config": asdict(cfg), "history": hist, "params": params, "opt_state": opt,
            "data": data, "classifier": clf is not None,
            "hardware": None if hardware is None else hardware.as_dict(),
            "sim": None if sim is None else asdict(sim)}
    path = Path(run_dir) / CHECKPOINT
    with atomic_writer(path) as handle:
        np.savez(handle, meta=np.array(json_text(meta)), **arrays)
    return path


def load_checkpoint(path: Path) -> tuple[Trained, InpaintRunConfig, str, Classifier | None,
                                         tuple[HardwareSpec | None, SimOptions | None]]:
    """What :func:`save_checkpoint` wrote: ``(trained, config, data source, classifier,
    (hardware, sim))``.

    Args:
        path: a train or run folder, or the checkpoint file itself.

    Raises:
        ConfigError: (one line) no checkpoint there, or one that cannot be read.
    """
    path = Path(path)
    file = path / CHECKPOINT if path.is_dir() else path
    if not file.exists():
        raise ConfigError(f"no {CHECKPOINT} in {path} (train one with: cosim inpaint train "
                          f"-o {path})")
    try:
        with checked_npz(file, f"checkpoint {file}") as z:
            meta = json.loads(str(z["meta"]))
            p = {tag: {k: [np.asarray(z[f"{tag}_{k}_{i}"]) for i in range(n)]
                       for k, n in d.items()} for tag, d in meta["params"].items()}
            opt = {tag: [np.asarray(z[f"{tag}_opt_{i}"]) for i in range(n)]
                   for tag, n in meta.get("opt_state", {}).items()}
            clf = (Classifier(params=tuple(np.asarray(z[f"clf_{i}"]) for i in range(4)))
                   if meta["classifier"] else None)
        c = meta["config"]
        cfg = InpaintRunConfig(**{**c, "net": VAEConfig(**c["net"]),
                                  "thresholds": tuple(c["thresholds"])})
        hw = meta.get("hardware")
        stored = (None if hw is None else hardware_from_mapping(hw, where=str(file)),
                  None if meta.get("sim") is None else SimOptions(**meta["sim"]))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{file}: not a readable inpainting checkpoint ({exc})") from None
    nets = {}
    for tag, ncfg in (("net", cfg.net), ("base", cfg.baseline)):
        if tag in p:
            nets[tag] = TrainedVAE(config=ncfg, fixed=random_pair_weights(ncfg), params=p[tag],
                                   history=list(meta["history"][tag]), opt_state=opt.get(tag))
    if "net" not in nets:
        raise ConfigError(f"{file}: the checkpoint holds no pop-up VAE")
    return (Trained(net=nets["net"], baseline=nets.get("base")), cfg, str(meta["data"]), clf,
            stored)
