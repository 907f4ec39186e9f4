"""``cosim snn``: the PRIME spiking-network workload.

- ``run``: train and evaluate in one go;
- ``train``: train the pop-up scores, a checkpoint after every epoch
  (Ctrl-C keeps the last one; ``--resume`` continues);
- ``eval``: a trained network on analog tiles at one early-stop threshold;
- ``sweep-threshold``: accuracy vs average timesteps (PRIME Fig. 3b);
- ``sweep-noise``: accuracy vs read-noise scale (PRIME Fig. 5d);
- ``compare``: PRIME Fig. 3e (weight-trained, pruned and random networks in
  software and on hardware) and Fig. 3g (accuracy vs programming noise,
  weight tuning vs memristor pruning).

``eval``, ``sweep-threshold`` and ``sweep-noise`` take the folder of a
``train`` or ``run``: its checkpoint holds the network, the data source and
the split, so they evaluate on the same test samples. Run folders: see
:mod:`cosim.outputs.snn`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from circuits.errors import ConfigError, check_int, check_range, split_items
from cosim.commands.export import check_export, export_network, export_option
from cosim.commands.options import HardwareChoice, SimChoice, hardware_options, sim_options
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir
from cosim.outputs.snn import (
    CHECKPOINT,
    load_checkpoint,
    save_checkpoint,
    write_comparison,
    write_noise_sweep,
    write_run,
    zero_peak_fraction,
)
from cosim.workloads.snn.conv import ConvConfig
from cosim.workloads.snn.data import load_user_data, user_data_files
from cosim.workloads.snn.dvs import DVSConfig, EventSet
from cosim.workloads.snn.experiment import (
    DEFAULT_THRESHOLDS,
    DEFAULT_WRITE_NOISES,
    SNNRunConfig,
    compare,
    evaluate,
    run_snn,
    software_accuracies,
    split_frames,
    sweep_read_noise,
)
from cosim.workloads.snn.network import SNNConfig, train
from cosim.workloads.snn.stage import CACHE_DIR, SnnStage, default_events

QUICK = {"n_train": SnnStage().n_train, "n_test": SnnStage().n_test, "epochs": SnnStage().epochs,
         "lr": SnnStage().lr}
"""``--quick``: the settings of the main job's SNN stage (``lr``: the MLP's only; the conv
net keeps its own schedule)."""
FULL = {"n_train": 4000, "n_test": 1000, "epochs": None}
"""The full budget; ``epochs`` None: each network's own default (``SNNConfig.epochs``,
``ConvConfig.epochs``)."""
NETS = ("mlp", "conv")
DEFAULT_NOISES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.1)


@click.group("snn")
def snn_group() -> None:
    """PRIME SNN: random memristor pairs, pop-up pruning, LIF timestep loop, early stop."""


# -- shared options and steps ------------------------------------------------------------

def _out_options(f):
    f = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(f)
    return click.option("-o", "--out", "run_dir",
                        type=OutputPath(path_type=Path, file_okay=False), default=None,
                        help="Run folder [default: results/snn-<timestamp>].")(f)


def _data_option(f):
    return click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
                        help="N-MNIST folder, or images+labels (.npy or IDX) to convert "
                             "to events.")(f)


HARDWARE = "prime"
"""The SNN's default hardware preset."""


def _training_options(f):
    for opt in reversed((
        click.option("--quick", is_flag=True, help="Small subset and budget (1-3 minutes)."),
        click.option("--net", "net_kind", type=click.Choice(NETS), default="mlp",
                     show_default=True, help="MLP 2312-250-250-10 or conv 12C5-P2-64C5-P2-FC."),
        click.option("--frames", "n_frames", type=int, default=10, show_default=True,
                     help="Timesteps T."),
        click.option("--epochs", type=int, default=None,
                     help=f"Training epochs [mlp {SNNConfig().epochs}, conv "
                          f"{ConvConfig().epochs}; quick {QUICK['epochs']}]."),
        click.option("--train", "n_train", type=int, default=None,
                     help=f"Training samples [4000; quick {QUICK['n_train']}]."),
        click.option("--test", "n_test", type=int, default=None,
                     help=f"Test samples [1000; quick {QUICK['n_test']}]."),
        click.option("--seed", type=int, default=0, show_default=True),
    )):
        f = opt(f)
    return f


def _trained_argument(f):
    return click.argument("trained", type=click.Path(path_type=Path))(f)


