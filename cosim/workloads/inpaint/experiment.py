"""The inpainting experiment: train, evaluate in software and on hardware, early stop, noise.

Rows (PRIME Fig. 4c-style): the weight-trained software VAE; the pruned
random pairs in software; the pruned random pairs on the hardware; the random
unpruned pairs on the hardware. Metrics of each (:func:`metrics`): MSE over
the masked region and over the whole image, PSNR of the masked region (images
span 2, so ``PSNR = 10 log10(4 / MSE)``), the classifier score and accuracy
(:mod:`.classifier`), and the timesteps run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.accounting.workload import Workload
from cosim.engine.options import SimOptions
from cosim.engine.placement import Placement
from cosim.hardware.spec import HardwareSpec
from cosim.workloads.inpaint.classifier import Classifier, train_classifier
from cosim.workloads.inpaint.data import InpaintSet
from cosim.workloads.inpaint.deployed import at_steps, deploy, run_timesteps, stop_steps
from cosim.workloads.inpaint.network import TrainedVAE, VAEConfig, train
from cosim.workloads.spiking.pairs import StepCounts, spiking_workload

CLAIM = "SNN inpainting"
"""The PRIME paper's claim this workload compares with (62.50x vs RTX 4090)."""
DEFAULT_THRESHOLDS = (0.0, 0.002, 0.005, 0.01, 0.015, 0.02, 0.0225, 0.025, 0.0275, 0.03,
                      0.04, 0.05)
"""Early-stop thresholds: mean change per pixel between frames (0: no early stop); finer
where the saved steps start to cost masked MSE (each costs only its evaluation of the
same frames)."""
DEFAULT_NOISES = (0.0, 0.01, 0.03, 0.05, 0.08, 0.1)
"""Read-noise scales of the sweep (PRIME Fig. 5e: 0.01-0.1)."""
ROWS = ("weight-trained software", "pruned random pairs, software",
        "pruned random pairs, hardware", "random unpruned pairs, hardware")


@dataclass(frozen=True, kw_only=True)
class InpaintRunConfig:
    """One inpainting run.

    Attributes:
        net: the pop-up VAE (the weight-trained baseline is the same with
            ``mode="weights"``).
        n_train, n_test: disjoint seeded samples of the data set.
        mask_px: side of the removed central square, pixels (PRIME: 8).
        thresholds: early-stop thresholds (change per pixel; 0: no early stop).
        classifier_epochs: training epochs of the score's classifier.
        seed: split, latent samples and read noise.
    """

    net: VAEConfig = field(default_factory=VAEConfig)
    n_train: int = 4000
    n_test: int = 1000
    mask_px: int = 8
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    classifier_epochs: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_train", self.n_train, 1, 10_000_000)
        check_int("n_test", self.n_test, 1, 10_000_000)
        check_int("mask size (pixels)", self.mask_px, 1, 31)
        if not self.thresholds:
            raise ConfigError("give at least one early-stop threshold")
        for t in self.thresholds:
            check_range("early-stop threshold", t, 0.0, 2.0)
        check_int("classifier_epochs", self.classifier_epochs, 1, 10_000)
        check_int("seed", self.seed, 0, 2**31 - 1)
        if self.net.mode != "popup":
            raise ConfigError("the run's network is the pop-up VAE (mode popup); the "
                              "weight-trained baseline is trained beside it")

    @property
    def baseline(self) -> VAEConfig:
        """The weight-trained software baseline's config."""
        return replace(self.net, mode="weights")


def split(cfg: InpaintRunConfig, data: InpaintSet) -> tuple[InpaintSet, InpaintSet]:
    """Disjoint seeded train and test sets.

    Raises:
        ConfigError: the set has fewer than ``n_train + n_test`` images.
    """
    n = data.target.shape[0]
    if cfg.n_train + cfg.n_test > n:
        raise ConfigError(f"--train + --test = {cfg.n_train + cfg.n_test} is more than the "
                          f"{n} images of the data set")
    perm = np.random.default_rng(cfg.seed).permutation(n)
    return data.subset(perm[:cfg.n_train]), data.subset(perm[cfg.n_train:cfg.n_train
                                                              + cfg.n_test])


