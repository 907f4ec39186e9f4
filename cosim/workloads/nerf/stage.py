"""Default settings of novel-view synthesis, and the main job's quick ``nerf`` stage.

:func:`default_config` is the default run of ``cosim nerf`` on a CPU: the paper's
network form (8 low-rank ReLU layers, skip after the fifth; D-NeRF: 4-layer
deformation and canonical networks) at width 64 and rank 16, 32 Gaussian features of
the position, 1500 steps of 256 rays with 32 samples each, on the 64 x 64 procedural
scene; the paper's own size (width 256, rank 32, 64 samples, 4096 rays) is a config
(``paper_size=True``, ``cosim nerf ... --paper-size``). ``quick=True`` is the setting
of ``--quick`` and of the main job's stage (:class:`NerfStage`): a 24 x 24 scene and
a small network, to show the whole path in under a minute. ``prune=True`` (``cosim
nerf ... --prune``) prunes during training to the paper's width 26, rank 3
(:data:`PRUNED`) and trains for :data:`PRUNED_STEPS` steps instead: the full network
for the first fifth, the cuts, then fine-tuning of the cut network (:mod:`.train`).
Measured figures: ``docs/measurements/nerf.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from circuits.errors import ConfigError
from cosim.hardware.presets import load_hardware
from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.nerf.model import ModelConfig, NetConfig
from cosim.workloads.nerf.nerf import NerfConfig
from cosim.workloads.nerf.scene import SceneConfig
from cosim.workloads.nerf.train import TrainConfig

PRUNED = (26, 3)
"""NF paper: structured pruning to width 26, rank 3."""
PRUNED_STEPS = {"default": 5000, "quick": 1200}
"""Training steps of a pruned run (unpruned: 1500, quick 400): the network at rank 3
needs the longer fine-tuning after the cuts."""


def default_config(*, dynamic: bool = False, quick: bool = False, paper_size: bool = False,
                   prune: bool = False) -> tuple[NerfConfig, SceneConfig]:
    """The default run and its procedural scene (module docstring)."""
    if quick:
        width, rank, steps, rays, samples, freqs = 32, 8, 400, 128, 24, 16
        scene = SceneConfig(dynamic=dynamic, size_px=24, n_train=24, n_val=0, n_test=2,
                            gt_samples=128)
    else:
        width, rank, steps, rays, samples, freqs = 64, 16, 1500, 256, 32, 16
        scene = SceneConfig(dynamic=dynamic)
    if prune:
        steps = PRUNED_STEPS["quick" if quick else "default"]
    if paper_size:
        width, rank, rays, samples, freqs = 256, 32, 4096, 64, 64
    depth, skip = (4, 0) if dynamic else (8, 5)
    model = ModelConfig(
        position=EncoderConfig(kind="gaussian", n_frequencies=freqs, sigma=2.0),
        direction=EncoderConfig(kind="gaussian", n_frequencies=8, sigma=0.5),
        canonical=NetConfig(depth=depth, width=width, rank=rank, skip=skip),
        view_width=width // 2, dynamic=dynamic,
        deform=NetConfig(depth=4, width=width, rank=rank, skip=0))
    training = TrainConfig(steps=steps, rays=rays, samples=samples, learning_rate=1e-2,
                           final_learning_rate=1e-3,
                           prune_width=PRUNED[0] if prune else 0,
                           prune_rank=PRUNED[1] if prune else 0)
    return NerfConfig(model=model, training=training,
                      eval_views=scene.n_test), scene


@dataclass(frozen=True, kw_only=True)
class NerfStage:
    """``[nerf]``: NeRF (or D-NeRF) on the quick setting (``cosim nerf run --quick``).

    Attributes:
        dynamic: D-NeRF on the moving scene instead of NeRF on the static one.
        size_px: image size of the procedural scene.
        train_views, test_views: views rendered for training and evaluated.
        steps: Adam steps.
        width, rank: of every layer (0 rank: full matrices).
        prune_width, prune_rank: structured pruning targets (0: none).
        bits_input, bits_hidden, bits_output: HAQ/PTQ cells per weight.
        amp_ratio: HAQ's ``s``.
        hardware: the hardware of this stage: a preset name or TOML file, or ``""`` for
            the job's ``[hardware]`` (the default).
        seed: seed of every draw (from ``[run]``).
    """

    dynamic: bool = False
    size_px: int = 24
    train_views: int = 24
    test_views: int = 2
    steps: int = 400
    width: int = 32
    rank: int = 8
    prune_width: int = 0
    prune_rank: int = 0
    bits_input: int = 14
    bits_hidden: int = 14
    bits_output: int = 12
    amp_ratio: float = 1.5
    hardware: str = ""
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.dynamic, bool):
            raise ConfigError(f"dynamic must be true or false, got {self.dynamic!r}")
        self.configs()  # every value checked by the workload's own configs
        if self.hardware:
            load_hardware(self.hardware)  # an unknown preset or a bad file, before any work

    def configs(self) -> tuple[NerfConfig, SceneConfig]:
        """The workload's config and its scene."""
        cfg, scene = default_config(dynamic=self.dynamic, quick=True)
        seed = self.seed % (2**32)
        scene = replace(scene, size_px=self.size_px, n_train=self.train_views,
                        n_test=self.test_views, seed=seed)
        model = cfg.model
        model = replace(model, canonical=replace(model.canonical, width=self.width,
                                                 rank=min(self.rank, self.width)),
                        deform=replace(model.deform, width=self.width,
                                       rank=min(self.rank, self.width)),
                        view_width=max(1, self.width // 2))
        cfg = replace(cfg, model=model, eval_views=self.test_views, seed=seed,
                      bits=(self.bits_input, self.bits_hidden, self.bits_output),
                      amp_ratio=self.amp_ratio,
                      training=replace(cfg.training, steps=self.steps, seed=seed,
                                       prune_width=self.prune_width,
                                       prune_rank=self.prune_rank))
        return cfg, scene


def nerf_headline(summary: dict) -> str:
    """One console line of the stage's summary."""
    return (f"{summary['task']}: PSNR software {summary['psnr_software']:.2f} / HAQ "
            f"{summary['psnr_haq']:.2f} / PTQ {summary['psnr_ptq']:.2f} dB, SSIM HAQ "
            f"{summary['ssim_haq']:.3f}")