def run_config(*, quick: bool, net_kind: str, n_frames: int, epochs: int | None,
               n_train: int | None, n_test: int | None, seed: int) -> SNNRunConfig:
    """The run's config from the command-line settings (quick or full budget)."""
    check_int("--seed", seed, 0, 2**31 - 1)
    base = QUICK if quick else FULL
    kind = ConvConfig if net_kind == "conv" else SNNConfig
    epochs = base["epochs"] if epochs is None else epochs
    extra = {} if epochs is None else {"epochs": epochs}
    if quick and kind is SNNConfig:
        extra["lr"] = QUICK["lr"]
    return SNNRunConfig(
        net=kind(n_frames=n_frames, seed=seed, **extra),
        n_train=base["n_train"] if n_train is None else n_train,
        n_test=base["n_test"] if n_test is None else n_test, seed=seed)


def _check_data_path(data_path: Path | None) -> None:
    """Refuse a bad ``--data`` (missing, not a folder, files that are not regular) up front."""
    if data_path is not None:
        user_data_files(data_path)


def load_data(data_path: Path | None, quiet: bool) -> EventSet:
    """The events of ``--data``, or the synthesised default set (cached)."""
    if data_path is not None:
        _check_data_path(data_path)
        with tqdm(desc="events", disable=quiet, unit="sample") as bar:
            return load_user_data(data_path, DVSConfig(), CACHE_DIR, progress=bar.update)
    return default_events(CACHE_DIR, progress=not quiet)


def _floats(text: str, option: str) -> list[float]:
    items = split_items(option, text)
    try:
        values = [float(v) for v in items]
    except ValueError:
        raise ConfigError(f"{option} takes numbers separated by commas, got {text!r}") from None
    if not values:
        raise ConfigError(f"{option} is empty; give numbers separated by commas")
    return values


def _source(data_path: Path | None) -> str:
    return "" if data_path is None else str(data_path.resolve())


# -- commands ----------------------------------------------------------------------------

@snn_group.command("run")
@_training_options
@_data_option
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@click.option("--resume", is_flag=True,
              help="Continue the run in -o from its checkpoint (its settings and hardware; "
                   "--epochs may raise the total), then evaluate.")
@export_option
@_out_options
def snn_run_command(quick: bool, net_kind: str, n_frames: int, epochs: int | None,
                    n_train: int | None, n_test: int | None, seed: int,
                    data_path: Path | None, hardware: HardwareChoice, sim: SimChoice,
                    resume: bool, export_format: str | None, run_dir: Path | None,
                    as_json: bool) -> None:
    """Train pop-up scores on synthesised N-MNIST and evaluate on analog tiles."""
    init = None
    if resume:
        init, cfg, data_path, stored = _resumed(run_dir, epochs, "run", finished_ok=True)
        hw = hardware.resolve(stored[0] or HARDWARE)
        sim_ = sim.resolve(stored[1])
    else:
        cfg = run_config(quick=quick, net_kind=net_kind, n_frames=n_frames, epochs=epochs,
                         n_train=n_train, n_test=n_test, seed=seed)
        hw, sim_ = hardware.resolve(HARDWARE), sim.resolve()
        _check_data_path(data_path)
    _check_export(export_format, cfg)
    source = _source(data_path)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("snn"),
                         resume=resume, resumable=True) as run_dir:
        data = load_data(data_path, as_json)
        done = len(init.history) if init else 0
        with _interrupt_note(run_dir, cfg, "run"), \
                tqdm(total=cfg.net.epochs, initial=done, desc="training", disable=as_json,
                     unit="epoch") as bt, \
                tqdm(total=cfg.n_test, desc="evaluation", disable=as_json, unit="sample") as be:
            result = run_snn(cfg, hw, sim_, data, on_epoch=_epoch_bar(bt), on_eval=be.update,
                             init=init, checkpoint=lambda net: save_checkpoint(
                                 run_dir, net, cfg, source, hardware=hw, sim=sim_))
        summary = write_run(result, run_dir)
        if export_format:
            summary["export"] = _export(run_dir, export_format, result.net, cfg, data)
    summary["run_dir"] = str(run_dir)
    summary["zero_peak_fraction_after_pruning"] = zero_peak_fraction(result.g_diff_after)
    if as_json:
        emit_json(summary)
        return
    es = summary["early_stop"]
    click.echo(f"accuracy {100 * result.accuracy:.2f} % at T = {cfg.net.n_frames} on "
               f"{hw.name} ({sim_.backend}) "
               f"(software {100 * result.software_accuracy:.2f} %, random untrained "
               f"{100 * result.random_accuracy:.2f} %)")
    click.echo(f"early stop at {es['threshold']:g}: {100 * es['accuracy']:.2f} %, "
               f"{es['avg_timesteps']:.2f} timesteps ({100 * es['timesteps_saved']:.0f} % fewer)")
    click.echo(f"wrote {run_dir}")