def metrics(recon: np.ndarray, test: InpaintSet, clf: Classifier | None,
            steps: np.ndarray | float) -> dict:
    """Reconstruction figures of ``recon (N, 32, 32)`` against ``test`` (module docstring)."""
    m = test.mask
    mse_m = float(np.mean((recon[:, m] - test.target[:, m]) ** 2))
    out = {"mse_masked": mse_m, "mse_whole": float(np.mean((recon - test.target) ** 2)),
           "psnr_masked_db": float(10 * np.log10(4.0 / max(mse_m, 1e-12))),
           "avg_timesteps": float(np.mean(steps))}
    if clf is not None:
        out["score"] = clf.score(recon)
        out["classifier_accuracy"] = (None if test.labels is None
                                      else clf.accuracy(recon, test.labels))
    return out


def classifier_for(train_set: InpaintSet, reference: InpaintSet | None, epochs: int,
                   seed: int) -> Classifier | None:
    """The score's classifier, trained on the training images' originals when they carry
    labels, else on ``reference`` (the bundled MNIST digits); ``None`` when neither has
    labels."""
    src = train_set if train_set.labels is not None else reference
    if src is None or src.labels is None:
        return None
    return train_classifier(src.target, src.labels, epochs=epochs, seed=seed)


@dataclass(frozen=True, kw_only=True, eq=False)
class Trained:
    """The two trained VAEs of a run: pop-up (``net``) and weight-trained (``baseline``)."""

    net: TrainedVAE
    baseline: TrainedVAE | None


def train_both(cfg: InpaintRunConfig, train_set: InpaintSet, *,
               init: Trained | None = None, on_epoch: Callable[[str, dict], None] | None = None,
               checkpoint: Callable[[Trained], None] | None = None) -> Trained:
    """Train the pop-up VAE, then the weight-trained baseline (each resumable: an
    ``init`` network with fewer epochs than its config goes on)."""
    def cb(name):
        return None if on_epoch is None else (lambda row: on_epoch(name, row))

    net = init.net if init else None
    if net is None or len(net.history) < cfg.net.epochs:
        net = train(train_set.masked, train_set.target, cfg.net, progress=cb("pop-up"),
                    init=net, checkpoint=None if checkpoint is None else
                    (lambda n: checkpoint(Trained(net=n, baseline=None))))
    base = init.baseline if init else None
    if base is None or len(base.history) < cfg.baseline.epochs:
        base = train(train_set.masked, train_set.target, cfg.baseline, progress=cb("weights"),
                     init=base, checkpoint=None if checkpoint is None else
                     (lambda b: checkpoint(Trained(net=net, baseline=b))))
    return Trained(net=net, baseline=base)


@dataclass(frozen=True, kw_only=True, eq=False)
class InpaintResult:
    """What a run computed (the outputs writer turns it into files)."""

    config: InpaintRunConfig
    hardware: HardwareSpec
    sim: SimOptions
    trained: Trained
    test: InpaintSet
    rows: list[dict]
    thresholds: list[dict]
    images: dict[str, np.ndarray]
    counts: StepCounts
    placements: list[Placement]
    original_accuracy: float | None
    timings_s: dict[str, float]

    def row(self, name: str) -> dict:
        return next(r for r in self.rows if r["row"] == name)

    def workload(self, avg_timesteps: float | None = None) -> Workload:
        """One image inpainted on the hardware as a ledger workload, running
        ``avg_timesteps`` steps (``None``: all ``T``)."""
        net = self.config.net
        t = float(net.n_frames if avg_timesteps is None else avg_timesteps)
        stop = "no early stop" if avg_timesteps is None else f"early stop, {t:.2f} steps"
        return spiking_workload(
            self.counts, matrices=net.shapes, vectors_per_step=net.vectors_per_step,
            lif_per_step=net.lif_per_step, avg_timesteps=t,
            other_ops_per_step=float(net.digital_ops_per_step),
            name=f"SNN inpainting ({net.label}), T = {net.n_frames}, {stop}",
            blocks=[(p.rows_used, p.cols_used) for p in self.placements],
            macro=(self.hardware.array.macro_rows, self.hardware.array.macro_cols),
            cell=self.hardware.cell.kind.name, claim=CLAIM,
            source=f"events counted by the spiking VAE's timestep loop ({self.hardware.name} "
                   f"hardware, {self.sim.backend} backend, {self.test.target.shape[0]} test "
                   "images)")


