"""Run-folder outputs of the neural field: metric tables, slice grid, histograms, workload.json.

The workload (:mod:`cosim.workloads.nf.field`) computes; this module writes::

    RUN_DIR/metrics.csv          PSNR and SSIM over the volume, one row per method
    RUN_DIR/metrics_slices.csv   PSNR and SSIM per slice and method
    RUN_DIR/training.csv         training loss every 50 steps
    RUN_DIR/slices.png/.svg      ground truth / software / HAQ / PTQ and |error| maps
    RUN_DIR/conductance.png/.svg conductance histograms: GE pairs and the output layer (Fig. 4c,d)
    RUN_DIR/workload.json        the HAQ pass's counted events (for ``cosim report``)
    RUN_DIR/manifest.json        the summary (metrics, conventions, read path, config)

Every figure's title names the read path (backend, wires, read noise).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cosim.accounting.workload import mlp_workload, write_workload_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure
from cosim.workloads.nf.field import NeuralFieldResult
from cosim.workloads.nf.mlp import matrices

METHODS = ("software", "software_hw_features", "haq", "ptq")


def write_neural_field(result: NeuralFieldResult, run_dir: Path) -> dict[str, Any]:
    """Write the tables, figures and workload of one neural-field run into ``run_dir``.

    Returns:
        The summary written to ``manifest.json`` (with the file names).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    rec = result.recon
    pd.DataFrame([{"method": m, "psnr_db": rec[m].psnr, "ssim": rec[m].ssim} for m in METHODS]
                 ).to_csv(run_dir / "metrics.csv", index=False, float_format="%.6g")
    rows = [{"method": m, "slice": i, "psnr_db": rec[m].psnr_slices[i],
             "ssim": rec[m].ssim_slices[i]}
            for m in METHODS for i in range(result.truth.shape[0])]
    pd.DataFrame(rows).to_csv(run_dir / "metrics_slices.csv", index=False, float_format="%.6g")
    losses = result.training.losses
    pd.DataFrame({"step": np.linspace(0, result.training.step, len(losses) + 1)[1:].round(),
                  "loss": losses}).to_csv(run_dir / "training.csv", index=False,
                                          float_format="%.6g")
    figures = _slices(result, run_dir / "slices") + _histograms(result, run_dir / "conductance")
    write_workload_json(run_dir, neural_field_workload(result))
    summary = {**result.summary(),
               "tables": ["metrics.csv", "metrics_slices.csv", "training.csv", "workload.json"],
               "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest("field run", simulator=False, **summary))
    return {"command": "field run", **summary}


def neural_field_workload(result: NeuralFieldResult):
    """The HAQ pass as a workload: the events its layers counted, hardware by the mlp rule.

    One inference is one voxel; a frame (one volume) is ``slices x height x width``
    inferences. Hardware (arrays, periphery) is sized by
    :func:`cosim.accounting.workload.mlp_workload` for the same matrices at the
    largest bit width; the counted events replace its analytic ones.
    """
    cfg = result.config
    names = matrices(result.params)
    widths = [result.params[names[0]].shape[0]] + [result.params[n].shape[1] for n in names]
    haq = result.recon["haq"]
    voxels = int(result.truth.size)
    sizing = {"name": f"neural field {'-'.join(map(str, widths))}, HAQ "
                      f"{'/'.join(map(str, cfg.bits))} bit, {voxels} voxels per frame",
              "layers": widths, "bits": max(cfg.bits), "inferences": voxels,
              "aggregation": "digital",
              "activation": "sine" if cfg.mlp.activation == "sine" else "relu",
              "cordic_iterations": cfg.cordic.iterations}
    w = mlp_workload(sizing)
    return replace(w, events=haq.events, extra_counts={"cordic_steps": haq.cordic_steps},
                   programming_events=haq.deployed.programming_events,
                   source="events counted by the analog layers and the digital core of "
                          "cosim field run (HAQ pass, encoder included)")


def _slices(result: NeuralFieldResult, stem: Path) -> list[Path]:
    truth = result.truth
    n = truth.shape[0]
    picks = sorted({n // 4, n // 2, (3 * n) // 4}) if n >= 3 else list(range(n))
    methods = ("software", "haq", "ptq")
    fig = Figure(figsize=(2.0 * (1 + 2 * len(methods)), 2.1 * len(picks)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(picks), 1 + 2 * len(methods)))
    for r, k in enumerate(picks):
        panels = [("ground truth", truth[k], "gray", (0, 1))]
        for m in methods:
            vol = result.recon[m].volume
            panels.append((f"{m} {result.recon[m].psnr_slices[k]:.1f} dB", vol[k], "gray",
                           (0, 1)))
            panels.append((f"|{m} - truth|", np.abs(vol[k] - truth[k]), "magma", (0, 0.5)))
        for c, (title, img, cmap, lim) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(img, cmap=cmap, vmin=lim[0], vmax=lim[1])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title if r == 0 or c % 2 else "", fontsize=7)
        axes[r, 0].set_ylabel(f"slice {k}", fontsize=7)
    rec = result.recon
    fig.suptitle(f"PSNR software {rec['software'].psnr:.2f} / HAQ {rec['haq'].psnr:.2f} / "
                 f"PTQ {rec['ptq'].psnr:.2f} dB; {result.config.read_path()}", fontsize=8)
    return save_figure(fig, stem)


def _histograms(result: NeuralFieldResult, stem: Path) -> list[Path]:
    fig = Figure(figsize=(7.0, 3.0), layout="constrained")
    axes = fig.subplots(1, 2)
    enc = result.encoder.layer
    if enc is not None:
        pw = enc.programmed
        diff = (pw.g_actual_siemens - pw.g_actual_neg_siemens) * 1e6
        axes[0].hist(diff.ravel(), bins=30)
        axes[0].set_title("Gaussian encoder: G+ - G- (uS)", fontsize=8)
    else:
        axes[0].set_title(f"{result.config.encoder.kind} encoding: no RRAM cells", fontsize=8)
    out = result.recon["haq"].deployed.layers["W_out"].programmed
    axes[1].hist(out.g_actual_siemens.ravel() * 1e6, bins=60)
    axes[1].set_title(f"output layer, HAQ {out.n_bits} bit: cell G (uS)", fontsize=8)
    for ax in axes:
        ax.set_ylabel("cells", fontsize=8)
    fig.suptitle(result.config.read_path(), fontsize=8)
    return save_figure(fig, stem)
