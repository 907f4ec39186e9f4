"""The SNN stage of the main job (``cosim run``): ``cosim snn run --quick`` as a stage.

The stage (:data:`cosim.stages.STAGES`) trains on the synthesised N-MNIST set
(cached under ``results/.cache/snn``), evaluates on the stage's hardware and
writes its folder with the SNN's one writer, as ``cosim snn run --quick`` does
(:func:`cosim.outputs.snn.write_run`); its ``workload.json`` (one inference,
``T`` steps) is what the report stage prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from circuits.errors import check_int, check_range
from cosim.engine.options import SimOptions
from cosim.hardware.presets import load_hardware
from cosim.hardware.spec import HardwareSpec
from cosim.paths import SNN_CACHE_DIR
from cosim.workloads.snn.data import cached_events, mnist_digits
from cosim.workloads.snn.dvs import DVSConfig, EventSet
from cosim.workloads.snn.experiment import SNNRunConfig, SNNRunResult, run_snn
from cosim.workloads.snn.network import SNNConfig

CACHE_DIR = SNN_CACHE_DIR
"""Where synthesised events are kept between runs."""


@dataclass(frozen=True, kw_only=True)
class SnnStage:
    """``[snn]``: the PRIME SNN on the quick setting.

    Attributes:
        n_train: training samples of the synthesised N-MNIST set (5,000 in all).
        n_test: test samples (disjoint from training).
        epochs: training epochs of the pop-up scores.
        lr: Adam's peak learning rate (cosine decay over the epochs); a short
            training wants a larger step than the full run's
            (:class:`cosim.workloads.snn.network.SNNConfig`).
        n_frames: timesteps ``T``.
        hardware: the hardware of this stage: a preset name or TOML file, or ``""`` for
            the job's ``[hardware]`` (the default).
        seed: seed of the split, the forming draw, the scores and the read noise
            (from ``[run]``).
    """

    n_train: int = 4000
    n_test: int = 1000
    epochs: int = 5
    lr: float = 1e-2
    n_frames: int = 10
    hardware: str = ""
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_train", self.n_train, 1, 10**7)
        check_int("n_test", self.n_test, 1, 10**7)
        check_int("epochs", self.epochs, 1, 10_000)
        check_range("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_int("n_frames", self.n_frames, 1, 1000)
        check_int("seed", self.seed, 0, 2**63 - 1)
        if self.hardware:
            load_hardware(self.hardware)  # an unknown preset or a bad file, before any work

    def run_config(self) -> SNNRunConfig:
        """The run this stage makes (seeds above 2**31 - 1 are folded into range)."""
        seed = self.seed % (2**31 - 1)
        return SNNRunConfig(
            net=SNNConfig(n_frames=self.n_frames, epochs=self.epochs, lr=self.lr, seed=seed),
            n_train=self.n_train, n_test=self.n_test, seed=seed)


def default_events(cache_dir: Path = CACHE_DIR, progress: bool = False) -> EventSet:
    """The synthesised N-MNIST set from the bundled MNIST digits (cached)."""
    images, labels = mnist_digits()
    with tqdm(total=len(labels), desc="synthesis", disable=not progress, unit="sample",
              leave=False) as bar:
        data, _ = cached_events(images, labels, DVSConfig(), cache_dir, progress=bar.update)
    return data


HEADLINE_THRESHOLD = 0.3
"""The early-stop threshold the stage's headline shows: PRIME's point (Fig. 3b: 94.9 %
with 77 % fewer timesteps at 0.3)."""


def early_stop_pick(points: list[dict], threshold: float = HEADLINE_THRESHOLD) -> dict:
    """The early-stop row nearest ``threshold`` among a run's ``points`` (its summary's
    ``points``, one row per threshold)."""
    return min(points, key=lambda r: abs(r["threshold"] - threshold))


def compute_snn_stage(cfg: SnnStage, hardware: HardwareSpec, sim: SimOptions,
                      data: EventSet | None = None) -> SNNRunResult:
    """Train and evaluate the quick SNN on ``hardware`` (no progress bars, no files but the
    event cache; :func:`cosim.outputs.snn.write_run` writes the folder).

    Args:
        data: the events to split (default: the synthesised N-MNIST set).
    """
    return run_snn(cfg.run_config(), hardware, sim,
                   default_events() if data is None else data)


def snn_headline(s: dict[str, Any]) -> str:
    """One console line of the stage's summary: accuracy on hardware and in software, and
    the early stop at PRIME's threshold (its accuracy and the timesteps it saves)."""
    es = early_stop_pick(s["points"])
    return (f"accuracy {100 * s['accuracy']:.1f} % at T (software "
            f"{100 * s['software_accuracy']:.1f} %); early stop {es['threshold']:g}: "
            f"{100 * es['accuracy']:.1f} % with {100 * es['timesteps_saved']:.0f} % fewer steps")
