"""One SNN run: split the events, train the pop-up scores, deploy, run the timestep loop,
sweep the early-stop threshold. Computes only: no file I/O (:mod:`cosim.outputs.snn` writes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from circuits.devices import TAOX_40NM
from circuits.errors import ConfigError, check_int, check_range
from cosim.accounting.workload import Workload
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement
from cosim.hardware.spec import HardwareSpec
from cosim.layers.record import LayerRecord, record_layers
from cosim.programming.base import BinaryCellWriter
from cosim.workloads.snn.conv import ConvConfig
from cosim.workloads.snn.deployed import (
    StepCounts,
    deploy,
    early_stop,
    run_timesteps,
)
from cosim.workloads.snn.dvs import EventSet
from cosim.workloads.snn.ledger import snn_workload
from cosim.workloads.snn.network import SNNConfig, TrainedSNN, train
from cosim.workloads.snn.nmnist import SPLITS
from cosim.workloads.spiking.popup import pair_scheme

DEFAULT_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
PAPER = {"threshold_0.5": {"accuracy": 0.976, "timesteps_saved": 0.59},
         "threshold_0.3": {"accuracy": 0.949, "timesteps_saved": 0.77}}
"""PRIME paper Fig. 3b."""


@dataclass(frozen=True, kw_only=True)
class SNNRunConfig:
    """A train-and-evaluate run.

    Attributes:
        net: network and training (the MLP, or the conv net of :mod:`.conv`).
        n_train, n_test: samples of each split (drawn without overlap, seeded).
        split: binning of events into frames (``"time"`` or ``"number"``).
        thresholds: early-stop thresholds in ``(0, 1]``.
        alpha: softmax temperature of eq. 5 (PRIME code 2).
        eval_batch: samples per call of the timestep loop on hardware.
        seed: seed of the split, and of the hardware's noise (layer ``l``: ``seed + l``).
    """

    net: SNNConfig | ConvConfig = field(default_factory=SNNConfig)
    n_train: int = 4000
    n_test: int = 1000
    split: str = "time"
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    alpha: float = 2.0
    eval_batch: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_train", self.n_train, 1, 10**7)
        check_int("eval_batch", self.eval_batch, 1, 100_000)
        check_int("n_test", self.n_test, 1, 10**7)
        if self.split not in SPLITS:
            raise ConfigError(f"split must be one of {SPLITS}, got {self.split!r}")
        if not self.thresholds:
            raise ConfigError("give at least one early-stop threshold")
        for t in self.thresholds:
            check_range("threshold", t, 0.0, 1.0, lo_open=True)
        check_range("alpha", self.alpha, 0.0, 1e6, lo_open=True)
        check_int("seed", self.seed, 0, 2**31 - 1)


@dataclass(frozen=True, kw_only=True, eq=False)
class SNNRunResult:
    """Outcome of :func:`run_snn`.

    Attributes:
        config: the run.
        hardware: the hardware it was evaluated on.
        sim: how it was simulated.
        net: the trained network.
        software_accuracy: software forward pass on the test split, T steps.
        random_accuracy: the untrained random pairs (all kept) in software.
        thresholds: one dict per threshold (``early_stop`` without per-sample arrays).
        labels, pred: test labels and predictions at ``T`` on hardware.
        counts: what the timestep loop counted per step (all test samples).
        g_diff_before, g_diff_after: ``G+ - G-`` (S) of every pair before and after pruning.
        placements: where each layer's pairs went.
        timings_s: seconds per phase.
        layer_records: every analog layer as it ran, for ``cosim verify``.
    """

    config: SNNRunConfig
    hardware: HardwareSpec
    sim: SimOptions
    net: TrainedSNN
    software_accuracy: float
    random_accuracy: float
    thresholds: list[dict]
    labels: np.ndarray
    pred: np.ndarray
    counts: StepCounts
    g_diff_before: np.ndarray
    g_diff_after: np.ndarray
    placements: list[Placement]
    timings_s: dict[str, float]
    layer_records: tuple[LayerRecord, ...] = ()

    @property
    def accuracy(self) -> float:
        """Hardware accuracy at ``T`` (no early stop)."""
        return float(np.mean(self.pred == self.labels))

    def workload(self, avg_timesteps: float | None = None) -> Workload:
        """One inference on the hardware as a ledger workload (:mod:`.ledger`), running
        ``avg_timesteps`` steps (``None``: all ``T``, no early stop)."""
        cfg = self.config
        t = float(cfg.net.n_frames if avg_timesteps is None else avg_timesteps)
        stop = "no early stop" if avg_timesteps is None else f"early stop, {t:.2f} steps"
        return snn_workload(
            self.counts, matrices=cfg.net.shapes, vectors_per_step=cfg.net.vectors_per_step,
            lif_per_step=cfg.net.lif_per_step, avg_timesteps=t,
            name=f"SNN {cfg.net.label}, T = {cfg.net.n_frames}, {stop}",
            blocks=[(p.rows_used, p.cols_used) for p in self.placements],
            macro=(self.hardware.array.macro_rows, self.hardware.array.macro_cols),
            cell=self.hardware.cell.kind.name,
            source=f"events counted by the SNN timestep loop ({self.hardware.name} hardware, "
                   f"{self.sim.backend} backend, "
                   f"{self.labels.size} test samples)")

    def confusion(self) -> np.ndarray:
        c = self.net.config.classes
        m = np.zeros((c, c), dtype=np.int64)
        np.add.at(m, (self.labels, self.pred), 1)
        return m


def split_indices(labels: np.ndarray, n_train: int, n_test: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint seeded train/test indices."""
    n = labels.size
    if n_train + n_test > n:
        raise ConfigError(f"n_train + n_test = {n_train + n_test} is more than the "
                          f"{n} samples of the data set")
    perm = np.random.default_rng(seed).permutation(n)
    return perm[:n_train], perm[n_train:n_train + n_test]


