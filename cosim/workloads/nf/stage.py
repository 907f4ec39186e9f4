"""The neural-field stage of the main job (``cosim run``): the quick dense task.

:class:`FieldStage` is the ``[field]`` section (its defaults are the quick
setting that ``cosim field run --quick`` also uses: an 8 x 48 x 48 phantom,
300 Adam steps of 4096 voxels, HAQ 14/14/12 bits at s = 1.5);
:func:`compute_field_stage` trains, deploys (HAQ and PTQ) and evaluates it.
Register it in :data:`cosim.stages.STAGES` as a workload stage (compute here,
the one writer :func:`cosim.outputs.results.write_result` there; its
``workload.json`` is what ``report`` prices)::

    from cosim.workloads.nf.stage import FieldStage, compute_field_stage, field_headline

    Stage(name="field", config=FieldStage, run=workload_stage(compute_field_stage),
          from_run=("seed",), headline=field_headline,
          description="neural-field CT: software vs HAQ vs PTQ (quick setting)"),
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from circuits.errors import ConfigError
from cosim.workloads.nf.encoder import EncoderConfig
from cosim.workloads.nf.field import NeuralFieldConfig, NeuralFieldResult, run_neural_field
from cosim.workloads.nf.mlp import PAPER_MLP, WIDE, TrainConfig

QUICK_SHAPE = (8, 48, 48)
QUICK_STEPS = 300
QUICK_BATCH = 4096


@dataclass(frozen=True, kw_only=True)
class FieldStage:
    """``[field]``: the neural field on the quick setting.

    Attributes:
        slices, height, width: phantom size.
        steps: Adam steps (dense task).
        batch: voxels per step (0: all).
        learning_rate: Adam's step size.
        encoding: ``gaussian``, ``positional``, ``basic`` or ``none``.
        sigma: scale of the encoding's ``B``: the Gaussian's std (NF code 4);
            a positional encoding wants its own (its default is 32,
            :data:`cosim.workloads.nf.encoder.DEFAULT_SCALES`).
        wide: the wider network (:data:`cosim.workloads.nf.mlp.WIDE`) instead of
            the paper's.
        bits_input, bits_hidden, bits_output: HAQ/PTQ cells per weight of the
            input, hidden and output matrices (NF paper 14/14/12).
        amp_ratio: HAQ's ``s``.
        write_noise: LRS write-noise std, fraction of g_LRS (NF code 0.15).
        read_noise: read-noise amplitude, fresh at every read.
        backend: tile backend: ``ideal`` or ``calibrated``.
        read_path: ``paper`` (default: the stage stays fast) or ``realistic``
            (1T1R, 1.06 ohm, TIA, IR-aware placement, 3 HAQ passes: minutes
            for the paper's network, most of it HAQ's transfer verify reads).
        seed: seed of every draw (from ``[run]``).
    """

    slices: int = QUICK_SHAPE[0]
    height: int = QUICK_SHAPE[1]
    width: int = QUICK_SHAPE[2]
    steps: int = QUICK_STEPS
    batch: int = QUICK_BATCH
    learning_rate: float = 1e-3
    encoding: str = "gaussian"
    sigma: float = 4.0
    wide: bool = False
    bits_input: int = 14
    bits_hidden: int = 14
    bits_output: int = 12
    amp_ratio: float = 1.5
    write_noise: float = 0.15
    read_noise: float = 0.0
    backend: str = "ideal"
    read_path: str = "paper"
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.wide, bool):
            raise ConfigError(f"wide must be true or false, got {self.wide!r}")
        self.field_config()  # every value checked by the workload's own configs

    def field_config(self) -> NeuralFieldConfig:
        """The workload's config."""
        return NeuralFieldConfig(
            phantom_shape=(self.slices, self.height, self.width),
            bits=(self.bits_input, self.bits_hidden, self.bits_output),
            encoder=EncoderConfig(kind=self.encoding, sigma=self.sigma),
            mlp=WIDE if self.wide else PAPER_MLP,
            training=TrainConfig(steps=self.steps, batch=self.batch,
                                 learning_rate=self.learning_rate, seed=self.seed),
            amp_ratio=self.amp_ratio, write_noise=self.write_noise, read_noise=self.read_noise,
            backend=self.backend, read_path=self.read_path, seed=self.seed)


def compute_field_stage(cfg: FieldStage) -> NeuralFieldResult:
    """Train, deploy (HAQ and PTQ) and evaluate the quick neural field; no files.

    The result is a :class:`cosim.outputs.results.WorkloadResult` (``summary``,
    ``tables``: metrics, metrics per slice, training loss; ``workload``: the
    HAQ pass's counted events), written by the main job's one writer.
    """
    return run_neural_field(cfg.field_config())


def field_headline(summary: dict[str, Any]) -> str:
    """One console line of the stage's summary."""
    return (f"PSNR software {summary['psnr_software']:.2f} / HAQ {summary['psnr_haq']:.2f} / "
            f"PTQ {summary['psnr_ptq']:.2f} dB, SSIM HAQ {summary['ssim_haq']:.3f}")
