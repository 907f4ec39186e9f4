"""The neural-field stage of the main job (``cosim run``): the quick dense task.

:class:`FieldStage` is the ``[field]`` section (its defaults are the quick
setting that ``cosim field run --quick`` also uses: an 8 x 48 x 48 phantom,
300 Adam steps of 4096 voxels, HAQ 14/14/12 bits at s = 1.5);
:func:`compute_field_stage` trains, deploys (HAQ and PTQ) and evaluates it.
The stage (:data:`cosim.stages.STAGES`) computes here and writes with the
field's one writer, as ``cosim field run --quick`` does; its ``workload.json``
is what ``report`` prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from circuits.errors import ConfigError
from cosim.engine.options import SimOptions
from cosim.hardware.presets import load_hardware
from cosim.hardware.spec import HardwareSpec
from cosim.workloads.field.encoder import DEFAULT_SCALES, EncoderConfig
from cosim.workloads.field.field import FieldConfig, FieldResult, run_field
from cosim.workloads.field.mlp import PAPER_MLP, WIDE, TrainConfig

QUICK_SHAPE = (8, 48, 48)
QUICK_STEPS = 300
QUICK_BATCH = 4096
QUICK_ENCODER_READS = 16
"""Reads of the Gaussian encoder's projection the quick setting averages per voxel:
the realistic preset's read noise on the projection falls four-fold."""
QUICK_LAYER_READS = 1
"""Reads of every network matrix the quick setting averages per voxel."""


@dataclass(frozen=True, kw_only=True)
class FieldStage:
    """``[field]``: the neural field on the quick setting.

    Attributes:
        slices, height, width: phantom size.
        steps: Adam steps (dense task).
        batch: voxels per step (0: all).
        learning_rate: Adam's step size.
        encoding: ``gaussian``, ``positional``, ``basic`` or ``none``.
        sigma: scale of the encoding's ``B``: the Gaussian's std (the field's
            default 2; NF code 4); a positional encoding wants its own (its default is 32,
            :data:`cosim.workloads.field.encoder.DEFAULT_SCALES`).
        encoder_reads: analog reads of the Gaussian encoder's projection averaged
            per voxel (:class:`cosim.workloads.field.encoder.EncoderConfig`;
            :data:`QUICK_ENCODER_READS`).
        layer_reads: analog reads of every network matrix averaged per voxel
            (:class:`cosim.workloads.field.field.FieldConfig`; :data:`QUICK_LAYER_READS`).
        wide: the wider network (:data:`cosim.workloads.field.mlp.WIDE`) instead of
            the paper's.
        bits_input, bits_hidden, bits_output: HAQ/PTQ cells per weight of the
            input, hidden and output matrices (NF paper 14/14/12).
        amp_ratio: HAQ's ``s``.
        hardware: the hardware of this stage: a preset name or TOML file, or ``""`` for
            the job's ``[hardware]`` (the default).
        seed: seed of every draw (from ``[run]``).
    """

    slices: int = QUICK_SHAPE[0]
    height: int = QUICK_SHAPE[1]
    width: int = QUICK_SHAPE[2]
    steps: int = QUICK_STEPS
    batch: int = QUICK_BATCH
    learning_rate: float = 1e-3
    encoding: str = "gaussian"
    sigma: float = DEFAULT_SCALES["gaussian"]
    encoder_reads: int = QUICK_ENCODER_READS
    layer_reads: int = QUICK_LAYER_READS
    wide: bool = False
    bits_input: int = 14
    bits_hidden: int = 14
    bits_output: int = 12
    amp_ratio: float = 1.5
    hardware: str = ""
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.wide, bool):
            raise ConfigError(f"wide must be true or false, got {self.wide!r}")
        self.field_config()  # every value checked by the workload's own configs
        if self.hardware:
            load_hardware(self.hardware)  # an unknown preset or a bad file, before any work

    def field_config(self) -> FieldConfig:
        """The workload's config."""
        return FieldConfig(
            phantom_shape=(self.slices, self.height, self.width),
            bits=(self.bits_input, self.bits_hidden, self.bits_output),
            encoder=EncoderConfig(kind=self.encoding, sigma=self.sigma,
                                  reads=self.encoder_reads),
            mlp=WIDE if self.wide else PAPER_MLP,
            training=TrainConfig(steps=self.steps, batch=self.batch,
                                 learning_rate=self.learning_rate, seed=self.seed),
            amp_ratio=self.amp_ratio, layer_reads=self.layer_reads, seed=self.seed)


def compute_field_stage(cfg: FieldStage, hardware: HardwareSpec, sim: SimOptions
                        ) -> FieldResult:
    """Train, deploy (HAQ and PTQ) and evaluate the quick neural field; no files (the
    field's one writer, :func:`cosim.outputs.field.write_field_run`, writes the folder)."""
    return run_field(cfg.field_config(), hardware, sim)


def field_headline(summary: dict[str, Any]) -> str:
    """One console line of the stage's summary."""
    return (f"PSNR software {summary['psnr_software']:.2f} / HAQ {summary['psnr_haq']:.2f} / "
            f"PTQ {summary['psnr_ptq']:.2f} dB, SSIM HAQ {summary['ssim_haq']:.3f}")
