"""Run-folder outputs of the neural field: metric tables, slice grid, histograms, workload.json.

The workload (:mod:`cosim.workloads.field.field`) computes; this module writes::

    RUN_DIR/metrics.csv          PSNR and SSIM over the volume, one row per method
    RUN_DIR/metrics_slices.csv   PSNR and SSIM per slice and method
    RUN_DIR/training.csv         training loss every 50 steps
    RUN_DIR/psnr_curve.csv/.png/.svg  software PSNR against steps and training time
                                 (``--psnr-every N``; run and train)
    RUN_DIR/slices.png/.svg      ground truth / software / HAQ / PTQ and |error| maps
    RUN_DIR/conductance.png/.svg conductance histograms: GE pairs and the output layer (Fig. 4c,d)
    RUN_DIR/workload.json        the HAQ pass's counted events (for ``cosim report``)
    RUN_DIR/layers/              the encoder and every HAQ and PTQ layer as they ran
                                 (for ``cosim verify``; :mod:`cosim.outputs.layer_records`)
    RUN_DIR/manifest.json        the summary (metrics, conventions, hardware, config)
    RUN_DIR/checkpoint.npz       config, hardware, volume, parameters, Adam state (train, run)

and for the other ``cosim field`` commands::

    deploy:    deploy.csv (cells, bits, weight error per matrix and scheme), conductance.png
    sparse:    sparse.csv, sparse_psnr.png/.svg (PSNR vs slices used, Fig. 4e),
               slices_<k>/ (the run folder of the largest subset)
    encodings: encodings.csv, encodings.png/.svg (Fig. 4b)
    hapo:      hapo.csv, hapo.png/.svg (PSNR_HAQ vs RRAM cells, optimum marked)

Every figure's title names the hardware and the backend. ``cosim field run`` and the main
job's ``field`` stage write their folders with the same writer, :func:`write_field_run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cosim.accounting.workload import write_workload_json
from cosim.engine.options import SimOptions
from cosim.hardware.presets import hardware_from_mapping, preset
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.layer_records import write_layer_records
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure, wrap_title
from cosim.workloads.field.field import CurvePoint, FieldResult, hardware_text


def write_field(result: FieldResult, run_dir: Path, command: str = "field run", *,
                curve: Sequence[CurvePoint] = ()) -> dict[str, Any]:
    """Write the tables, figures and workload of one evaluation into ``run_dir``
    (``curve``: the software PSNR while training, :func:`write_psnr_curve`).

    Returns:
        The summary written to ``manifest.json`` (with the file names).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stem, table in result.tables().items():
        table.to_csv(run_dir / f"{stem}.csv", index=False, float_format="%.6g")
    figures = _slices(result, run_dir / "slices") + _histograms(result, run_dir / "conductance")
    write_workload_json(run_dir, result.workload())
    records = write_layer_records(run_dir, result.layer_records)
    curve_files = write_psnr_curve(run_dir, curve, result.config,
                                   hardware_text(result.hardware, result.sim))
    figures += [run_dir / n for n in curve_files[1:]]
    summary = {**result.summary(),
               "tables": ["metrics.csv", "metrics_slices.csv", "training.csv", "workload.json",
                          *records, *curve_files[:1]],
               "figures": sorted(p.name for p in figures)}
    if curve:
        summary["psnr_curve"] = [asdict(c) for c in curve]
    write_manifest(run_dir, new_manifest(command, simulator=False, **summary))
    return {"command": command, **summary}


def write_field_run(result: FieldResult, run_dir: Path, command: str = "field run", *,
                    curve: Sequence[CurvePoint] = ()) -> dict[str, Any]:
    """The one writer of a trained-and-evaluated field (``cosim field run`` and the main
    job's stage): :func:`write_field` plus the checkpoint, so the folder is a
    ``--model`` for the other ``cosim field`` commands."""
    summary = write_field(result, run_dir, command, curve=curve)
    save_checkpoint(run_dir, result.config, result.hardware, result.sim, result.truth,
                    result.training)
    return summary


