"""The sparse task's suspects, each varied alone, at a small size (software only).

Usage::

    .venv/bin/python benchmarks/bench_field_sparse_suspects.py [--phantom 40x64x64]
        [--dense-steps 2000] [--sigma 4] [--rows all|ceilings|ROW,ROW...]

Trains the dense model (paper network, Gaussian encoding of scale ``--sigma``,
Adam lr 1e-3, batch 4096) on the phantom, then for each row fine-tunes it on
``k`` evenly spaced slices of the phantom moved by ``motion``
(:func:`cosim.workloads.field.sparse.run_sparse`, no deployment) and prints
the software PSNR over the slices used, the others, and the volume, with and
without the fine-tune. ``ceilings`` prints, without any training, what the
unseen slices can be recovered to from the exact phantoms: the phase the
dense model saw against the target (a perfect dense model, no fine-tune) and
the target's own chosen slices interpolated linearly along z.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

ROWS = {  # name: motion, slices, learning rate, steps, batch, anchor weight
    "before": (0.05, 20, 3e-4, 500, 16384, 0),
    "same_phase": (0.0, 20, 3e-4, 500, 16384, 0),
    "same_phase_lr1e-5": (0.0, 20, 1e-5, 500, 16384, 0),
    "same_phase_lr3e-5": (0.0, 20, 3e-5, 500, 16384, 0),
    "same_phase_100_steps": (0.0, 20, 3e-4, 100, 16384, 0),
    "lr1e-5": (0.05, 20, 1e-5, 500, 16384, 0),
    "motion_0.005": (0.005, 20, 3e-4, 500, 16384, 0),
    "motion_0.005_lr1e-5": (0.005, 20, 1e-5, 500, 16384, 0),
    "same_phase_anchor1_lr3e-4": (0.0, 20, 3e-4, 500, 16384, 1),
    "same_phase_anchor1": (0.0, 20, 1e-4, 500, 16384, 1),
    "same_phase_anchor4": (0.0, 20, 1e-4, 500, 16384, 4),
    "anchor1_lr3e-4": (0.05, 20, 3e-4, 500, 16384, 1),
    "anchor1": (0.05, 20, 1e-4, 500, 16384, 1),
    "anchor4": (0.05, 20, 1e-4, 500, 16384, 4),
    "same_phase_5_anchor1_lr3e-4": (0.0, 5, 3e-4, 500, 16384, 1),
}


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))


def interpolate_z(volume: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``volume``'s slices ``idx`` (ascending) interpolated linearly along z to every slice
    (held constant beyond the ends)."""
    n, k = volume.shape[0], len(idx)
    z = np.arange(n)
    flat = volume[idx].reshape(k, -1)
    hi = np.searchsorted(idx, z).clip(1, k - 1)
    lo = hi - 1
    t = ((z - idx[lo]) / (idx[hi] - idx[lo])).clip(0, 1)[:, None]
    return ((1 - t) * flat[lo] + t * flat[hi]).reshape(volume.shape)


def ceilings(shape: tuple[int, int, int]) -> list[dict]:
    from cosim.workloads.field.phantom import shepp_logan_3d
    from cosim.workloads.field.sparse import slice_subset
    from cosim.workloads.field.volume import normalise

    src = normalise(shepp_logan_3d(*shape))
    out = []
    for motion in (0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0):
        tgt = normalise(shepp_logan_3d(*shape, motion=motion)) if motion else src
        for k in (20, 5):
            idx = slice_subset(shape[0], k)
            un = np.setdiff1d(np.arange(shape[0]), idx)
            out.append({"motion": motion, "slices": k,
                        "unseen_dense_phase": _psnr(src[un], tgt[un]),
                        "unseen_interpolated": _psnr(interpolate_z(tgt, idx)[un], tgt[un])})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phantom", default="40x64x64")
    ap.add_argument("--dense-steps", type=int, default=2000)
    ap.add_argument("--sigma", type=float, default=4.0)
    ap.add_argument("--rows", default="all")
    a = ap.parse_args()
    from timing import apply_thread_rule  # the rule of every cosim command
    apply_thread_rule()
    shape = tuple(int(s) for s in a.phantom.split("x"))
    if a.rows == "ceilings":
        for r in ceilings(shape):
            print(json.dumps(r))
        return
    from cosim.engine.options import SimOptions
    from cosim.hardware.presets import preset
    from cosim.workloads.field.encoder import EncoderConfig
    from cosim.workloads.field.field import FieldConfig, prepare, train_field
    from cosim.workloads.field.phantom import shepp_logan_3d
    from cosim.workloads.field.sparse import SparseConfig, run_sparse

    names = list(ROWS) if a.rows == "all" else a.rows.split(",")
    hw, sim = preset("paper"), SimOptions(backend="ideal")
    from cosim.workloads.field.mlp import TrainConfig

    cfg = FieldConfig(phantom_shape=shape, encoder=EncoderConfig(sigma=a.sigma),
                      training=TrainConfig(steps=a.dense_steps, batch=4096, learning_rate=1e-3))
    t0 = time.perf_counter()
    dense = train_field(cfg, prepare(cfg, hw, sim)).params
    print(json.dumps({"dense_s": time.perf_counter() - t0, "load": os.getloadavg()[0]}))
    for name in names:
        motion, k, lr, steps, batch, weight = ROWS[name]
        target = prepare(cfg, hw, sim, shepp_logan_3d(*shape, motion=motion))
        t0 = time.perf_counter()
        res = run_sparse(cfg, hw, sim, target, dense,
                         SparseConfig(counts=(k,), steps=steps, batch=batch, learning_rate=lr,
                                      schemes=(), anchor_weight=weight))
        no_ft, ft = res.rows
        print(json.dumps({
            "row": name, "motion": motion, "slices": k, "lr": lr, "steps": steps,
            "anchor_weight": weight,
            **{f"no_finetune_{p}": no_ft[f"psnr{s}_software"]
               for p, s in (("used", "_used"), ("unused", "_unused"), ("all", ""))},
            **{f"finetune_{p}": ft[f"psnr{s}_software"]
               for p, s in (("used", "_used"), ("unused", "_unused"), ("all", ""))},
            "s": time.perf_counter() - t0, "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
