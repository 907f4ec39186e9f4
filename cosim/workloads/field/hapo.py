"""HAPO: a grid over per-layer bits, HAQ's ``s``, pruning ratio and rank (NF paper Methods eq. 1).

The NF paper picks the deployment (input/hidden/output bits, ``s``; optimum
14/14/12 and 1.5) by weighing reconstruction quality against the RRAM it
costs. Its eq. 1 is not reproduced here; the objective used here,
stated in every output, is

    J = PSNR_HAQ - lambda * log2(cells / cells_max)       (maximised)

with ``cells`` the RRAM cells of the deployed MLP (HAQ: one cell per bit
per weight), ``cells_max`` the most any grid point uses and ``lambda`` the dB a
doubling of the cells must buy (:attr:`HapoConfig.penalty_db`). ``lambda = 0``
picks the best PSNR.

Grid: every model variant (structured pruning keeps ``keep`` of each hidden
layer's neurons, :func:`cosim.workloads.field.mlp.prune_width`; ``rank`` cuts
every hidden matrix by SVD, :func:`cosim.workloads.field.mlp.truncate_rank`;
a variant that changed is fine-tuned for ``finetune_steps``) is deployed with
HAQ at every combination of bits and ``s`` (the same write-noise seed for
every point) and evaluated on ``eval_voxels`` voxels (a seeded sample; 0 for
all). No file I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.engine.options import SimOptions
from cosim.hardware.spec import HardwareSpec
from cosim.programming.base import MAX_BITS
from cosim.programming.binary import HAQ
from cosim.workloads.field.deploy import deploy_mlp, input_scales
from cosim.workloads.field.field import (
    FieldConfig,
    Prepared,
    scheme_rng,
    train_field,
    workload_sim,
)
from cosim.workloads.field.metrics import psnr
from cosim.workloads.field.mlp import Params, forward, n_weights, prune_width, truncate_rank

OBJECTIVE = ("J = PSNR_HAQ - lambda * log2(cells / cells_max), maximised; cells: RRAM cells "
             "of the deployed MLP; lambda: dB per doubling of cells")
PAPER = {"bits": [14, 14, 12], "amp_ratio": 1.5}
"""NF paper: the HAPO optimum."""


@dataclass(frozen=True, kw_only=True)
class HapoConfig:
    """The grid and the objective.

    Attributes:
        bits_input, bits_hidden, bits_output: bit widths tried per role.
        amp_ratios: HAQ ``s`` values tried.
        keep: fractions of hidden neurons kept (1.0: no pruning).
        ranks: ranks of the hidden matrices (0: the model's own).
        finetune_steps: Adam steps after pruning or a rank cut (0: none).
        penalty_db: ``lambda`` of the objective, dB per doubling of cells.
        eval_voxels: voxels evaluated per point (seeded sample); 0 for all.
    """

    bits_input: tuple[int, ...] = (10, 12, 14)
    bits_hidden: tuple[int, ...] = (10, 12, 14)
    bits_output: tuple[int, ...] = (8, 10, 12)
    amp_ratios: tuple[float, ...] = (1.3, 1.5, 1.8)
    keep: tuple[float, ...] = (1.0,)
    ranks: tuple[int, ...] = (0,)
    finetune_steps: int = 200
    penalty_db: float = 1.0
    eval_voxels: int = 65536

    def __post_init__(self) -> None:
        for name in ("bits_input", "bits_hidden", "bits_output", "amp_ratios", "keep", "ranks"):
            v = getattr(self, name)
            if not v:
                raise ConfigError(f"HAPO {name.replace('_', ' ')} is empty; give at least one")
            if len(set(v)) != len(v):
                raise ConfigError(f"HAPO {name.replace('_', ' ')} repeat: {v!r}")
        for role in ("input", "hidden", "output"):
            for b in getattr(self, f"bits_{role}"):
                check_int(f"{role} bits", b, 1, MAX_BITS)
        for s in self.amp_ratios:
            HAQ(n_bits=8, amp_ratio=s)  # the scheme's own rule for s
        for k in self.keep:
            check_range("kept fraction", k, 0.0, 1.0, lo_open=True)
        for r in self.ranks:
            check_int("rank", r, 0, 4096)
        check_int("fine-tuning steps", self.finetune_steps, 0, 10**7)
        if not np.isfinite(self.penalty_db):
            raise ConfigError(f"penalty must be a finite number >= 0, got {self.penalty_db!r}")
        check_range("penalty (dB per doubling of cells)", self.penalty_db, 0.0, 100.0)
        check_int("evaluated voxels", self.eval_voxels, 0, 10**8)

    @property
    def points(self) -> int:
        """Deployments on the grid."""
        return (len(self.bits_input) * len(self.bits_hidden) * len(self.bits_output)
                * len(self.amp_ratios) * len(self.keep) * len(self.ranks))


@dataclass(frozen=True, kw_only=True, eq=False)
class HapoResult:
    """Outcome of :func:`run_hapo`: one row per grid point, the optimum's index."""

    config: HapoConfig
    rows: list[dict[str, Any]]
    best: int

    def summary(self) -> dict[str, Any]:
        return {"hapo_points": len(self.rows), "hapo_objective": OBJECTIVE,
                "hapo_penalty_db": self.config.penalty_db, "hapo_optimum": self.rows[self.best],
                "hapo_paper": PAPER}


def _variant(params: Params, keep: float, rank: int) -> tuple[Params, bool]:
    out, changed = params, False
    width = params["W_in"].shape[1]
    n = max(1, int(round(keep * width)))
    if n < width:
        out, changed = prune_width(out, n), True
    if rank:
        cut = truncate_rank(out, rank)
        changed = changed or set(cut) != set(out) or any(cut[k].shape != out[k].shape
                                                          for k in cut)
        out = cut
    return out, changed


def run_hapo(cfg: FieldConfig, hardware: HardwareSpec, sim: SimOptions, prep: Prepared,
             params: Params, hcfg: HapoConfig, *,
             progress: Callable[[str, int, int], None] | None = None) -> HapoResult:
    """Deploy ``params`` at every grid point of ``hcfg`` with HAQ; PSNR, cells, objective.

    Args:
        cfg: the run (network, seed).
        hardware: the hardware every point is deployed on.
        sim: how its tiles compute.
        prep: the volume and features the model was trained on.
        params: the trained parameters.
        hcfg: the grid and objective.
        progress: ``progress("hapo", done, total)``.
    """
    n = prep.x.shape[0]
    if hcfg.eval_voxels and hcfg.eval_voxels < n:
        idx = np.sort(np.random.default_rng(cfg.seed).choice(n, hcfg.eval_voxels,
                                                             replace=False))
    else:
        idx = np.arange(n)
    truth = prep.truth.ravel()[idx]
    hw_feats = np.concatenate([prep.encoder.deployed(prep.x[idx[i:i + cfg.eval_chunk]])[0]
                               for i in range(0, len(idx), cfg.eval_chunk)])
    ft = replace(cfg, training=replace(cfg.training, steps=max(hcfg.finetune_steps, 1)))
    rows, done = [], 0
    for keep, rank in itertools.product(hcfg.keep, hcfg.ranks):
        p, changed = _variant(params, keep, rank)
        if changed and hcfg.finetune_steps:
            p = train_field(ft, prep, params=p).params
        sw = psnr(forward(p, prep.feats[idx], cfg.mlp), truth)
        scales = input_scales(p, prep.feats, cfg.mlp)
        for bi, bh, bo, s in itertools.product(hcfg.bits_input, hcfg.bits_hidden,
                                               hcfg.bits_output, hcfg.amp_ratios):
            c = replace(cfg, bits=(bi, bh, bo), amp_ratio=s)
            dep = deploy_mlp(p, cfg.mlp, c.mapping("haq"), hardware, workload_sim(sim),
                             scales, rng=scheme_rng(cfg, "haq"), seed=cfg.seed,
                             cordic=cfg.cordic, reads=cfg.layer_reads)
            pred = np.concatenate([dep.forward(hw_feats[i:i + cfg.eval_chunk])[0]
                                   for i in range(0, len(idx), cfg.eval_chunk)])
            rows.append({"bits_input": bi, "bits_hidden": bh, "bits_output": bo,
                         "amp_ratio": s, "keep": keep, "rank": rank or _rank(p),
                         "width": p["W_in"].shape[1], "weights": n_weights(p),
                         "cells": dep.cells, "psnr_software": sw,
                         "psnr_haq": psnr(pred, truth)})
            done += 1
            if progress is not None:
                progress("hapo", done, hcfg.points)
    return HapoResult(config=hcfg, rows=rows, best=choose(rows, hcfg.penalty_db))


def choose(rows: list[dict[str, Any]], penalty_db: float) -> int:
    """Write the objective (:data:`OBJECTIVE`) into ``rows``; the index of its maximum.

    Ties go to the first row (grid order).
    """
    cmax = max(r["cells"] for r in rows)
    for r in rows:
        r["objective"] = r["psnr_haq"] - penalty_db * float(np.log2(r["cells"] / cmax))
    return int(np.argmax([r["objective"] for r in rows]))


def _rank(p: Params) -> int:
    return int(p["U1"].shape[1]) if "U1" in p else 0
