"""The inpainting stage of the main job (``cosim run``): ``cosim inpaint run --quick`` as a
stage.

The stage (:data:`cosim.stages.STAGES`) trains on the bundled MNIST digits,
evaluates on the stage's hardware and writes its folder with the workload's
one writer (:func:`cosim.outputs.inpaint.write_run`); its ``workload.json``
(one image, ``T`` steps) is what the report stage prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from circuits.errors import check_int
from cosim.engine.options import SimOptions
from cosim.hardware.presets import load_hardware
from cosim.hardware.spec import HardwareSpec
from cosim.workloads.inpaint.data import inpainting_set
from cosim.workloads.inpaint.experiment import (
    InpaintResult,
    InpaintRunConfig,
    classifier_for,
    evaluate,
    split,
    train_both,
)
from cosim.workloads.inpaint.network import VAEConfig
from cosim.workloads.snn.data import mnist_digits


@dataclass(frozen=True, kw_only=True)
class InpaintStage:
    """``[inpaint]``: the spiking-VAE inpainting on the quick setting.

    Attributes:
        n_train: training digits of the bundled set.
        n_test: test digits (disjoint from training).
        epochs: training epochs of each VAE (pop-up and weight-trained).
        n_frames: timesteps ``T``.
        hardware: the hardware of this stage: a preset name or TOML file, or ``""`` for
            the job's ``[hardware]``.
        seed: seed of the split, the forming draws, the scores, the latent samples and
            the read noise (from ``[run]``).
    """

    n_train: int = 300
    n_test: int = 50
    epochs: int = 2
    n_frames: int = 4
    hardware: str = "prime"
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_train", self.n_train, 1, 10**7)
        check_int("n_test", self.n_test, 1, 10**7)
        check_int("epochs", self.epochs, 1, 10_000)
        check_int("n_frames", self.n_frames, 1, 1000)
        check_int("seed", self.seed, 0, 2**63 - 1)
        if self.hardware:
            load_hardware(self.hardware)  # an unknown preset or a bad file, before any work

    def run_config(self) -> InpaintRunConfig:
        """The run this stage makes (seeds above 2**31 - 1 are folded into range)."""
        seed = self.seed % (2**31 - 1)
        return InpaintRunConfig(net=VAEConfig(n_frames=self.n_frames, epochs=self.epochs,
                                              seed=seed),
                                n_train=self.n_train, n_test=self.n_test, seed=seed)


def run_inpaint(cfg: InpaintRunConfig, hardware: HardwareSpec, sim: SimOptions
                ) -> InpaintResult:
    """Train both VAEs and the classifier on the bundled digits, evaluate on ``hardware``
    (no progress bars, no files)."""
    train_set, test = split(cfg, inpainting_set(*mnist_digits(), mask_px=cfg.mask_px))
    clf = classifier_for(train_set, None, cfg.classifier_epochs, cfg.seed)
    return evaluate(cfg, hardware, sim, train_both(cfg, train_set), test, clf)


def compute_inpaint_stage(cfg: InpaintStage, hardware: HardwareSpec, sim: SimOptions
                          ) -> InpaintResult:
    """The stage's computation (:func:`run_inpaint` of :meth:`InpaintStage.run_config`)."""
    return run_inpaint(cfg.run_config(), hardware, sim)


def inpaint_headline(s: dict[str, Any]) -> str:
    """One console line of the stage's summary."""
    es = s["early_stop"]
    return (f"masked MSE {s['mse_masked_hardware']:.3f} on hardware (software "
            f"{s['mse_masked_software']:.3f}); early stop {es['threshold']:g}: "
            f"{es['avg_timesteps']:.2f} of {s['T']} steps")
