"""Reconstruction quality: PSNR and SSIM, per slice and over the volume.

- **PSNR** ``= 10 log10(R^2 / MSE)`` with data range ``R = 1`` (volumes are
  normalised to ``[0, 1]``); predictions are *not* clipped. Over the volume
  it uses the MSE of all voxels (not the mean of slice PSNRs).
- **SSIM**: scikit-image ``structural_similarity`` on each slice (2D),
  ``data_range = 1``, its default window: uniform 7 x 7, ``K1 = 0.01``,
  ``K2 = 0.03``; over the volume the mean of the slice SSIMs.
"""

from __future__ import annotations

import numpy as np

from circuits.errors import ConfigError

DATA_RANGE = 1.0
CONVENTION = ("PSNR = 10 log10(1 / MSE), data range 1 (volume in [0, 1]), predictions "
              "unclipped, volume PSNR from the MSE of all voxels; SSIM: scikit-image "
              "structural_similarity per 2D slice, data_range 1, uniform 7x7 window, "
              "K1 0.01, K2 0.03, volume SSIM = mean over slices")


def psnr(pred: np.ndarray, truth: np.ndarray, data_range: float = DATA_RANGE) -> float:
    """PSNR in dB; ``inf`` for a perfect prediction."""
    pred, truth = np.asarray(pred, dtype=float), np.asarray(truth, dtype=float)
    if pred.shape != truth.shape:
        raise ConfigError(f"prediction {pred.shape} and truth {truth.shape} differ in shape")
    mse = float(np.mean((pred - truth) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim_slices(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """SSIM of every slice, ``(slices,)``."""
    from skimage.metrics import structural_similarity

    return np.array([structural_similarity(t, p, data_range=DATA_RANGE)
                     for p, t in zip(np.asarray(pred, float), np.asarray(truth, float),
                                     strict=True)])


def psnr_slices(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """PSNR of every slice, ``(slices,)``."""
    return np.array([psnr(p, t) for p, t in zip(pred, truth, strict=True)])
