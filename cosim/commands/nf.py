"""``cosim field run``: the neural field, trained, deployed with HAQ and PTQ, evaluated.

Run folder: see :mod:`cosim.outputs.neural_field`. Every input is checked
(config, volume file) before the run folder is made and before any work.
"""

from __future__ import annotations

from pathlib import Path

import click

from circuits.errors import ConfigError
from cosim.outputs.jsonout import emit_json
from cosim.outputs.outpath import OutputPath
from cosim.outputs.rundir import new_run_dir, prepare_run_dir

QUICK = {"shape": (8, 48, 48), "steps": 300, "batch": 4096}
"""``--quick``: a smaller phantom and fewer steps (well under 3 minutes on 2 cores)."""


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


@field_group.command("run")
@click.option("--quick", is_flag=True, help="Small phantom (8x48x48), 300 steps.")
@click.option("--volume", "volume_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Volume file: .npy, .npz, .nii, .nii.gz [default: phantom].")
@click.option("--frame", type=int, default=None, help="Frame of a 4D volume (0-based).")
@click.option("--phantom", "phantom", default="40x128x128", show_default=True,
              help="Phantom size SLICESxHEIGHTxWIDTH when no --volume.")
@click.option("--backend", default="ideal", show_default=True,
              help="Tile backend of every layer: ideal or calibrated.")
@click.option("--bits", default="14,14,12", show_default=True,
              help="Cells per weight: input,hidden,output matrices.")
@click.option("--amp-ratio", type=float, default=1.5, show_default=True, help="HAQ s (> 1).")
@click.option("--write-noise", type=float, default=0.15, show_default=True,
              help="LRS write-noise std, fraction of g_LRS (NF code 0.15).")
@click.option("--read-noise", type=float, default=0.0, show_default=True,
              help="Read-noise amplitude, fresh at every read (PRIME eq. 7).")
@click.option("--r-wire", "r_wire_ohm", type=float, default=0.0, show_default=True,
              help="Wire resistance per cell segment (ohm); 0 is the paper's setting.")
@click.option("--encoding", default="gaussian", show_default=True,
              help="gaussian, positional, basic or none.")
@click.option("--sigma", type=float, default=4.0, show_default=True,
              help="Std of the Gaussian encoder's B (NF code: 4).")
@click.option("--wide", is_flag=True, help="The wider network (4 ReLU layers of 256).")
@click.option("--steps", type=int, default=None, help="Training steps [2000; quick 300].")
@click.option("--batch", type=int, default=None, help="Voxels per step [16384; quick 4096].")
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--out", "run_dir", type=OutputPath(path_type=Path, file_okay=False),
              default=None, help="Run folder [default: results/field-<timestamp>].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def field_run_command(quick: bool, volume_path: Path | None, frame: int | None, phantom: str,
                      backend: str, bits: str, amp_ratio: float, write_noise: float,
                      read_noise: float, r_wire_ohm: float, encoding: str, sigma: float,
                      wide: bool, steps: int | None, batch: int | None, lr: float, seed: int,
                      run_dir: Path | None, as_json: bool) -> None:
    """Train the neural field (dense), deploy it with HAQ and PTQ, report PSNR/SSIM."""
    from cosim.workloads.nf.encoder import EncoderConfig
    from cosim.workloads.nf.field import NeuralFieldConfig, run_neural_field
    from cosim.workloads.nf.mlp import PAPER_MLP, WIDE, TrainConfig
    from cosim.workloads.nf.volume import load_volume

    shape = QUICK["shape"] if quick else parse_shape(phantom)
    training = TrainConfig(steps=steps if steps is not None else
                           (QUICK["steps"] if quick else 2000),
                           batch=batch if batch is not None else
                           (QUICK["batch"] if quick else 16384), learning_rate=lr, seed=seed)
    cfg = NeuralFieldConfig(phantom_shape=shape, encoder=EncoderConfig(kind=encoding,
                                                                       sigma=sigma),
                            mlp=WIDE if wide else PAPER_MLP, training=training,
                            bits=parse_bits(bits), amp_ratio=amp_ratio, write_noise=write_noise,
                            read_noise=read_noise, backend=backend, r_wire_ohm=r_wire_ohm,
                            seed=seed)
    volume = None
    if volume_path is not None:
        volume = load_volume(volume_path, frame)
    elif frame is not None:
        raise ConfigError("--frame needs --volume")
    from cosim.outputs.neural_field import write_neural_field

    with prepare_run_dir(run_dir if run_dir is not None else new_run_dir("field")) as run_dir:
        bars: dict[str, object] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if as_json:
                return
            from tqdm import tqdm

            bar = bars.get(phase)
            if bar is None:
                bar = bars[phase] = tqdm(total=total, desc=phase, unit="step" if
                                         phase == "train" else "voxel", leave=False)
            bar.update(done - bar.n)
            if done >= total:
                bar.close()

        result = run_neural_field(cfg, volume, progress=progress)
        summary = write_neural_field(result, run_dir)
    summary["run_dir"] = str(run_dir)
    if as_json:
        emit_json(summary)
        return
    for m in ("software", "software_hw_features", "haq", "ptq"):
        click.echo(f"{m:>22}: PSNR {summary[f'psnr_{m}']:6.2f} dB   SSIM "
                   f"{summary[f'ssim_{m}']:.3f}")
    click.echo(f"read path: {summary['read_path']}")
    click.echo(f"wrote {run_dir}")