def evaluate(cfg: InpaintRunConfig, hardware: HardwareSpec, sim: SimOptions,
             trained: Trained, test: InpaintSet, clf: Classifier | None, *,
             on_eval: Callable[[int], None] | None = None) -> InpaintResult:
    """The four rows and the early-stop thresholds on the hardware (module docstring).
    ``on_eval`` receives the images done of the two hardware passes."""
    timings: dict[str, float] = {}
    t_n = cfg.net.n_frames
    t0 = time.perf_counter()
    sw_base = trained.baseline.images(test.masked, seed=cfg.seed) if trained.baseline else None
    sw = trained.net.images(test.masked, seed=cfg.seed)
    timings["software"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    layers = deploy(trained.net, hardware, sim, seed=cfg.seed)
    hw_imgs, counts = run_timesteps(layers, trained.net, test.masked, seed=cfg.seed,
                                    progress=on_eval)
    rand_layers = deploy(trained.net, hardware, sim, seed=cfg.seed, keep_all=True)
    rand_imgs, _ = run_timesteps(rand_layers, trained.net, test.masked, seed=cfg.seed,
                                 progress=on_eval)
    timings["hardware"] = time.perf_counter() - t0
    rows = []
    for name, imgs in zip(ROWS, (sw_base, sw, hw_imgs, rand_imgs), strict=True):
        if imgs is not None:
            rows.append({"row": name, **metrics(imgs[-1], test, clf, t_n)})
    thresholds = []
    for th in cfg.thresholds:
        steps = stop_steps(hw_imgs, th)
        sw_steps = stop_steps(sw, th)
        thresholds.append({"threshold": th, **metrics(at_steps(hw_imgs, steps), test, clf, steps),
                           "software_mse_masked": metrics(at_steps(sw, sw_steps), test, None,
                                                          sw_steps)["mse_masked"],
                           "software_avg_timesteps": float(sw_steps.mean())})
    orig = (clf.accuracy(test.target, test.labels)
            if clf is not None and test.labels is not None else None)
    images = {"masked": test.masked, "software": sw[-1], "hardware": hw_imgs[-1],
              "truth": test.target}
    if sw_base is not None:
        images["weight-trained"] = sw_base[-1]
    return InpaintResult(config=cfg, hardware=hardware, sim=sim, trained=trained, test=test,
                         rows=rows, thresholds=thresholds, images=images, counts=counts,
                         placements=[ly.placement for ly in layers], original_accuracy=orig,
                         timings_s=timings)


def sweep_read_noise(cfg: InpaintRunConfig, hardware: HardwareSpec, sim: SimOptions,
                     net: TrainedVAE, test: InpaintSet, clf: Classifier | None,
                     noises: tuple[float, ...], *,
                     on_point: Callable[[int], None] | None = None) -> list[dict]:
    """Masked MSE and timesteps vs read-noise scale (PRIME eq. 7, Fig. 5e), at every
    early-stop threshold of ``cfg``: one row per (noise, threshold)."""
    points = []
    for v in noises:
        check_range("read noise", v, 0.0, 10.0)
        hw = replace(hardware, noise=replace(hardware.noise, read=v))
        imgs, _ = run_timesteps(deploy(net, hw, sim, seed=cfg.seed), net, test.masked,
                                seed=cfg.seed, progress=on_point)
        for th in cfg.thresholds:
            steps = stop_steps(imgs, th)
            points.append({"read_noise": v, "threshold": th,
                           **metrics(at_steps(imgs, steps), test, clf, steps)})
    return points
