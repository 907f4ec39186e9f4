"""``cosim inpaint``: image inpainting with a fully spiking VAE on pruned random pairs
(PRIME's second task).

- ``run``: train (pop-up VAE and the weight-trained baseline) and evaluate in one go;
- ``train``: train only, a checkpoint after every epoch (Ctrl-C keeps the last one;
  ``--resume`` continues);
- ``eval``: a trained folder's VAE on analog layers, at every early-stop threshold;
- ``sweep-noise``: masked MSE vs read-noise scale and threshold (PRIME Fig. 5e).

``run`` and ``train`` take ``--export onnx``: the trained pop-up VAE as ONNX
(:mod:`cosim.workloads.inpaint.export`) with the test split's inputs, for
``cosim deploy``.

Run folders: see :mod:`cosim.outputs.inpaint`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

import click
import pandas as pd
from tqdm import tqdm

from circuits.errors import ConfigError, check_int, split_items
from cosim.commands.export import check_export, export_network, export_option
from cosim.commands.options import HardwareChoice, SimChoice, hardware_options, sim_options
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.outputs.inpaint import (
    CHECKPOINT,
    load_checkpoint,
    save_checkpoint,
    write_noise_sweep,
    write_run,
)
from cosim.outputs.jsonout import emit_json
from cosim.outputs.manifest import new_manifest, write_manifest
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir
from cosim.workloads.inpaint.data import InpaintSet, inpainting_set, load_images
from cosim.workloads.inpaint.experiment import (
    DEFAULT_NOISES,
    DEFAULT_THRESHOLDS,
    ROWS,
    InpaintRunConfig,
    Trained,
    classifier_for,
    evaluate,
    metrics,
    split,
    sweep_read_noise,
    train_both,
)
from cosim.workloads.inpaint.network import VAEConfig
from cosim.workloads.inpaint.stage import InpaintStage
from cosim.workloads.snn.data import mnist_digits

HARDWARE = "prime"
"""The default hardware preset (PRIME's)."""
QUICK = {"n_train": InpaintStage().n_train, "n_test": InpaintStage().n_test,
         "epochs": InpaintStage().epochs, "n_frames": InpaintStage().n_frames}
"""``--quick``: the settings of the main job's inpainting stage."""
FULL = {"n_train": 4000, "n_test": 1000, "epochs": None, "n_frames": None}
"""The default run: 4,000 train and 1,000 test digits; ``None``: :class:`VAEConfig`'s."""


@click.group("inpaint")
def inpaint_group() -> None:
    """PRIME inpainting: spiking VAE on pruned random pairs, early stop by the decoder."""


def _out_options(f):
    f = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")(f)
    return click.option("-o", "--out", "run_dir",
                        type=OutputPath(path_type=Path, file_okay=False), default=None,
                        help="Run folder [default: results/inpaint-<timestamp>].")(f)


def _data_option(f):
    return click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
                        help="Images (and labels): a folder with images.npy [labels.npy] or "
                             "IDX *images* [*labels*] files (plain or .gz), or one images "
                             "file; up to 32 x 32 pixels [default: the bundled 5,000 MNIST "
                             "digits].")(f)


def _training_options(f):
    for opt in reversed((
        click.option("--quick", is_flag=True, help="Small subset and budget (about a minute)."),
        click.option("--frames", "n_frames", type=int, default=None,
                     help=f"Timesteps T [{VAEConfig().n_frames}; quick {QUICK['n_frames']}]."),
        click.option("--epochs", type=int, default=None,
                     help=f"Training epochs [{VAEConfig().epochs}; quick {QUICK['epochs']}]."),
        click.option("--train", "n_train", type=int, default=None,
                     help="Training images [4000; quick 300]."),
        click.option("--test", "n_test", type=int, default=None,
                     help="Test images [1000; quick 50]."),
        click.option("--mask", "mask_px", type=int, default=8, show_default=True,
                     help="Side of the removed central square, pixels."),
        click.option("--seed", type=int, default=0, show_default=True),
    )):
        f = opt(f)
    return f


def run_config(*, quick: bool, n_frames: int | None, epochs: int | None, n_train: int | None,
               n_test: int | None, mask_px: int, seed: int) -> InpaintRunConfig:
    """The run's config from the command-line settings (quick or full budget)."""
    check_int("--seed", seed, 0, 2**31 - 1)
    if n_frames is not None:
        check_int("--frames (T)", n_frames, 1, 1000)
    base = QUICK if quick else FULL
    net = {k: v for k, v in (("epochs", base["epochs"] if epochs is None else epochs),
                             ("n_frames", base["n_frames"] if n_frames is None else n_frames))
           if v is not None}
    return InpaintRunConfig(net=VAEConfig(seed=seed, **net),
                            n_train=base["n_train"] if n_train is None else n_train,
                            n_test=base["n_test"] if n_test is None else n_test,
                            mask_px=mask_px, seed=seed)