@dataclass(frozen=True, kw_only=True, eq=False)
class Split:
    """The frames and labels of the train and test split of a run."""

    train_frames: np.ndarray
    train_labels: np.ndarray
    test_frames: np.ndarray
    test_labels: np.ndarray


def split_frames(cfg: SNNRunConfig, data: EventSet) -> Split:
    """Bin the seeded, disjoint train and test samples of ``data`` into ``T`` frames."""
    tr, te = split_indices(data.labels, cfg.n_train, cfg.n_test, cfg.seed)
    return Split(train_frames=data.subset(tr).frames(cfg.net.n_frames, cfg.split),
                 train_labels=data.labels[tr],
                 test_frames=data.subset(te).frames(cfg.net.n_frames, cfg.split),
                 test_labels=data.labels[te])


def run_snn(cfg: SNNRunConfig, hardware: HardwareSpec, sim: SimOptions, data: EventSet, *,
            on_epoch=None, on_eval=None, init: TrainedSNN | None = None,
            checkpoint=None) -> SNNRunResult:
    """Train on ``data``'s train split and evaluate on ``hardware`` on its test split.

    Args:
        on_epoch: called with each epoch's history row.
        on_eval: called with the samples done after each evaluation batch.
        init: continue training this network.
        checkpoint: called with the network after each epoch (see :func:`train`).
    """
    t0 = time.perf_counter()
    split = split_frames(cfg, data)
    binning = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = train(split.train_frames, split.train_labels, cfg.net, progress=on_epoch, init=init,
                checkpoint=checkpoint)
    training = time.perf_counter() - t0
    result = evaluate(cfg, hardware, sim, net, split, on_eval=on_eval)
    return replace(result, timings_s={"binning": binning, "training": training,
                                      **result.timings_s})


def software_accuracies(net: TrainedSNN, split: Split) -> tuple[float, float]:
    """Test accuracy at ``T`` in software: the trained network, and its untrained random
    pairs with every weight kept."""
    y = split.test_labels
    sw = float(np.mean(net.logits(split.test_frames)[-1].argmax(-1) == y))
    rand = float(np.mean(_all_kept_logits(net, split.test_frames)[-1].argmax(-1) == y))
    return sw, rand