def _slices(result: FieldResult, stem: Path) -> list[Path]:
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
    fig.suptitle(wrap_title(f"PSNR software {rec['software'].psnr:.2f} / HAQ "
                            f"{rec['haq'].psnr:.2f} / PTQ {rec['ptq'].psnr:.2f} dB; "
                            f"{hardware_text(result.hardware, result.sim)}", 160), fontsize=8)
    return save_figure(fig, stem)


def _histograms(result: FieldResult, stem: Path) -> list[Path]:
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
    fig.suptitle(wrap_title(hardware_text(result.hardware, result.sim), 90), fontsize=8)
    return save_figure(fig, stem)


# -- checkpoints (cosim field train; read by deploy, eval, sparse, hapo) -----------------

CHECKPOINT = "checkpoint.npz"
"""The training state of ``cosim field train``: config, hardware, volume, parameters,
optimiser."""


def save_checkpoint(run_dir: Path, cfg, hardware: HardwareSpec, sim: SimOptions,
                    truth: np.ndarray, state) -> Path:
    """Write ``RUN_DIR/checkpoint.npz`` atomically (config, hardware and sim as JSON, volume,
    params, Adam state). The hardware is the model's own: the Gaussian encoder's ``B``
    it learnt may depend on it (:func:`cosim.workloads.field.field.encoder_read`)."""
    from dataclasses import asdict

    from circuits.files import atomic_writer
    from cosim.outputs.jsonout import json_text
    from cosim.workloads.field.mlp import opt_state_leaves

    arrays = {f"param/{k}": np.asarray(v) for k, v in state.params.items()}
    if state.opt_state is not None:
        arrays.update({f"opt/{i:04d}": leaf for i, leaf in enumerate(opt_state_leaves(state))})
    path = Path(run_dir) / CHECKPOINT
    with atomic_writer(path) as handle:
        np.savez(handle, config=np.array(json_text(asdict(cfg))),
                 hardware=np.array(json_text(hardware.as_dict())),
                 sim=np.array(json_text(asdict(sim))), truth=np.asarray(truth, float),
                 step=np.array(state.step), losses=np.asarray(state.losses, float), **arrays)
    return path


def load_checkpoint(model_dir: Path | str, what: str = "--model"):
    """``(config, hardware, sim, volume, train state)`` from a ``cosim field train`` run
    folder. Checkpoints written before the hardware was stored carry their read path in
    the config (``read_path``, ``backend``, noise, wires): that is translated.

    Raises:
        ConfigError: no such folder, no checkpoint in it, or one that cannot be read.
    """
    import json
    import zipfile

    from circuits.errors import ConfigError
    from circuits.files import checked_npz
    from cosim.workloads.field.field import config_from_dict
    from cosim.workloads.field.mlp import restore_state

    d = Path(model_dir)
    if not d.is_dir():
        raise ConfigError(f"{what} {str(d)!r}: no such folder (a 'cosim field train' run)")
    path = d / CHECKPOINT
    if not path.exists():
        raise ConfigError(f"{what} {str(d)!r} holds no {CHECKPOINT}; train one with "
                          f"'cosim field train -o {d}'")
    try:
        with checked_npz(path, CHECKPOINT) as z:
            stored = json.loads(str(z["config"]))
            hardware, sim = _stored_hardware(z, stored)
            cfg = config_from_dict(stored)
            params = {k[6:]: z[k] for k in z.files if k.startswith("param/")}
            leaves = [z[k] for k in sorted(k for k in z.files if k.startswith("opt/"))]
            truth, step, losses = z["truth"], int(z["step"]), z["losses"]
    except ConfigError as exc:
        raise ConfigError(f"{what} {str(d)!r}: {exc}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{what} {str(d)!r}: {CHECKPOINT} cannot be read: {reason}") from None
    if not params:
        raise ConfigError(f"{what} {str(d)!r}: {CHECKPOINT} holds no parameters")
    if leaves:
        state = restore_state(params, leaves, step, losses, cfg.training)
    else:
        from cosim.workloads.field.mlp import TrainState

        state = TrainState(params=params, opt_state=None, step=step, losses=losses)
    return cfg, hardware, sim, truth, state


_OLD_KEYS = ("write_noise", "read_noise", "backend", "read_path", "r_wire_ohm")
"""Config keys of checkpoints from before the hardware was stored apart."""