def load_set(data_path: Path | None, mask_px: int) -> tuple[InpaintSet, InpaintSet | None]:
    """The image set (``--data`` or the bundled digits) and, for a user set without
    labels, the bundled digits as the classifier's training set (``None`` if unavailable)."""
    if data_path is None:
        return inpainting_set(*mnist_digits(), mask_px=mask_px), None
    images, labels = load_images(data_path)
    data = inpainting_set(images, labels, mask_px=mask_px)
    ref = None
    if labels is None:
        try:
            ref = inpainting_set(*mnist_digits(), mask_px=min(mask_px, 27))
        except ConfigError:
            ref = None
    return data, ref


def _source(data_path: Path | None) -> str:
    return "" if data_path is None else str(data_path.resolve())


def _floats(text: str, option: str) -> tuple[float, ...]:
    items = split_items(option, text)
    try:
        values = tuple(float(v) for v in items)
    except ValueError:
        raise ConfigError(f"{option} takes numbers separated by commas, got {text!r}") from None
    if not values:
        raise ConfigError(f"{option} is empty; give numbers separated by commas")
    return values


def _resumed(run_dir: Path | None, epochs: int | None, command: str, *, finished_ok: bool):
    """``--resume``: the checkpoint's networks, config (``--epochs`` may raise the total),
    data path, classifier and stored hardware."""
    if run_dir is None:
        raise ConfigError(f"--resume continues a {command} folder; name it with -o")
    trained, cfg, source, clf, stored = load_checkpoint(run_dir)
    if epochs is not None:
        cfg = replace(cfg, net=replace(cfg.net, epochs=epochs))
    done = len(trained.net.history) + (len(trained.baseline.history) if trained.baseline else 0)
    total = 2 * cfg.net.epochs
    if done > total or (not finished_ok and done >= total):
        raise ConfigError(f"{run_dir} has already trained {done} of {total} epochs (pop-up "
                          "and weight-trained VAE); raise --epochs to train on")
    return trained, cfg, Path(source) if source else None, clf, stored


