"""Inpainting data: images padded to 32 x 32, a central square removed.

PRIME (Methods, and its code): MNIST digits padded to 32 x 32, scaled to
``[-1, 1]``, the central 8 x 8 pixels set to -1. :func:`inpainting_set` does this
for any ``(N, H, W)`` image set no larger than 32 x 32; :func:`load_images`
reads a user's set in the formats ``cosim snn --data`` takes (a folder with
``images.npy`` [+ ``labels.npy``], or IDX ``*images*`` [+ ``*labels*``], plain or gzipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from circuits.errors import ConfigError, check_int
from circuits.files import load_npy, regular_file
from cosim.workloads.inpaint.network import IMAGE
from cosim.workloads.snn.data import read_idx


@dataclass(frozen=True, kw_only=True, eq=False)
class InpaintSet:
    """Images for inpainting, in ``[-1, 1]``.

    Attributes:
        target: the padded images ``(N, 32, 32)``.
        masked: the same with the central square at -1.
        mask: ``(32, 32)`` booleans, true in the removed square.
        labels: ``(N,)`` class labels, or ``None`` when the set has none.
    """

    target: np.ndarray
    masked: np.ndarray
    mask: np.ndarray
    labels: np.ndarray | None

    def subset(self, idx: np.ndarray) -> InpaintSet:
        return InpaintSet(target=self.target[idx], masked=self.masked[idx], mask=self.mask,
                          labels=None if self.labels is None else self.labels[idx])


def inpainting_set(images: np.ndarray, labels: np.ndarray | None = None, *,
                   mask_px: int = 8) -> InpaintSet:
    """Pad ``images (N, H, W)`` (any range; scaled by their own min and max to ``[-1, 1]``)
    to 32 x 32 and remove the central ``mask_px`` square.

    Raises:
        ConfigError: not a non-empty ``(N, H, W)`` set with ``H, W <= 32``, a mask not
            smaller than 32, labels that do not match, or constant images.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ConfigError(f"images must be a non-empty (N, H, W) array, got shape "
                          f"{images.shape}")
    n, h, w = images.shape
    if h > IMAGE or w > IMAGE or h < 1 or w < 1:
        raise ConfigError(f"images are {h} x {w} pixels; the spiking VAE takes images up to "
                          f"{IMAGE} x {IMAGE} (padded to {IMAGE} x {IMAGE})")
    check_int("mask size (pixels)", mask_px, 1, IMAGE - 1)
    if mask_px >= min(h, w):
        raise ConfigError(f"the {mask_px} x {mask_px} mask is not smaller than the {h} x {w} "
                          "images")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.shape != (n,):
            raise ConfigError(f"{labels.size} labels for {n} images")
        labels = labels.astype(np.int64)
    a = images.astype(np.float64)
    lo, hi = float(a.min()), float(a.max())
    if not np.isfinite(lo) or not np.isfinite(hi) or hi <= lo:
        raise ConfigError(f"images must be finite and not all equal (range {lo} to {hi})")
    a = 2.0 * (a - lo) / (hi - lo) - 1.0
    top, left = (IMAGE - h) // 2, (IMAGE - w) // 2
    target = np.full((n, IMAGE, IMAGE), -1.0, np.float32)
    target[:, top:top + h, left:left + w] = a
    mask = np.zeros((IMAGE, IMAGE), bool)
    m0 = (IMAGE - mask_px) // 2
    mask[m0:m0 + mask_px, m0:m0 + mask_px] = True
    masked = target.copy()
    masked[:, mask] = -1.0
    return InpaintSet(target=target, masked=masked, mask=mask, labels=labels)


def _find(root: Path, patterns: tuple[str, ...]) -> Path | None:
    for pat in patterns:
        hits = sorted(p for p in root.glob(pat) if not p.is_dir())
        if hits:
            return regular_file(hits[0], "--data file")
    return None


def user_image_files(path: Path | str) -> tuple[str, Path, Path | None]:
    """What ``--data PATH`` holds, checked before reading: ``(kind, images, labels)``.

    ``PATH`` is a folder with ``images.npy`` (``labels.npy`` optional) or IDX
    files ``*images*`` (``*labels*`` optional), or one ``.npy`` / IDX images file.

    Raises:
        ConfigError: the path is missing or holds neither.
    """
    root = Path(path)
    if not root.exists():
        raise ConfigError(f"--data {root} does not exist")
    if root.is_file():
        kind = "npy" if root.suffix == ".npy" else "idx"
        return kind, regular_file(root, "--data file"), None
    img = _find(root, ("images.npy",))
    if img is not None:
        lab = _find(root, ("labels.npy",))
        return "npy", img, lab
    img = _find(root, ("*images*idx*", "*images*.gz", "*images*"))
    if img is None:
        raise ConfigError(f"--data {root} holds no images.npy and no IDX *images* file")
    return "idx", img, _find(root, ("*labels*idx*", "*labels*.gz", "*labels*"))


def load_images(path: Path | str) -> tuple[np.ndarray, np.ndarray | None]:
    """The images (and labels, when there) of ``--data PATH`` (:func:`user_image_files`).

    Raises:
        ConfigError: a file that is empty, unreadable or of the wrong kind.
    """
    kind, img_p, lab_p = user_image_files(path)
    for f in (img_p, lab_p):
        if f is not None and regular_file(f, "--data file").stat().st_size == 0:
            raise ConfigError(f"--data file {f} is empty")
    if kind == "npy":
        images = load_npy(img_p, f"--data images {img_p}", work_bytes_per_value=8.0)
        labels = None if lab_p is None else load_npy(lab_p, f"--data labels {lab_p}")
    else:
        images = read_idx(img_p)
        labels = None if lab_p is None else read_idx(lab_p)
    return np.asarray(images), None if labels is None else np.asarray(labels)