def _check_export(fmt: str | None, cfg: SNNRunConfig) -> None:
    """Refuse ``--export`` of a format or network the SNN cannot write, before any work."""
    from cosim.workloads.snn.export import EXPORT_FORMATS, check_exportable

    check_export(fmt, EXPORT_FORMATS)
    if fmt is not None:
        check_exportable(cfg.net)


def _export(run_dir: Path, fmt: str, net, cfg: SNNRunConfig, data: EventSet):
    """``--export``: the trained network (:func:`cosim.workloads.snn.export.snn_graph`) and
    the run's test split as it takes it."""
    from cosim.workloads.snn.export import exported_inputs, snn_graph

    x, labels = exported_inputs(cfg, data)
    return export_network(run_dir, fmt, snn_graph(net), x, labels=labels)


def _resumed(run_dir: Path | None, epochs: int | None, command: str, *, finished_ok: bool):
    """``--resume``: the checkpoint's network, its run config (``--epochs`` may raise the
    total) and its data path.

    Args:
        finished_ok: a checkpoint with every epoch trained is accepted (``run``
            then only evaluates); else it is an error.
    """
    if run_dir is None:
        what = "training" if command == "train" else command
        raise ConfigError(f"--resume continues a {what} folder; name it with -o")
    init, cfg, source, stored = load_checkpoint(run_dir)
    if epochs is not None:
        cfg = replace(cfg, net=replace(cfg.net, epochs=epochs))
    if len(init.history) > cfg.net.epochs or (not finished_ok
                                              and len(init.history) >= cfg.net.epochs):
        raise ConfigError(f"{run_dir} has already trained {len(init.history)} of "
                          f"{cfg.net.epochs} epochs; raise --epochs to train on")
    return init, cfg, Path(source) if source else None, stored


