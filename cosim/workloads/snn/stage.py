"""The SNN stage of the main job (``cosim run``): ``cosim snn run --quick`` as a stage.

Register it in :data:`cosim.stages.STAGES` (a workload stage: compute here,
the one writer :func:`cosim.outputs.results.write_result` there)::

    from cosim.workloads.snn.stage import SnnStage, compute_snn_stage, snn_headline

    Stage(name="snn", config=SnnStage, run=workload_stage(compute_snn_stage),
          from_run=("seed",), headline=snn_headline,
          description="PRIME SNN: pop-up pruning of random pairs, LIF loop on the tiles, "
                      "early stop (quick setting)"),

The stage trains on the synthesised N-MNIST set (cached under
``results/.cache/snn``), evaluates on the tiles and returns tables (early-stop
thresholds, confusion matrix, training history, energy per inference with and
without early stop) and the workload its timestep loop counted (one
inference, ``T`` steps), which the report stage prices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from circuits.errors import check_int, check_range
from cosim.accounting.workload import Workload
from cosim.outputs.rundir import RESULTS_ROOT
from cosim.workloads.snn.data import cached_events, mnist_digits
from cosim.workloads.snn.deployed import BACKENDS, DeployConfig
from cosim.workloads.snn.dvs import DVSConfig, EventSet
from cosim.workloads.snn.experiment import SNNRunConfig, SNNRunResult, run_snn
from cosim.workloads.snn.ledger import energy_table
from cosim.workloads.snn.network import SNNConfig

CACHE_DIR = RESULTS_ROOT / ".cache" / "snn"
"""Where synthesised events are kept between runs."""


@dataclass(frozen=True, kw_only=True)
class SnnStage:
    """``[snn]``: the PRIME SNN on the quick setting.

    Attributes:
        n_train: training samples of the synthesised N-MNIST set.
        n_test: test samples (disjoint from training).
        epochs: training epochs of the pop-up scores.
        n_frames: timesteps ``T``.
        backend: tile backend (``ideal``, ``calibrated``, ``spice``).
        read_noise: read-noise scale (PRIME eq. 7), fresh at every timestep.
        seed: seed of the split, the forming draw, the scores and the read noise
            (from ``[run]``).
    """

    n_train: int = 1000
    n_test: int = 300
    epochs: int = 4
    n_frames: int = 10
    backend: str = "calibrated"
    read_noise: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_train", self.n_train, 1, 10**7)
        check_int("n_test", self.n_test, 1, 10**7)
        check_int("epochs", self.epochs, 1, 10_000)
        check_int("n_frames", self.n_frames, 1, 1000)
        if self.backend not in BACKENDS:
            DeployConfig(backend=self.backend)  # the one-line "did you mean" error
        check_range("read_noise", self.read_noise, 0.0, 1.0)
        check_int("seed", self.seed, 0, 2**63 - 1)

    def run_config(self) -> SNNRunConfig:
        """The run this stage makes (seeds above 2**31 - 1 are folded into range)."""
        seed = self.seed % (2**31 - 1)
        return SNNRunConfig(
            net=SNNConfig(n_frames=self.n_frames, epochs=self.epochs, seed=seed),
            hardware=DeployConfig(backend=self.backend, read_noise=self.read_noise, seed=seed),
            n_train=self.n_train, n_test=self.n_test, seed=seed)


def default_events(cache_dir: Path = CACHE_DIR, progress: bool = False) -> EventSet:
    """The synthesised N-MNIST set from the bundled MNIST digits (cached)."""
    images, labels = mnist_digits()
    with tqdm(total=len(labels), desc="synthesis", disable=not progress, unit="sample",
              leave=False) as bar:
        data, _ = cached_events(images, labels, DVSConfig(), cache_dir, progress=bar.update)
    return data


@dataclass(frozen=True, kw_only=True, eq=False)
class SnnStageResult:
    """What the stage hands to :func:`cosim.outputs.results.write_result`."""

    result: SNNRunResult

    def summary(self) -> dict[str, Any]:
        r = self.result
        pick = early_stop_pick(r)
        full, early = r.workload(), r.workload(pick["avg_timesteps"])
        e = energy_table(full, early, pick["threshold"])
        tot = e[e["component"] == "total"]["energy_per_inference_j"].tolist()
        return {"accuracy": r.accuracy, "avg_timesteps": float(r.config.net.n_frames),
                "software_accuracy": r.software_accuracy,
                "random_untrained_accuracy": r.random_accuracy, "early_stop": pick,
                "energy_per_inference_j": {"no_early_stop": tot[0], "early_stop": tot[1],
                                           "energy_table": "cited"},
                "zero_peak_fraction_after_pruning": float(
                    np.mean(np.abs(r.g_diff_after) <= 0.5e-6)),
                "timings_s": dict(r.timings_s), "config": asdict(r.config)}

    def tables(self) -> dict[str, pd.DataFrame]:
        r = self.result
        pick = early_stop_pick(r)
        c = r.confusion()
        confusion = pd.DataFrame(c, columns=[f"pred_{i}" for i in range(c.shape[1])])
        confusion.insert(0, "true", range(c.shape[0]))
        return {"thresholds": pd.DataFrame(r.thresholds), "confusion": confusion,
                "history": pd.DataFrame(r.net.history),
                "energy_per_inference": energy_table(
                    r.workload(), r.workload(pick["avg_timesteps"]), pick["threshold"])}

    def workload(self) -> Workload:
        return self.result.workload()


def early_stop_pick(result: SNNRunResult) -> dict:
    """The early-stop row reported: the threshold nearest 0.5."""
    return min(result.thresholds, key=lambda r: abs(r["threshold"] - 0.5))


def compute_snn_stage(cfg: SnnStage, data: EventSet | None = None) -> SnnStageResult:
    """Train and evaluate the quick SNN (no progress bars, no files but the event cache).

    Args:
        data: the events to split (default: the synthesised N-MNIST set).
    """
    return SnnStageResult(result=run_snn(cfg.run_config(),
                                         default_events() if data is None else data))


def snn_headline(s: dict[str, Any]) -> str:
    """One console line of the stage's summary."""
    es = s["early_stop"]
    return (f"accuracy {100 * s['accuracy']:.1f} % at T (software "
            f"{100 * s['software_accuracy']:.1f} %); early stop {es['threshold']:g}: "
            f"{100 * es['accuracy']:.1f} % with {100 * es['timesteps_saved']:.0f} % fewer steps")
