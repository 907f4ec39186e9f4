"""Run-folder outputs of the SNN workload: tables, figures, workload.json, manifest.json.

The workload (:mod:`cosim.workloads.snn.experiment`) computes; this module writes.
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
from cosim.outputs.layer_records import write_layer_records
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.plots import save_figure
from cosim.workloads.snn.conv import ConvConfig
from cosim.workloads.snn.experiment import PAPER, Comparison, SNNRunConfig, SNNRunResult
from cosim.workloads.snn.network import SNNConfig, TrainedSNN, random_pair_weights
from cosim.workloads.spiking.pairs import energy_table

CHECKPOINT = "checkpoint.npz"
"""The trained network in a train or run folder: scores (or weights), history, config."""


def summary(result: SNNRunResult) -> dict[str, Any]:
    """The flat JSON object of a run (``--json`` and ``manifest.json``)."""
    cfg = result.config
    t_n = cfg.net.n_frames
    pick = min(result.thresholds, key=lambda r: abs(r["threshold"] - 0.5))
    return {
        "network": cfg.net.label, "macros": result.workload().hardware.arrays,
        "accuracy": result.accuracy, "avg_timesteps": float(t_n), "threshold": 1.0,
        "software_accuracy": result.software_accuracy,
        "random_untrained_accuracy": result.random_accuracy,
        "early_stop": pick, "points": result.thresholds, "paper": PAPER,
        "train_history": result.net.history, "timings_s": dict(result.timings_s),
        "config": asdict(cfg), "hardware_text": result.hardware.describe(),
        "hardware": result.hardware.as_dict(), "sim": asdict(result.sim),
    }


def write_run(result: SNNRunResult, run_dir: Path, command: str = "snn run") -> dict[str, Any]:
    """Write one run into ``run_dir``.

    Files: ``thresholds.csv`` (accuracy and average timesteps per early-stop
    threshold, PRIME Fig. 3b), ``confusion.csv`` (Fig. 3d), ``history.csv``
    (training), ``accuracy_vs_timesteps`` and ``conductance_histogram``
    (``G+ - G-`` before and after pruning, Fig. 2b,d; PNG + SVG),
    ``workload.json`` (one inference without early stop, ``T`` steps: the
    counted events, LIF updates included, for ``cosim report RUN_DIR``),
    ``workload_early_stop.json`` (the same at the early-stop threshold nearest
    0.5: ``cosim report RUN_DIR/workload_early_stop.json``),
    ``energy_per_inference.csv`` (both priced with the cited energy table,
    per component), ``layers/`` (the analog layers as they ran, for ``cosim verify``:
    :mod:`cosim.outputs.layer_records`), ``manifest.json`` (the summary).

    Returns:
        The summary.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(result.thresholds)
    table.to_csv(run_dir / "thresholds.csv", index=False, float_format="%.6g")
    c = result.confusion()
    pd.DataFrame(c, index=[f"true_{i}" for i in range(c.shape[0])],
                 columns=[f"pred_{i}" for i in range(c.shape[1])]).to_csv(run_dir / "confusion.csv")
    pd.DataFrame(result.net.history).to_csv(run_dir / "history.csv", index=False,
                                            float_format="%.6g")

    fig = Figure(figsize=(4.6, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["avg_timesteps"], 100 * table["accuracy"], "o-")
    for _, r in table.iterrows():
        ax.annotate(f"{r['threshold']:g}", (r["avg_timesteps"], 100 * r["accuracy"]), fontsize=6)
    ax.set_xlabel("average timesteps", fontsize=8)
    ax.set_ylabel("accuracy (%)", fontsize=8)
    ax.grid(True, alpha=0.3)
    save_figure(fig, run_dir / "accuracy_vs_timesteps")

    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, g, name in ((axes[0], result.g_diff_before, "formed pairs"),
                        (axes[1], result.g_diff_after, "after pruning (RESET to HRS)")):
        ax.hist(g * 1e6, bins=121)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("G+ - G- (uS)", fontsize=8)
    axes[0].set_ylabel("pairs", fontsize=8)
    save_figure(fig, run_dir / "conductance_histogram")

    pick = min(result.thresholds, key=lambda r: abs(r["threshold"] - 0.5))
    full, early = result.workload(), result.workload(pick["avg_timesteps"])
    write_workload_json(run_dir, full)
    (run_dir / "workload_early_stop.json").write_text(json_text(workload_to_json(early)) + "\n")
    energy_table(full, early, pick["threshold"]).to_csv(
        run_dir / "energy_per_inference.csv", index=False, float_format="%.6g")
    write_layer_records(run_dir, result.layer_records)
    out = summary(result)
    e = pd.read_csv(run_dir / "energy_per_inference.csv")
    tot = e[e["component"] == "total"]["energy_per_inference_j"].tolist()
    out["energy_per_inference_j"] = {"no_early_stop": tot[0], "early_stop": tot[1],
                                     "early_stop_threshold": pick["threshold"],
                                     "energy_table": "cited"}
    out["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    write_manifest(run_dir, new_manifest(command, simulator=False,
                                         **{k: v for k, v in out.items() if k != "command"}))
    return out