@contextmanager
def _interrupt_note(run_dir: Path, cfg, command: str):
    """Ctrl-C: say how many epochs the checkpoint keeps and how to go on; exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        kept = load_checkpoint(run_dir)[0].history if (run_dir / CHECKPOINT).exists() else []
        click.echo(f"interrupted: {run_dir / CHECKPOINT} keeps {len(kept)} of "
                   f"{cfg.net.epochs} epochs; continue with: cosim snn {command} --resume -o "
                   f"{run_dir}", err=True)
        raise SystemExit(130) from None


def _epoch_bar(bar):
    def on_epoch(row):
        bar.update(1)
        bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['train_accuracy']:.3f}")
    return on_epoch


@snn_group.command("train")
@_training_options
@_data_option
@click.option("--resume", is_flag=True,
              help="Continue the training in -o from its checkpoint (its settings; --epochs "
                   "may raise the total).")
@export_option
@_out_options
def snn_train_command(quick: bool, net_kind: str, n_frames: int, epochs: int | None,
                      n_train: int | None, n_test: int | None, seed: int,
                      data_path: Path | None, resume: bool, export_format: str | None,
                      run_dir: Path | None, as_json: bool) -> None:
    """Train the pop-up scores; a checkpoint after every epoch (Ctrl-C keeps the last)."""
    init = None
    if resume:
        init, cfg, data_path, _ = _resumed(run_dir, epochs, "train", finished_ok=False)
        source = _source(data_path)
    else:
        cfg = run_config(quick=quick, net_kind=net_kind, n_frames=n_frames, epochs=epochs,
                         n_train=n_train, n_test=n_test, seed=seed)
        _check_data_path(data_path)
        source = _source(data_path)
    _check_export(export_format, cfg)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("snn-train"),
                         resume=resume, resumable=True) as run_dir:
        data = load_data(data_path, as_json)
        split = split_frames(cfg, data)
        done = len(init.history) if init else 0
        with _interrupt_note(run_dir, cfg, "train"), \
                tqdm(total=cfg.net.epochs, initial=done, desc="training", disable=as_json,
                     unit="epoch") as bt:
            net = train(split.train_frames, split.train_labels, cfg.net,
                        progress=_epoch_bar(bt), init=init,
                        checkpoint=lambda n: save_checkpoint(run_dir, n, cfg, source))
        sw, rand = software_accuracies(net, split)
        pd.DataFrame(net.history).to_csv(run_dir / "history.csv", index=False,
                                         float_format="%.6g")
        summary = {"epochs": len(net.history), "software_accuracy": sw,
                   "random_untrained_accuracy": rand, "train_history": net.history,
                   "checkpoint": CHECKPOINT, "data": source or "synthesised N-MNIST (MNIST 5k)"}
        write_manifest(run_dir, new_manifest("snn train", simulator=False, config=asdict(cfg),
                                             seeds={"seed": cfg.seed}, **summary))
        if export_format:
            summary["export"] = _export(run_dir, export_format, net, cfg, data)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    click.echo(f"trained {len(net.history)} epochs: software test accuracy {100 * sw:.2f} % "
               f"(random untrained {100 * rand:.2f} %)")
    click.echo(f"wrote {run_dir}")


def _evaluation(trained: Path, data_path: Path | None):
    """The checkpoint of ``trained`` and the test split it was trained beside."""
    net, cfg, source, _ = load_checkpoint(trained)
    if data_path is None and source:
        data_path = Path(source)
    return net, cfg, data_path


@snn_group.command("eval")
@_trained_argument
@_data_option
@hardware_options(HARDWARE)
@sim_options
@click.option("--threshold", type=float, default=1.0, show_default=True,
              help="Early-stop confidence threshold in (0, 1]; 1: no early stop.")
@_out_options
def snn_eval_command(trained: Path, data_path: Path | None, hardware: HardwareSpec,
                     sim: SimOptions, threshold: float, run_dir: Path | None,
                     as_json: bool) -> None:
    """Evaluate a trained network (TRAINED: a train or run folder) on analog tiles."""
    check_range("threshold", threshold, 0.0, 1.0, lo_open=True)
    _check_data_path(data_path)
    net, cfg, data_path = _evaluation(trained, data_path)
    cfg = replace(cfg, thresholds=(threshold,))
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("snn-eval")) as run_dir:
        split = split_frames(cfg, load_data(data_path, as_json))
        with tqdm(total=cfg.n_test, desc="evaluation", disable=as_json, unit="sample") as be:
            result = evaluate(cfg, hardware, sim, net, split, on_eval=be.update)
        summary = write_run(result, run_dir, "snn eval")
    row = result.thresholds[0]
    summary.update({"accuracy": row["accuracy"], "avg_timesteps": row["avg_timesteps"],
                    "threshold": row["threshold"], "accuracy_at_T": result.accuracy,
                    "run_dir": str(run_dir)})
    if as_json:
        emit_json(summary)
        return
    click.echo(f"accuracy {100 * row['accuracy']:.2f} % at threshold {threshold:g}, "
               f"{row['avg_timesteps']:.2f} timesteps on average ({hardware.name}, "
               f"{sim.backend})")
    click.echo(f"wrote {run_dir}")


@snn_group.command("sweep-threshold")
@_trained_argument
@_data_option
@hardware_options(HARDWARE)
@sim_options
@click.option("--thresholds", default=",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS),
              show_default=True, help="Early-stop thresholds in (0, 1], comma-separated.")
@_out_options
def snn_sweep_threshold_command(trained: Path, data_path: Path | None, hardware: HardwareSpec,
                                sim: SimOptions, thresholds: str, run_dir: Path | None,
                                as_json: bool) -> None:
    """Accuracy vs average timesteps over early-stop thresholds (PRIME Fig. 3b)."""
    ths = _floats(thresholds, "--thresholds")
    for t in ths:
        check_range("threshold", t, 0.0, 1.0, lo_open=True)
    _check_data_path(data_path)
    net, cfg, data_path = _evaluation(trained, data_path)
    cfg = replace(cfg, thresholds=tuple(ths))
    with prepare_run_dir(run_dir if run_dir is not None
                         else new_run_dir("snn-thresholds")) as run_dir:
        split = split_frames(cfg, load_data(data_path, as_json))
        with tqdm(total=cfg.n_test, desc="evaluation", disable=as_json, unit="sample") as be:
            result = evaluate(cfg, hardware, sim, net, split, on_eval=be.update)
        summary = write_run(result, run_dir, "snn sweep-threshold")
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for r in result.thresholds:
        click.echo(f"threshold {r['threshold']:g}: {100 * r['accuracy']:.2f} %, "
                   f"{r['avg_timesteps']:.2f} timesteps")
    click.echo(f"wrote {run_dir}")


@snn_group.command("sweep-noise")
@_trained_argument
@_data_option
@hardware_options(HARDWARE, exclude=("noise.read",))
@sim_options
@click.option("--read-noise", "noises", default=",".join(f"{v:g}" for v in DEFAULT_NOISES),
              show_default=True, help="Read-noise scales (PRIME eq. 7), comma-separated.")
@click.option("--threshold", type=float, default=1.0, show_default=True,
              help="Early-stop threshold in (0, 1]; 1: no early stop.")
@_out_options
def snn_sweep_noise_command(trained: Path, data_path: Path | None, hardware: HardwareSpec,
                            sim: SimOptions, noises: str, threshold: float,
                            run_dir: Path | None, as_json: bool) -> None:
    """Accuracy vs read-noise scale on analog tiles (PRIME Fig. 5d)."""
    values = _floats(noises, "--read-noise")
    for v in values:
        hardware.with_parts(noise={"read": v})  # validates before any work
    check_range("threshold", threshold, 0.0, 1.0, lo_open=True)
    _check_data_path(data_path)
    net, cfg, data_path = _evaluation(trained, data_path)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("snn-noise")) as run_dir:
        split = split_frames(cfg, load_data(data_path, as_json))
        with tqdm(total=cfg.n_test * len(values), desc="evaluation", disable=as_json,
                  unit="sample") as be:
            points = sweep_read_noise(cfg, hardware, sim, net, split, values, threshold,
                                      on_eval=be.update)
        summary = write_noise_sweep(points, cfg, hardware, sim, run_dir,
                                    {"threshold": threshold})
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for p in points:
        click.echo(f"read noise {p['read_noise']:g}: {100 * p['accuracy']:.2f} %")
    click.echo(f"wrote {run_dir}")


@snn_group.command("compare")
@_training_options
@_data_option
@hardware_options(HARDWARE, exclude=("noise.write",))
@sim_options
@click.option("--write-noise", "write_noises",
              default=",".join(f"{v:g}" for v in DEFAULT_WRITE_NOISES), show_default=True,
              help="Programming-noise std (fraction of g_LRS), comma-separated (Fig. 3g).")
@_out_options
def snn_compare_command(quick: bool, net_kind: str, n_frames: int, epochs: int | None,
                        n_train: int | None, n_test: int | None, seed: int,
                        data_path: Path | None, hardware: HardwareSpec, sim: SimOptions,
                        write_noises: str, run_dir: Path | None, as_json: bool) -> None:
    """Pruning vs weight training vs random weights, and vs programming noise (Fig. 3e, 3g)."""
    cfg = run_config(quick=quick, net_kind=net_kind, n_frames=n_frames, epochs=epochs,
                     n_train=n_train, n_test=n_test, seed=seed)
    noises = _floats(write_noises, "--write-noise")
    for v in noises:
        check_range("write noise", v, 0.0, 10.0)
    _check_data_path(data_path)
    with prepare_run_dir(run_dir if run_dir is not None
                         else new_run_dir("snn-compare")) as run_dir:
        split = split_frames(cfg, load_data(data_path, as_json))
        evals = cfg.n_test * (2 + 2 * len(noises))
        with tqdm(total=2 * cfg.net.epochs, desc="training", disable=as_json,
                  unit="epoch") as bt, \
                tqdm(total=evals, desc="evaluation", disable=as_json, unit="sample") as be:
            comp = compare(cfg, hardware, sim, split, write_noises=tuple(noises),
                           on_epoch=_epoch_bar(bt), on_eval=be.update)
        summary = write_comparison(comp, cfg, hardware, sim, run_dir)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for r in comp.rows:
        click.echo(f"{r['method']:<30} {r['platform']:<10} {100 * r['accuracy']:6.2f} %")
    for p in comp.noise:
        click.echo(f"write noise {p['write_noise']:g}: weight tuning "
                   f"{100 * p['weight_tuning']:.2f} %, memristor pruning "
                   f"{100 * p['memristor_pruning']:.2f} %")
    click.echo(f"wrote {run_dir}")
