"""``cosim snn run``: the PRIME spiking-network workload, train and evaluate in one go.

Run folder: see :func:`cosim.outputs.snn.write_run`.
"""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from circuits.errors import ConfigError, check_int
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import RESULTS_ROOT, new_run_dir, prepare_run_dir
from cosim.outputs.snn import write_run, zero_peak_fraction
from cosim.workloads.snn.data import cached_events, load_user_data, mnist_digits
from cosim.workloads.snn.deployed import DeployConfig
from cosim.workloads.snn.dvs import DVSConfig
from cosim.workloads.snn.experiment import SNNRunConfig, run_snn
from cosim.workloads.snn.network import SNNConfig

QUICK = {"n_train": 1000, "n_test": 300, "epochs": 4}
CACHE_DIR = RESULTS_ROOT / ".cache" / "snn"


@click.group("snn")
def snn_group() -> None:
    """PRIME SNN: random memristor pairs, pop-up pruning, LIF timestep loop, early stop."""


@snn_group.command("run")
@click.option("--quick", is_flag=True, help="Small subset and budget (about 1-3 minutes).")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
              help="N-MNIST folder, or images+labels (.npy or IDX) to convert to events.")
@click.option("--backend", default="calibrated", show_default=True,
              help="Tile backend: ideal, calibrated, spice.")
@click.option("--read-noise", type=float, default=0.0, show_default=True,
              help="Read-noise scale (PRIME eq. 7), fresh at every timestep.")
@click.option("--frames", "n_frames", type=int, default=10, show_default=True,
              help="Timesteps T.")
@click.option("--epochs", type=int, default=None, help="Training epochs [15; quick 4].")
@click.option("--train", "n_train", type=int, default=None, help="Training samples [4000].")
@click.option("--test", "n_test", type=int, default=None, help="Test samples [1000].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/snn-<timestamp>].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def snn_run_command(quick: bool, data_path: Path | None, backend: str, read_noise: float,
                    n_frames: int, epochs: int | None, n_train: int | None, n_test: int | None,
                    seed: int, run_dir: Path | None, as_json: bool) -> None:
    """Train pop-up scores on synthesised N-MNIST and evaluate on analog tiles."""
    base = QUICK if quick else {"n_train": 4000, "n_test": 1000, "epochs": 15}
    cfg = SNNRunConfig(
        net=SNNConfig(n_frames=n_frames, epochs=base["epochs"] if epochs is None else epochs,
                      seed=seed),
        hardware=DeployConfig(backend=backend, read_noise=read_noise, seed=seed),
        n_train=base["n_train"] if n_train is None else n_train,
        n_test=base["n_test"] if n_test is None else n_test, seed=seed)
    check_int("--seed", seed, 0, 2**31 - 1)
    if data_path is not None and not data_path.is_dir():
        raise ConfigError(f"--data {data_path} is not a folder (expected an N-MNIST folder, "
                          "or images and labels as .npy or IDX files)")
    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("snn")) as run_dir:
        quiet = as_json
        if data_path is not None:
            with tqdm(desc="events", disable=quiet, unit="sample") as bar:
                data = load_user_data(data_path, DVSConfig(), CACHE_DIR, progress=bar.update)
        else:
            images, labels = mnist_digits()
            with tqdm(total=len(labels), desc="synthesis", disable=quiet, unit="sample") as bar:
                data, _ = cached_events(images, labels, DVSConfig(), CACHE_DIR,
                                        progress=bar.update)
        with tqdm(total=cfg.net.epochs, desc="training", disable=quiet, unit="epoch") as bt, \
                tqdm(total=cfg.n_test, desc="evaluation", disable=quiet, unit="sample") as be:
            def on_epoch(row):
                bt.update(1)
                bt.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['train_accuracy']:.3f}")
            result = run_snn(cfg, data, on_epoch=on_epoch, on_eval=be.update)
        summary = write_run(result, run_dir)
    summary["run_dir"] = str(run_dir)
    summary["zero_peak_fraction_after_pruning"] = zero_peak_fraction(result.g_diff_after)
    if as_json:
        emit_json(summary)
        return
    es = summary["early_stop"]
    click.echo(f"accuracy {100 * result.accuracy:.2f} % at T = {n_frames} on {backend} "
               f"(software {100 * result.software_accuracy:.2f} %, random untrained "
               f"{100 * result.random_accuracy:.2f} %)")
    click.echo(f"early stop at {es['threshold']:g}: {100 * es['accuracy']:.2f} %, "
               f"{es['avg_timesteps']:.2f} timesteps ({100 * es['timesteps_saved']:.0f} % fewer)")
    click.echo(f"wrote {run_dir}")