@contextmanager
def _interrupt_note(run_dir: Path, command: str):
    """Ctrl-C: say what the checkpoint keeps and how to go on; exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        what = "no checkpoint yet"
        if (run_dir / CHECKPOINT).exists():
            t = load_checkpoint(run_dir)[0]
            what = (f"{run_dir / CHECKPOINT} keeps {len(t.net.history)} pop-up and "
                    f"{len(t.baseline.history) if t.baseline else 0} weight-trained epochs")
        click.echo(f"interrupted: {what}; continue with: cosim inpaint {command} --resume -o "
                   f"{run_dir}", err=True)
        raise SystemExit(130) from None


def _train(cfg: InpaintRunConfig, train_set: InpaintSet, ref: InpaintSet | None,
           init: Trained | None, clf, run_dir: Path, source: str, quiet: bool, **stored):
    """Train (resumable), saving the checkpoint after every epoch."""
    if clf is None:
        clf = classifier_for(train_set, ref, cfg.classifier_epochs, cfg.seed)
    done = (len(init.net.history) + (len(init.baseline.history) if init and init.baseline
                                     else 0)) if init else 0
    with tqdm(total=2 * cfg.net.epochs, initial=done, desc="training", disable=quiet,
              unit="epoch") as bar:
        def on_epoch(name, row):
            bar.update(1)
            bar.set_postfix(net=name, loss=f"{row['loss']:.3f}")

        trained = train_both(cfg, train_set, init=init, on_epoch=on_epoch,
                             checkpoint=lambda t: save_checkpoint(run_dir, t, cfg, source, clf,
                                                                  **stored))
    save_checkpoint(run_dir, trained, cfg, source, clf, **stored)
    return trained, clf


@inpaint_group.command("run")
@_training_options
@_data_option
@hardware_options(HARDWARE, deferred=True)
@sim_options(deferred=True)
@click.option("--resume", is_flag=True,
              help="Continue the run in -o from its checkpoint (its settings and hardware; "
                   "--epochs may raise the total), then evaluate.")
@export_option
@_out_options
def inpaint_run_command(quick: bool, n_frames: int | None, epochs: int | None,
                        n_train: int | None, n_test: int | None, mask_px: int, seed: int,
                        data_path: Path | None, hardware: HardwareChoice, sim: SimChoice,
                        resume: bool, export_format: str | None, run_dir: Path | None,
                        as_json: bool) -> None:
    """Train the pop-up VAE and its weight-trained baseline, evaluate on analog layers."""
    _check_export(export_format)
    init, clf = None, None
    if resume:
        init, cfg, data_path, clf, stored = _resumed(run_dir, epochs, "run", finished_ok=True)
        hw, sim_ = hardware.resolve(stored[0] or HARDWARE), sim.resolve(stored[1])
    else:
        cfg = run_config(quick=quick, n_frames=n_frames, epochs=epochs, n_train=n_train,
                         n_test=n_test, mask_px=mask_px, seed=seed)
        hw, sim_ = hardware.resolve(HARDWARE), sim.resolve()
    source = _source(data_path)
    train_set, test, ref = _data(cfg, data_path)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("inpaint"),
                         resume=resume, resumable=True) as run_dir:
        with _interrupt_note(run_dir, "run"):
            trained, clf = _train(cfg, train_set, ref, init, clf, run_dir, source, as_json,
                                  hardware=hw, sim=sim_)
            with tqdm(total=2 * cfg.n_test, desc="hardware", disable=as_json,
                      unit="image") as be:
                result = evaluate(cfg, hw, sim_, trained, test, clf, on_eval=be.update)
        summary = write_run(result, run_dir)
        if export_format:
            summary["export"] = _export(run_dir, export_format, trained, cfg, test)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    _echo_rows(result.rows)
    es = summary["early_stop"]
    click.echo(f"early stop at {es['threshold']:g}: masked MSE {es['mse_masked']:.4f}, "
               f"{es['avg_timesteps']:.2f} of {cfg.net.n_frames} timesteps")
    click.echo(f"wrote {run_dir}")


def _check_export(fmt: str | None) -> None:
    """Refuse ``--export`` of a format the VAE cannot be written as, before any work."""
    from cosim.workloads.inpaint.export import EXPORT_FORMATS

    check_export(fmt, EXPORT_FORMATS)


def _export(run_dir: Path, fmt: str, trained: Trained, cfg: InpaintRunConfig,
            test: InpaintSet):
    """``--export``: the pop-up VAE (:func:`cosim.workloads.inpaint.export.vae_graph`) and
    the test split's masked images with the run's latent draws; ``targets`` the unmasked
    images."""
    from cosim.workloads.inpaint.export import exported_inputs, vae_graph

    x = exported_inputs(test.masked, cfg.net, cfg.seed)
    return export_network(run_dir, fmt, vae_graph(trained.net), x, targets=test.target)


def _echo_rows(rows: list[dict]) -> None:
    for r in rows:
        score = f", classifier score {r['score']:.2f}" if r.get("score") is not None else ""
        click.echo(f"{r['row']:34s} masked MSE {r['mse_masked']:.4f}, PSNR "
                   f"{r['psnr_masked_db']:.2f} dB, whole MSE {r['mse_whole']:.4f}{score}")


@inpaint_group.command("train")
@_training_options
@_data_option
@click.option("--resume", is_flag=True,
              help="Continue the training in -o from its checkpoint (its settings; --epochs "
                   "may raise the total).")
@export_option
@_out_options
def inpaint_train_command(quick: bool, n_frames: int | None, epochs: int | None,
                          n_train: int | None, n_test: int | None, mask_px: int, seed: int,
                          data_path: Path | None, resume: bool, export_format: str | None,
                          run_dir: Path | None, as_json: bool) -> None:
    """Train the pop-up VAE and its weight-trained baseline; a checkpoint every epoch."""
    _check_export(export_format)
    init, clf = None, None
    if resume:
        init, cfg, data_path, clf, _ = _resumed(run_dir, epochs, "train", finished_ok=False)
    else:
        cfg = run_config(quick=quick, n_frames=n_frames, epochs=epochs, n_train=n_train,
                         n_test=n_test, mask_px=mask_px, seed=seed)
    source = _source(data_path)
    train_set, test, ref = _data(cfg, data_path)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("inpaint-train"),
                         resume=resume, resumable=True) as run_dir:
        with _interrupt_note(run_dir, "train"):
            trained, clf = _train(cfg, train_set, ref, init, clf, run_dir, source, as_json)
        rows = [{"row": ROWS[0], **metrics(trained.baseline.images(test.masked)[-1], test, clf,
                                           cfg.net.n_frames)},
                {"row": ROWS[1], **metrics(trained.net.images(test.masked)[-1], test, clf,
                                           cfg.net.n_frames)}]
        pd.DataFrame(trained.net.history).to_csv(run_dir / "history.csv", index=False,
                                                 float_format="%.6g")
        summary = {"epochs": len(trained.net.history), "rows": rows,
                   "train_history": trained.net.history,
                   "baseline_history": trained.baseline.history, "checkpoint": CHECKPOINT,
                   "data": source or "bundled MNIST digits (5,000)"}
        write_manifest(run_dir, new_manifest("inpaint train", simulator=False,
                                             config=asdict(cfg), seeds={"seed": cfg.seed},
                                             **summary))
        if export_format:
            summary["export"] = _export(run_dir, export_format, trained, cfg, test)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    _echo_rows(rows)
    click.echo(f"wrote {run_dir}")


def _data(cfg: InpaintRunConfig, data_path: Path | None
          ) -> tuple[InpaintSet, InpaintSet, InpaintSet | None]:
    """Train set, test set and the classifier's fallback set, read and checked before any
    work (and before the run folder is made)."""
    data, ref = load_set(data_path, cfg.mask_px)
    train_set, test = split(cfg, data)
    return train_set, test, ref


def _evaluation(trained_dir: Path, data_path: Path | None):
    trained, cfg, source, clf, _ = load_checkpoint(trained_dir)
    if data_path is None and source:
        data_path = Path(source)
    return trained, cfg, clf, _data(cfg, data_path)[1]


@inpaint_group.command("eval")
@click.argument("trained_dir", metavar="TRAINED", type=click.Path(path_type=Path))
@_data_option
@hardware_options(HARDWARE)
@sim_options
@click.option("--thresholds", default=",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS),
              show_default=True, help="Early-stop thresholds (mean change per pixel between "
                                      "frames; 0: no early stop), comma-separated.")
@_out_options
def inpaint_eval_command(trained_dir: Path, data_path: Path | None, hardware: HardwareSpec,
                         sim: SimOptions, thresholds: str, run_dir: Path | None,
                         as_json: bool) -> None:
    """Evaluate a trained folder's VAEs (TRAINED: a train or run folder) on analog layers."""
    values = _floats(thresholds, "--thresholds")
    trained, cfg, clf, test = _evaluation(trained_dir, data_path)
    cfg = replace(cfg, thresholds=values)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("inpaint-eval")
                         ) as run_dir:
        with tqdm(total=2 * cfg.n_test, desc="hardware", disable=as_json, unit="image") as be:
            result = evaluate(cfg, hardware, sim, trained, test, clf, on_eval=be.update)
        summary = write_run(result, run_dir, "inpaint eval")
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    _echo_rows(result.rows)
    click.echo(f"wrote {run_dir}")