def evaluate(cfg: SNNRunConfig, hardware: HardwareSpec, sim: SimOptions, net: TrainedSNN,
             split: Split, *, on_eval=None, software: tuple[float, float] | None = None
             ) -> SNNRunResult:
    """Deploy ``net`` on ``hardware``, run the timestep loop on the test split and
    sweep ``cfg.thresholds``.

    Args:
        software: :func:`software_accuracies` if already known (sweeps).
    """
    timings: dict[str, float] = {}
    y_te = split.test_labels
    sw, rand_acc = software if software is not None else software_accuracies(net, split)
    t0 = time.perf_counter()
    layers = deploy(net, hardware, sim, seed=cfg.seed)
    timings["programming"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    logits, counts = run_timesteps(layers, net, split.test_frames, cfg.eval_batch,
                                   progress=on_eval)
    timings["evaluation"] = time.perf_counter() - t0
    records = record_layers({f"layer{i}": ly for i, ly in enumerate(layers)},
                            lambda: run_timesteps(layers, net, split.test_frames[:2]))
    rows = []
    for th in cfg.thresholds:
        r = early_stop(logits, y_te, th, cfg.alpha)
        rows.append({"threshold": r["threshold"], "accuracy": r["accuracy"],
                     "avg_timesteps": r["avg_timesteps"],
                     "timesteps_saved": 1.0 - r["avg_timesteps"] / net.config.n_frames})
    before = [(pw.g_actual_siemens - pw.g_actual_neg_siemens).ravel()
              for pw in (pair_layer_programmed(net.config, i) for i in range(len(layers)))]
    after = [(ly.programmed.g_actual_siemens - ly.programmed.g_actual_neg_siemens).ravel()
             for ly in layers]
    return SNNRunResult(config=cfg, hardware=hardware, sim=sim, net=net, software_accuracy=sw,
                        random_accuracy=rand_acc,
                        thresholds=rows, labels=y_te, pred=logits[-1].argmax(-1),
                        counts=counts, g_diff_before=np.concatenate(before),
                        g_diff_after=np.concatenate(after),
                        placements=[ly.placement for ly in layers], timings_s=timings,
                        layer_records=tuple(records))


def sweep_read_noise(cfg: SNNRunConfig, hardware: HardwareSpec, sim: SimOptions,
                     net: TrainedSNN, split: Split, noises: list[float], threshold: float, *,
                     on_eval=None) -> list[dict]:
    """Accuracy and average timesteps at ``threshold`` for each read-noise scale
    (PRIME Fig. 5d): one deployment and timestep loop per point, fresh noise every step."""
    check_range("threshold", threshold, 0.0, 1.0, lo_open=True)
    if not noises:
        raise ConfigError("give at least one read-noise scale")
    software = software_accuracies(net, split)
    points = []
    for noise in noises:
        c = replace(cfg, thresholds=(threshold,))
        r = evaluate(c, hardware.with_parts(noise={"read": float(noise)}), sim, net, split,
                     on_eval=on_eval, software=software)
        points.append({"read_noise": float(noise), **r.thresholds[0],
                       "accuracy_at_T": r.accuracy})
    return points


def _all_kept_logits(net: TrainedSNN, frames: np.ndarray) -> np.ndarray:
    """Software logits of the untrained random pairs, every weight kept."""
    cfg = net.config
    full = TrainedSNN(config=replace(cfg, mode="weights"), fixed=net.fixed,
                      params={"w": [np.asarray(w) for w in net.fixed]})
    return full.logits(frames)


def pair_layer_programmed(cfg: SNNConfig, layer: int):
    """The unpruned random pairs of ``layer`` as formed (for the 'before' histogram)."""
    return pair_scheme(cfg, layer).program(None, cfg.shapes[layer], rram=TAOX_40NM,
                                           write=BinaryCellWriter(rram=TAOX_40NM), read_back=None)


DEFAULT_WRITE_NOISES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)
"""Programming-noise std (fraction of g_LRS) of PRIME Fig. 3g's sweep."""
WEIGHT_TRAINING_LR = 5e-2
"""Adam rate of the weight-trained baseline. Weights are ``N(0, 1)`` numbers, scores
start near ``1/sqrt(fan_in)``, so weights need a larger step; the best of the rates
tried (``docs/measurements/snn.md``)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Comparison:
    """PRIME Fig. 3e and 3g on one test split (accuracy at ``T``, no early stop).

    Attributes:
        rows: Fig. 3e, one dict per method: ``method``, ``weights`` (trained,
            pruned, random), ``platform`` (software or the backend), ``accuracy``.
        noise: Fig. 3g, one dict per write noise: ``write_noise``,
            ``weight_tuning`` and ``memristor_pruning`` accuracies.
        popup, weights: the two trained networks.
    """

    rows: list[dict]
    noise: list[dict]
    popup: TrainedSNN
    weights: TrainedSNN


def hardware_accuracy(net: TrainedSNN, cfg: SNNRunConfig, hardware: HardwareSpec,
                      sim: SimOptions, split: Split, *, write_noise: float | None = None,
                      keep_all: bool = False, on_eval=None) -> float:
    """Test accuracy at ``T`` of ``net`` deployed on ``hardware`` (:func:`deploy`)."""
    layers = deploy(net, hardware, sim, seed=cfg.seed, write_noise=write_noise,
                    keep_all=keep_all)
    logits, _ = run_timesteps(layers, net, split.test_frames, cfg.eval_batch,
                              progress=on_eval)
    return float(np.mean(logits[-1].argmax(-1) == split.test_labels))


def compare(cfg: SNNRunConfig, hardware: HardwareSpec, sim: SimOptions, split: Split, *,
            write_noises: tuple[float, ...], on_epoch=None, on_eval=None) -> Comparison:
    """Train a pop-up and a weight-trained network on the same split and compare them
    (PRIME Fig. 3e rows; Fig. 3g: accuracy vs programming noise, weight tuning vs
    memristor pruning)."""
    if not write_noises:
        raise ConfigError("give at least one write-noise level")
    for s in write_noises:
        check_range("write noise", s, 0.0, 10.0)
    popup = train(split.train_frames, split.train_labels, replace(cfg.net, mode="popup"),
                  progress=on_epoch)
    weights = train(split.train_frames, split.train_labels,
                    replace(cfg.net, mode="weights", lr=WEIGHT_TRAINING_LR), progress=on_epoch)
    y = split.test_labels
    backend = sim.backend

    def sw(net: TrainedSNN) -> float:
        return float(np.mean(net.logits(split.test_frames)[-1].argmax(-1) == y))

    rand_sw = float(np.mean(_all_kept_logits(popup, split.test_frames)[-1].argmax(-1) == y))
    rows = [
        {"method": "weight-trained SNN", "weights": "trained", "platform": "software",
         "accuracy": sw(weights)},
        {"method": "software pruning", "weights": "pruned", "platform": "software",
         "accuracy": sw(popup)},
        {"method": "memristor pruning", "weights": "pruned", "platform": backend,
         "accuracy": hardware_accuracy(popup, cfg, hardware, sim, split, on_eval=on_eval)},
        {"method": "random untrained, software", "weights": "random", "platform": "software",
         "accuracy": rand_sw},
        {"method": "random untrained, memristor", "weights": "random", "platform": backend,
         "accuracy": hardware_accuracy(popup, cfg, hardware, sim, split, keep_all=True,
                                       on_eval=on_eval)},
    ]
    noise = [{"write_noise": float(s),
              "weight_tuning": hardware_accuracy(weights, cfg, hardware, sim, split,
                                                 write_noise=s, on_eval=on_eval),
              "memristor_pruning": hardware_accuracy(popup, cfg, hardware, sim, split,
                                                     write_noise=s, on_eval=on_eval)}
             for s in write_noises]
    return Comparison(rows=rows, noise=noise, popup=popup, weights=weights)
