"""Sparse reconstruction (NF paper Fig. 4e): fine-tune the dense model on a few slices.

The dense model (trained on every slice of one volume) is fine-tuned on the
voxels of ``k`` evenly spaced slices of the *target* volume, then evaluated on
every slice of it (software, HAQ and PTQ, as the dense task). In the paper the
target is another phase of the 4D-CT (with a user's 4D volume: another frame,
``cosim field sparse --frame F --target-frame T``); with the phantom it is
``shepp_logan_3d(..., motion=m)`` (stretched in-plane and moved along z, see
:mod:`.phantom`), so the dense model alone does not fit it and the fine-tune
has something to learn. ``k = 0`` is the dense model without fine-tuning.

Anchoring (``SparseConfig.anchor_weight``, default 4). A fine-tune on the chosen
slices alone is free to change the field between them: the field's
frequencies along z (the encoding's and the SIREN layers') lie far above
what ``k`` slices pin down, so fitting the chosen slices moves the others
at will, and the slices it never saw end up further from the target than
the dense model left them (measured in ``docs/measurements/field.md``).
Anchored, the fine-tune fits one volume: the target's voxels on the chosen
slices and the dense model's own prediction on every other slice of the
grid (each of those voxels weighted ``anchor_weight`` against one of the
target's), so the only target data it uses are still the ``k`` slices, and
where it has none it keeps what the dense model knew.

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
from cosim.workloads.field.metrics import psnr
from cosim.workloads.field.mlp import Params, TrainConfig, TrainState, forward
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
        anchor_weight: weight (an integer 0 .. 16) of the dense model's prediction
            on the slices not chosen, per voxel against a voxel of the target's
            chosen slices (module docstring; its voxels are drawn that many times as
            often); 0: the chosen slices alone, an unanchored fine-tune.
    """

    counts: tuple[int, ...] = (20, 10, 5)
    steps: int = 500
    batch: int = 16384
    learning_rate: float = 1e-4
    schemes: tuple[str, ...] = ("haq", "ptq")
    anchor_weight: int = 4

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
        check_int("sparse anchor weight", self.anchor_weight, 0, 16)
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


def check_source_frame(truth: np.ndarray, frame_volume: np.ndarray, frame: int, path: str,
                       model: str) -> None:
    """Refuse a 4D protocol whose model was not trained on ``frame`` of ``path``.

    ``truth``: the model's stored (normalised) volume; ``frame_volume``: that frame as
    loaded. Equal after :func:`normalise` to a relative 1e-6 of the range.

    Raises:
        ConfigError: different shape or contents.
    """
    if truth.shape != frame_volume.shape or not np.allclose(
            normalise(frame_volume), truth, rtol=0.0, atol=1e-6):
        raise ConfigError(f"--model {model} was not trained on frame {frame} of {path} "
                          f"(train it with 'cosim field train --volume {path} --frame {frame}')")


def anchored_target(target: np.ndarray, dense_volume: np.ndarray, idx: np.ndarray
                    ) -> np.ndarray:
    """The volume an anchored fine-tune fits: ``target`` on slices ``idx``, the dense
    model's prediction ``dense_volume`` (same shape) on every other slice."""
    out = np.array(dense_volume, dtype=float, copy=True)
    out[idx] = target[idx]
    return out


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
            each method over the whole volume, PSNR over the slices used
            (``psnr_used_*``) and over the others (``psnr_unused_*``; for
            ``k = 0`` both over the largest count's split), and the
            no-fine-tune model's PSNR over the same unused slices
            (``psnr_unused_*_dense``).
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
    dense_volume = forward(dense, prep.feats, cfg.mlp).reshape(prep.truth.shape)
    for k in (0, *sorted(scfg.counts, reverse=True)):
        if k == 0:
            idx = np.array([], dtype=int)
            split = slice_subset(n_slices, max(scfg.counts))
            state = TrainState(params=dense, opt_state=None, step=0, losses=np.array([]))
        else:
            idx = split = slice_subset(n_slices, k)

            def tick(phase: str, done: int, total: int, k: int = k) -> None:
                if progress is not None:
                    progress(f"{phase} {k} slices", done, total)

            seen = (idx[:, None] * (h * w) + np.arange(h * w)[None, :]).ravel()
            if scfg.anchor_weight:
                others = np.setdiff1d(np.arange(prep.truth.size), seen)
                voxels = np.concatenate([seen, *[others] * scfg.anchor_weight])
                state = train_field(ft, replace(prep, truth=anchored_target(
                    prep.truth, dense_volume, idx)), params=dense, voxels=voxels,
                    progress=tick)
            else:
                state = train_field(ft, prep, params=dense, voxels=seen, progress=tick)
        run = evaluate_field(cfg, hardware, sim, prep, state, schemes=scfg.schemes)
        unused = np.setdiff1d(np.arange(n_slices), split)
        row: dict[str, Any] = {"slices_used": k, "slices_total": n_slices,
                               "finetune_steps": state.step}
        for name, rec in run.recon.items():
            row[f"psnr_{name}"] = rec.psnr
            row[f"ssim_{name}"] = rec.ssim
            row[f"psnr_used_{name}"] = psnr(rec.volume[split], prep.truth[split])
            if unused.size:
                row[f"psnr_unused_{name}"] = psnr(rec.volume[unused], prep.truth[unused])
                if k:  # the no-fine-tune model on the same slices
                    row[f"psnr_unused_{name}_dense"] = psnr(
                        runs[0].recon[name].volume[unused], prep.truth[unused])
        rows.append(row)
        runs[k], chosen[k] = run, idx
    return SparseResult(config=scfg, rows=rows, runs=runs, slices=chosen)
