"""Sparse reconstruction (NF paper Fig. 4e): fine-tune the dense model on a few slices.

The dense model (trained on every slice of one volume) is fine-tuned on the
voxels of ``k`` evenly spaced slices of the *target* volume, then evaluated on
every slice of it (software, HAQ and PTQ, as the dense task). In the paper the
target is another phase of the 4D-CT; with the phantom it is
``shepp_logan_3d(..., motion=m)`` (stretched in-plane and moved along z, see
:mod:`.phantom`), so the dense model alone does not fit it and the fine-tune
has something to learn. ``k = 0`` is the dense model without fine-tuning.

No file I/O: :func:`run_sparse` returns the table rows and the runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.workloads.field.field import (
    FieldConfig,
    FieldResult,
    Prepared,
    evaluate_field,
    train_field,
)
from cosim.workloads.field.mlp import Params, TrainConfig, TrainState
from cosim.workloads.field.phantom import shepp_logan_3d
from cosim.workloads.field.volume import normalise

PAPER = {"psnr_haq_20": 31.68, "ssim_haq_20": 0.93, "psnr_ptq_20": 14.21, "ssim_ptq_20": 0.24,
         "psnr_haq_5": 31.73}
"""NF paper Fig. 4e,i: sparse from 20 slices (HAQ, PTQ) and from 5 (simulated)."""


@dataclass(frozen=True, kw_only=True)
class SparseConfig:
    """The sparse task.

    Attributes:
        counts: slices used for fine-tuning, one run each (NF paper 20 of 40, down to 5).
        steps: Adam steps of each fine-tune.
        batch: voxels per step (0: all voxels of the chosen slices).
        learning_rate: Adam's step size (cosine-decayed).
        schemes: the deployments evaluated for every count.
    """

    counts: tuple[int, ...] = (20, 10, 5)
    steps: int = 500
    batch: int = 16384
    learning_rate: float = 3e-4
    schemes: tuple[str, ...] = ("haq", "ptq")

    def __post_init__(self) -> None:
        if not self.counts:
            raise ConfigError("sparse slice counts are empty; give at least one, e.g. 20")
        for k in self.counts:
            check_int("sparse slices used", k, 1, 10**6)
        if len(set(self.counts)) != len(self.counts):
            raise ConfigError(f"sparse slice counts repeat: {self.counts!r}")
        for s in self.schemes:
            if s not in ("haq", "ptq"):
                raise ConfigError(f"unknown scheme {s!r}; use haq or ptq")
        TrainConfig(steps=self.steps, batch=self.batch, learning_rate=self.learning_rate)
        check_range("sparse learning rate", self.learning_rate, 0.0, 1.0, lo_open=True)


def sparse_target(truth: np.ndarray, motion: float,
                  angles: tuple[float, float, float] = (0.0, 0.0, 0.0)
                  ) -> tuple[np.ndarray, str]:
    """The sparse task's default target for a model trained on ``truth``, and its name.

    A model trained on the phantom gets the phantom moved by ``motion``
    (another "phase"); a model trained on any other volume gets that volume
    itself (fine-tuning then only re-fits the chosen slices). ``angles``: the
    phantom's orientation the model was trained at (``phantom_angles``).
    """
    shape = truth.shape
    phantom = normalise(shepp_logan_3d(*shape, angles=angles))
    if np.array_equal(phantom, truth):
        turned = f" turned by {','.join(f'{a:g}' for a in angles)} deg" if any(angles) else ""
        return (shepp_logan_3d(*shape, motion=motion, angles=angles),
                f"phantom {'x'.join(map(str, shape))}{turned} moved by {motion:g}")
    return truth, "the model's own volume"


def slice_subset(n_slices: int, k: int) -> np.ndarray:
    """``k`` evenly spaced slice indices of ``n_slices`` (ends included; ``k = 1``: middle).

    Raises:
        ConfigError: ``k`` is not in ``1 .. n_slices``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n_slices:
        raise ConfigError(f"slice subset of {k!r} slices is larger than the volume "
                          f"({n_slices} slices) or below 1")
    if k == 1:
        return np.array([n_slices // 2])
    return np.round(np.linspace(0, n_slices - 1, k)).astype(int)


@dataclass(frozen=True, kw_only=True, eq=False)
class SparseResult:
    """Outcome of :func:`run_sparse`.

    Attributes:
        config: the sparse task.
        rows: one row per count (0 = no fine-tune): slices used, PSNR/SSIM of
            each method over the whole volume and PSNR over the unused slices.
        runs: the evaluated run of each count.
        slices: the slice indices used for each count.
    """

    config: SparseConfig
    rows: list[dict[str, Any]]
    runs: dict[int, FieldResult]
    slices: dict[int, np.ndarray]

    def summary(self) -> dict[str, Any]:
        """JSON-able figures: the rows and the paper's."""
        return {"sparse": self.rows, "sparse_paper": PAPER,
                "sparse_slices": {str(k): v.tolist() for k, v in self.slices.items()}}


def run_sparse(cfg: FieldConfig, hardware: HardwareSpec, sim: SimOptions, prep: Prepared,
               dense: Params, scfg: SparseConfig, *,
               progress: Callable[[str, int, int], None] | None = None) -> SparseResult:
    """Fine-tune ``dense`` on ``k`` slices of ``prep.truth`` for each ``k``; evaluate all slices.

    Args:
        cfg: the run (network, deployment); its training is replaced by ``scfg``'s
            fine-tune.
        hardware: the hardware the fine-tuned models are deployed on.
        sim: how its tiles compute.
        prep: the target volume, prepared with the dense model's encoder
            (:func:`cosim.workloads.field.field.prepare` with the same ``cfg``).
        dense: the dense model's parameters.
        scfg: counts and fine-tune budget.
        progress: ``progress(phase, done, total)``.

    Raises:
        ConfigError: a count larger than the target's slices.
    """
    n_slices, h, w = prep.truth.shape
    for k in scfg.counts:
        slice_subset(n_slices, k)  # refuse before any work
    ft = replace(cfg, training=TrainConfig(steps=scfg.steps, batch=scfg.batch,
                                           learning_rate=scfg.learning_rate,
                                           seed=cfg.training.seed))
    rows, runs, chosen = [], {}, {}
    for k in (0, *sorted(scfg.counts, reverse=True)):
        if k == 0:
            idx = np.array([], dtype=int)
            state = TrainState(params=dense, opt_state=None, step=0, losses=np.array([]))
        else:
            idx = slice_subset(n_slices, k)
            voxels = (idx[:, None] * (h * w) + np.arange(h * w)[None, :]).ravel()

            def tick(phase: str, done: int, total: int, k: int = k) -> None:
                if progress is not None:
                    progress(f"{phase} {k} slices", done, total)

            state = train_field(ft, prep, params=dense, voxels=voxels, progress=tick)
        run = evaluate_field(cfg, hardware, sim, prep, state, schemes=scfg.schemes)
        unused = np.setdiff1d(np.arange(n_slices), idx)
        row: dict[str, Any] = {"slices_used": k, "slices_total": n_slices,
                               "finetune_steps": state.step}
        for name, rec in run.recon.items():
            row[f"psnr_{name}"] = rec.psnr
            row[f"ssim_{name}"] = rec.ssim
            if unused.size:
                mse = float(np.mean((rec.volume[unused] - prep.truth[unused]) ** 2))
                row[f"psnr_unused_{name}"] = float(10 * np.log10(1.0 / mse)) if mse else np.inf
        rows.append(row)
        runs[k], chosen[k] = run, idx
    return SparseResult(config=scfg, rows=rows, runs=runs, slices=chosen)