def _stored_hardware(z, stored: dict[str, Any]) -> tuple[HardwareSpec, SimOptions]:
    """The checkpoint's hardware and sim (translated from an older config's keys)."""
    import json

    old = {k: stored.pop(k) for k in _OLD_KEYS if k in stored}
    if "hardware" in z.files:
        return (hardware_from_mapping(json.loads(str(z["hardware"])), where="checkpoint"),
                SimOptions(**json.loads(str(z["sim"]))))
    hw = preset(old.get("read_path", "paper"))
    parts: dict[str, dict[str, Any]] = {"noise": {"write": old.get("write_noise", 0.15),
                                                  "read": old.get("read_noise", 0.0)}}
    if old.get("r_wire_ohm") is not None:
        parts["array"] = {"r_wire_ohm": old["r_wire_ohm"]}
    return hw.with_parts(**parts), SimOptions(backend=old.get("backend", "ideal"))


def write_training(run_dir: Path, cfg, hardware: HardwareSpec, sim: SimOptions,
                   truth: np.ndarray, state, *, interrupted: bool = False,
                   curve: Sequence[CurvePoint] = ()) -> dict[str, Any]:
    """``cosim field train``: checkpoint, loss table, PSNR curve (``curve``), manifest;
    returns the summary."""
    from dataclasses import asdict

    from cosim.workloads.field.mlp import n_weights

    run_dir = Path(run_dir)
    save_checkpoint(run_dir, cfg, hardware, sim, truth, state)
    losses = state.losses
    pd.DataFrame({"step": np.linspace(0, state.step, len(losses) + 1)[1:].round(),
                  "loss": losses}).to_csv(run_dir / "training.csv", index=False,
                                          float_format="%.6g")
    summary = {"volume_shape": list(truth.shape), "weights": n_weights(state.params),
               "training_steps": state.step, "target_steps": cfg.training.steps,
               "interrupted": interrupted,
               "final_loss": float(losses[-1]) if losses.size else None,
               "config": asdict(cfg), "hardware_text": hardware_text(hardware, sim),
               "hardware": hardware.as_dict(), "sim": asdict(sim),
               "tables": ["training.csv"], "checkpoint": CHECKPOINT}
    curve_files = write_psnr_curve(run_dir, curve, cfg, hardware_text(hardware, sim))
    if curve:
        summary.update(tables=["training.csv", curve_files[0]], figures=curve_files[1:],
                       psnr_curve=[asdict(c) for c in curve])
    write_manifest(run_dir, new_manifest("field train", simulator=False, **summary))
    return {"command": "field train", **summary}