@inpaint_group.command("sweep-noise")
@click.argument("trained_dir", metavar="TRAINED", type=click.Path(path_type=Path))
@_data_option
@hardware_options(HARDWARE, exclude=("noise.read",))
@sim_options
@click.option("--read-noise", "noises", default=",".join(f"{v:g}" for v in DEFAULT_NOISES),
              show_default=True, help="Read-noise scales (PRIME eq. 7), comma-separated.")
@click.option("--thresholds", default="0,0.005,0.02", show_default=True,
              help="Early-stop thresholds, comma-separated.")
@_out_options
def inpaint_sweep_noise_command(trained_dir: Path, data_path: Path | None,
                                hardware: HardwareSpec, sim: SimOptions, noises: str,
                                thresholds: str, run_dir: Path | None, as_json: bool) -> None:
    """Masked MSE vs read-noise scale and early-stop threshold (PRIME Fig. 5e)."""
    values = _floats(noises, "--read-noise")
    for v in values:
        hardware.with_parts(noise={"read": v})  # validates before any work
    ths = _floats(thresholds, "--thresholds")
    trained, cfg, clf, test = _evaluation(trained_dir, data_path)
    cfg = replace(cfg, thresholds=ths)
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("inpaint-noise")
                         ) as run_dir:
        with tqdm(total=cfg.n_test * len(values), desc="hardware", disable=as_json,
                  unit="image") as be:
            points = sweep_read_noise(cfg, hardware, sim, trained.net, test, clf, values,
                                      on_point=be.update)
        summary = write_noise_sweep(points, cfg, hardware, sim, run_dir, {})
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for p in points:
        click.echo(f"read noise {p['read_noise']:g}, threshold {p['threshold']:g}: masked MSE "
                   f"{p['mse_masked']:.4f}, {p['avg_timesteps']:.2f} timesteps")
    click.echo(f"wrote {run_dir}")