def zero_peak_fraction(g_diff: np.ndarray, tol_siemens: float = 0.5e-6) -> float:
    """Fraction of pairs with ``|G+ - G-| <= tol`` (the peak at zero after pruning)."""
    return float(np.mean(np.abs(g_diff) <= tol_siemens))


def write_noise_sweep(points: list[dict], cfg: SNNRunConfig, hardware: HardwareSpec,
                      sim: SimOptions, run_dir: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """``read_noise.csv`` and ``accuracy_vs_read_noise`` (PRIME Fig. 5d), ``manifest.json``."""
    run_dir = Path(run_dir)
    table = pd.DataFrame(points)
    table.to_csv(run_dir / "read_noise.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(4.6, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["read_noise"], 100 * table["accuracy"], "o-")
    ax.set_xlabel("read-noise scale (PRIME eq. 7)", fontsize=8)
    ax.set_ylabel(f"accuracy (%), threshold {points[0]['threshold']:g}", fontsize=8)
    ax.set_title(f"{hardware.name} hardware, {sim.backend} backend, T = {cfg.net.n_frames}",
                 fontsize=8)
    ax.grid(True, alpha=0.3)
    save_figure(fig, run_dir / "accuracy_vs_read_noise")
    out = {"points": points, **extra, "config": asdict(cfg), **_hardware_keys(hardware, sim)}
    out["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    write_manifest(run_dir, new_manifest("snn sweep-noise", simulator=False, **out))
    return out


def save_checkpoint(run_dir: Path, net: TrainedSNN, cfg: SNNRunConfig, data: str, *,
                    hardware: HardwareSpec | None = None, sim: SimOptions | None = None
                    ) -> Path:
    """Write ``RUN_DIR/checkpoint.npz`` atomically (:func:`circuits.files.atomic_writer`).

    The fixed random weights are not stored: they are the forming draw of
    ``cfg.net.seed`` (:func:`random_pair_weights`), drawn again on load.

    Args:
        data: where the data came from (a ``--data`` path, or ``""`` for the
            synthesised default set), so evaluation finds the same test split.
        hardware, sim: what a run evaluates on (``run --resume`` goes on with them).
    """
    if net.config != cfg.net:
        raise ConfigError("the checkpoint's network config differs from the run's")
    arrays = {f"{k}_{i}": np.asarray(a) for k, v in net.params.items() for i, a in enumerate(v)}
    arrays.update({f"opt_{i}": np.asarray(a) for i, a in enumerate(net.opt_state or [])})
    meta = {"config": asdict(cfg), "history": net.history, "data": data,
            "net": "conv" if isinstance(cfg.net, ConvConfig) else "mlp",
            "params": {k: len(v) for k, v in net.params.items()},
            "opt_state": None if net.opt_state is None else len(net.opt_state),
            "hardware": None if hardware is None else hardware.as_dict(),
            "sim": None if sim is None else asdict(sim)}
    path = Path(run_dir) / CHECKPOINT
    with atomic_writer(path) as handle:
        np.savez(handle, meta=np.array(json_text(meta)), **arrays)
    return path


def load_checkpoint(path: Path) -> tuple[TrainedSNN, SNNRunConfig, str,
                                         tuple[HardwareSpec | None, SimOptions | None]]:
    """The network, run config, data source and ``(hardware, sim)`` (``None`` where not
    stored) saved by :func:`save_checkpoint`.

    Args:
        path: a train or run folder, or the checkpoint file itself.

    Raises:
        ConfigError: (one line) no checkpoint there, or one that cannot be read.
    """
    path = Path(path)
    file = path / CHECKPOINT if path.is_dir() else path
    if not file.exists():
        raise ConfigError(f"no {CHECKPOINT} in {path} (train one with: cosim snn train -o "
                          f"{path})")
    try:
        with checked_npz(file, f"checkpoint {file}") as z:
            meta = json.loads(str(z["meta"]))
            params = {k: [np.asarray(z[f"{k}_{i}"]) for i in range(n)]
                      for k, n in meta["params"].items()}
            n_opt = meta.get("opt_state")  # absent from checkpoints of before it was kept
            opt = None if n_opt is None else [np.asarray(z[f"opt_{i}"]) for i in range(n_opt)]
        c = meta["config"]
        c["net"].setdefault("warmup_epochs", 0.0)  # checkpoints from before the warm-up
        if meta.get("net", "mlp") == "conv":
            net_cfg = ConvConfig(**{**c["net"], "channels": tuple(c["net"]["channels"]),
                                    "layer_scales": tuple(c["net"]["layer_scales"])})
        else:
            net_cfg = SNNConfig(**{**c["net"], "sizes": tuple(c["net"]["sizes"])})
        cfg = SNNRunConfig(**{**c, "net": net_cfg, "thresholds": tuple(c["thresholds"])})
        hw = meta.get("hardware")
        stored = (None if hw is None else hardware_from_mapping(hw, where=str(file)),
                  None if meta.get("sim") is None else SimOptions(**meta["sim"]))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{file}: not a readable SNN checkpoint ({exc})") from None
    net = TrainedSNN(config=net_cfg, fixed=random_pair_weights(net_cfg), params=params,
                     history=list(meta["history"]), opt_state=opt)
    return net, cfg, str(meta["data"]), stored


def _hardware_keys(hardware: HardwareSpec, sim: SimOptions) -> dict[str, Any]:
    return {"hardware_text": hardware.describe(), "hardware": hardware.as_dict(),
            "sim": asdict(sim)}


def write_comparison(comp: Comparison, cfg: SNNRunConfig, hardware: HardwareSpec,
                     sim: SimOptions, run_dir: Path) -> dict[str, Any]:
    """PRIME Fig. 3e and 3g: ``comparison.csv``, ``write_noise.csv``, the figure
    ``comparison`` (bars of Fig. 3e beside the curves of Fig. 3g), ``manifest.json``."""
    run_dir = Path(run_dir)
    rows, noise = pd.DataFrame(comp.rows), pd.DataFrame(comp.noise)
    rows.to_csv(run_dir / "comparison.csv", index=False, float_format="%.6g")
    noise.to_csv(run_dir / "write_noise.csv", index=False, float_format="%.6g")
    fig = Figure(figsize=(8.0, 3.4), layout="constrained")
    a, b = fig.subplots(1, 2)
    a.barh(range(len(rows)), 100 * rows["accuracy"],
           color=["C0" if p == "software" else "C1" for p in rows["platform"]])
    a.set_yticks(range(len(rows)), [f"{m} ({p})" for m, p in zip(rows["method"],
                                                                 rows["platform"], strict=True)],
                 fontsize=7)
    a.invert_yaxis()
    a.set_xlabel("test accuracy (%)", fontsize=8)
    a.set_title("Fig. 3e: trained, pruned, random", fontsize=8)
    for name in ("weight_tuning", "memristor_pruning"):
        b.plot(100 * noise["write_noise"], 100 * noise[name], "o-", label=name.replace("_", " "))
    b.set_xlabel("programming noise (% of g_LRS)", fontsize=8)
    b.set_ylabel("test accuracy (%)", fontsize=8)
    b.set_title(f"Fig. 3g on {hardware.name} hardware ({sim.backend}), T = "
                f"{cfg.net.n_frames}", fontsize=8)
    b.legend(fontsize=7)
    b.grid(True, alpha=0.3)
    save_figure(fig, run_dir / "comparison")
    for net, stem in ((comp.popup, "history_popup"), (comp.weights, "history_weights")):
        pd.DataFrame(net.history).to_csv(run_dir / f"{stem}.csv", index=False,
                                         float_format="%.6g")
    out = {"rows": comp.rows, "points": comp.noise, "config": asdict(cfg),
           **_hardware_keys(hardware, sim)}
    out["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    write_manifest(run_dir, new_manifest("snn compare", simulator=False, **out))
    return out