def write_psnr_curve(run_dir: Path, curve: Sequence[CurvePoint], cfg, hardware: str
                     ) -> list[str]:
    """``psnr_curve.csv`` (step, software PSNR, training wall and CPU seconds) and
    ``psnr_curve.png/.svg`` (PSNR against steps and against wall time); nothing when
    ``curve`` is empty. Returns the file names, the table first."""
    if not curve:
        return []
    run_dir = Path(run_dir)
    table = pd.DataFrame([asdict(c) for c in curve])
    table.to_csv(run_dir / "psnr_curve.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(8.0, 3.2), layout="constrained")
    ax_steps, ax_time = fig.subplots(1, 2, sharey=True)
    ax_steps.plot(table.step, table.psnr_db, "o-", ms=3)
    ax_steps.set_xlabel("training step")
    ax_steps.set_ylabel("software PSNR (dB)")
    ax_time.plot(table.train_s, table.psnr_db, "o-", ms=3)
    ax_time.set_xlabel("training wall time (s)")
    for ax in (ax_steps, ax_time):
        ax.grid(alpha=0.3)
    t = cfg.training
    fig.suptitle(wrap_title(
        f"{cfg.encoder.kind} encoding, scale {cfg.encoder.scale:g}; width {cfg.mlp.width}, "
        f"rank {cfg.mlp.rank}; Adam lr {t.learning_rate:g}, {t.schedule} over {t.steps} "
        f"steps, batch {t.batch or 'all'}; {hardware}"), fontsize=8)
    figures = save_figure(fig, run_dir / "psnr_curve")
    return ["psnr_curve.csv", *sorted(p.name for p in figures)]


def write_deploy(run_dir: Path, cfg, hardware: HardwareSpec, sim: SimOptions, deployed: dict,
                 params) -> dict[str, Any]:
    """``cosim field deploy``: per-layer table (cells, weight error), histograms, manifest."""
    run_dir = Path(run_dir)
    rows = []
    for scheme, dep in deployed.items():
        for name, layer in dep.layers.items():
            w = np.asarray(params[name], dtype=float)
            err = layer.weights() - w
            pw = layer.programmed
            lay = dep.placements.get(name)
            rows.append({"scheme": scheme, "matrix": name, "hardware": hardware.name,
                         "rows": w.shape[0], "cols": w.shape[1], "bits": pw.n_bits,
                         "macros": lay.macros if lay is not None else None,
                         "rows_per_macro": lay.rows_used if lay is not None else None,
                         "cols_per_macro": lay.cols_used if lay is not None else None,
                         "read_gain": lay.mean_attenuation if lay is not None else 1.0,
                         "cells": int(pw.g_actual_siemens.size * (2 if pw.differential else 1)),
                         "weight_rmse_rel": float(np.sqrt(np.mean(err ** 2))
                                                  / max(np.abs(w).max(), 1e-30))})
    table = pd.DataFrame(rows)
    table.to_csv(run_dir / "deploy.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(3.5 * len(deployed), 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(deployed)))
    for ax, (scheme, dep) in zip(axes, deployed.items(), strict=True):
        out = dep.layers["W_out"].programmed
        ax.hist(out.g_actual_siemens.ravel() * 1e6, bins=60)
        ax.set_title(f"output layer, {scheme.upper()} {out.n_bits} bit: cell G (uS)", fontsize=8)
        ax.set_ylabel("cells", fontsize=8)
    text = hardware_text(hardware, sim)
    fig.suptitle(text, fontsize=8)
    figures = save_figure(fig, run_dir / "conductance")
    summary: dict[str, Any] = {"hardware_text": text, "hardware_name": hardware.name,
                               "hardware": hardware.as_dict(), "sim": asdict(sim),
                               "bits": list(cfg.bits), "amp_ratio": cfg.amp_ratio}
    for scheme in deployed:
        sub = table[table.scheme == scheme]
        summary[f"cells_{scheme}"] = int(sub.cells.sum())
        summary[f"macros_{scheme}"] = int(deployed[scheme].macros)
        summary[f"weight_rmse_rel_{scheme}"] = float(sub.weight_rmse_rel.max())
    summary.update(tables=["deploy.csv"], figures=sorted(p.name for p in figures))
    write_manifest(run_dir, new_manifest("field deploy", simulator=False, **summary))
    return {"command": "field deploy", **summary}


def write_sparse(result, run_dir: Path) -> dict[str, Any]:
    """Sparse task: ``sparse.csv`` and ``sparse_psnr.png/.svg`` (PSNR vs slices used, Fig. 4e)."""
    run_dir = Path(run_dir)
    table = pd.DataFrame(result.rows)
    table.to_csv(run_dir / "sparse.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(4.5, 3.2), layout="constrained")
    ax = fig.subplots()
    t = table[table.slices_used > 0].sort_values("slices_used")
    dense = table[table.slices_used == 0]
    for m, style in (("software", "o-"), ("haq", "s-"), ("ptq", "^-")):
        if f"psnr_{m}" in t:
            ax.plot(t.slices_used, t[f"psnr_{m}"], style, label=m)
    if len(dense) and "psnr_haq" in dense:
        ax.axhline(float(dense.psnr_haq.iloc[0]), color="grey", ls=":", lw=1,
                   label="HAQ, no fine-tune")
    ax.set_xlabel(f"slices used (of {int(table.slices_total.iloc[0])})")
    ax.set_ylabel("PSNR over all slices (dB)")
    ax.legend(fontsize=7)
    run = next(iter(result.runs.values()))
    text = hardware_text(run.hardware, run.sim)
    ax.set_title(f"sparse reconstruction; {text}", fontsize=7)
    figures = save_figure(fig, run_dir / "sparse_psnr")
    summary = {**result.summary(), "hardware_text": text, "hardware": run.hardware.as_dict(),
               "tables": ["sparse.csv"], "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest("field sparse", simulator=False, **summary))
    return {"command": "field sparse", **summary}


def write_encodings(result, run_dir: Path) -> dict[str, Any]:
    """Encodings compared (Fig. 4b): ``encodings.csv``, ``encodings.png/.svg`` (PSNR bars
    and the middle slice of each reconstruction), manifest."""
    run_dir = Path(run_dir)
    table = pd.DataFrame(result.rows)
    table.to_csv(run_dir / "encodings.csv", index=False, float_format="%.6g")
    n = len(result.rows)
    fig = Figure(figsize=(3.2 + 1.8 * n, 3.0), layout="constrained")
    axes = fig.subplots(1, n + 1, width_ratios=[2.2] + [1.0] * n)
    ax = axes[0]
    ax.bar(table.encoding, table.psnr_software, color="tab:blue")
    for i, v in enumerate(table.psnr_software):
        ax.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("software PSNR (dB)")
    ax.tick_params(labelsize=7)
    k = result.truth.shape[0] // 2
    for a, row in zip(axes[1:], result.rows, strict=True):
        a.imshow(result.volumes[row["encoding"]][k], cmap="gray", vmin=0, vmax=1)
        a.set_title(f"{row['encoding']} ({row['features']})", fontsize=7)
        a.set_xticks([])
        a.set_yticks([])
    mlp = result.config.mlp
    fig.suptitle(f"same network (width {mlp.width}, rank {mlp.rank}, {mlp.activation}) and "
                 f"budget ({result.config.training.steps} steps); slice {k}", fontsize=8)
    figures = save_figure(fig, run_dir / "encodings")
    summary = {**result.summary(), "tables": ["encodings.csv"],
               "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest("field encodings", simulator=False, **summary))
    return {"command": "field encodings", **summary}


def write_hapo(result, run_dir: Path, hardware: str) -> dict[str, Any]:
    """HAPO grid: ``hapo.csv``, ``hapo.png/.svg`` (PSNR_HAQ against RRAM cells, the
    objective's optimum and the paper's point marked), manifest."""
    run_dir = Path(run_dir)
    table = pd.DataFrame(result.rows)
    table.to_csv(run_dir / "hapo.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    ax = fig.subplots()
    sc = ax.scatter(table.cells, table.psnr_haq, c=table.amp_ratio, s=14, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="s")
    best = result.rows[result.best]
    ax.scatter([best["cells"]], [best["psnr_haq"]], marker="*", s=160, facecolors="none",
               edgecolors="red", label=f"optimum: {best['bits_input']}/{best['bits_hidden']}/"
                                       f"{best['bits_output']} bit, s {best['amp_ratio']:g}, "
                                       f"keep {best['keep']:g}, rank {best['rank']}")
    paper = table[(table.bits_input == 14) & (table.bits_hidden == 14)
                  & (table.bits_output == 12) & (table.amp_ratio == 1.5)
                  & (table.keep == 1.0)]
    paper = paper[paper["rank"] == paper["rank"].max()] if len(paper) else paper
    if len(paper):
        ax.scatter(paper.cells, paper.psnr_haq, marker="s", s=40, facecolors="none",
                   edgecolors="k", label="paper's 14/14/12, s 1.5 (unpruned)")
    ax.set_xscale("log")
    ax.set_xlabel("RRAM cells (deployed MLP)")
    ax.set_ylabel("PSNR, HAQ (dB)")
    ax.legend(fontsize=6, loc="lower right")
    ax.set_title(f"HAPO, lambda {result.config.penalty_db:g} dB/doubling; {hardware}",
                 fontsize=7)
    figures = save_figure(fig, run_dir / "hapo")
    summary = {**result.summary(), "hardware_text": hardware, "tables": ["hapo.csv"],
               "figures": sorted(p.name for p in figures)}
    write_manifest(run_dir, new_manifest("field hapo", simulator=False, **summary))
    return {"command": "field hapo", **summary}
