"""Cameras, rays, sampling along rays and volume rendering (NF paper eqs. 6-7).

Conventions (those of the Blender scenes of NeRF, Mildenhall et al. 2020, and of
D-NeRF, Pumarola et al. 2021):

- a frame's ``transform_matrix`` is camera-to-world, ``(4, 4)``; the camera looks
  along its ``-z`` axis, ``+y`` is up in the image, ``+x`` to the right;
- focal length in pixels ``f = W / (2 tan(camera_angle_x / 2))``;
- the ray of pixel (column ``i``, row ``j``) goes through the pixel's centre:
  camera direction ``((i + 0.5 - W/2) / f, -(j + 0.5 - H/2) / f, -1)``. Directions
  are normalised, so ``t`` along a ray is a distance in scene units and
  ``near``/``far`` (2 and 6 in the Blender scenes) are distances.

Sampling: each ray is cut to the part inside the axis-aligned box
``[-bound, bound]^3`` (the scene's bounds) and ``[near, far]``, and that segment into
``n`` equal bins; one sample per bin, at a uniform random place in the bin
(stratified, for training) or at its centre (evaluation). Each sample stands for
its whole bin: ``delta_i`` is the bin's length, so ``sum_i sigma_i delta_i`` is the
midpoint rule (or its stratified Monte Carlo form) for the optical depth along the
segment, and a ray that misses the box has zero length.

Volume rendering (NF paper eqs. 6-7, NeRF eq. 3)::

    alpha_i = 1 - exp(-sigma_i delta_i),   T_i = exp(-sum_{j<i} sigma_j delta_j)
    C = sum_i T_i alpha_i c_i + T_n * background,   T_n = exp(-sum_i sigma_i delta_i)

``sum_i T_i alpha_i = 1 - T_n`` exactly (the sum telescopes), so the opacity is
``1 - T_n``. The compositing functions take the array module (numpy or
``jax.numpy``) so training and evaluation run the same formula.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int, check_range


def focal_px(width: int, camera_angle_x: float) -> float:
    """Focal length in pixels from the horizontal field of view (radians)."""
    if not (np.isfinite(camera_angle_x) and 0.0 < camera_angle_x < np.pi):
        raise ConfigError(f"camera_angle_x must be in (0, pi) radians, got {camera_angle_x!r}")
    return 0.5 * width / np.tan(0.5 * camera_angle_x)


def camera_rays(c2w: np.ndarray, height: int, width: int, focal: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Origins and unit directions of every pixel's ray, ``(H*W, 3)`` each, row-major."""
    c2w = np.asarray(c2w, dtype=float)
    i, j = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5, indexing="xy")
    d_cam = np.stack([(i - 0.5 * width) / focal, -(j - 0.5 * height) / focal,
                      -np.ones_like(i)], axis=-1).reshape(-1, 3)
    d = d_cam @ c2w[:3, :3].T
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    o = np.broadcast_to(c2w[:3, 3], d.shape).copy()
    return o, d


def look_at(position: np.ndarray, up: tuple[float, float, float] = (0.0, 0.0, 1.0)
            ) -> np.ndarray:
    """Camera-to-world matrix of a camera at ``position`` looking at the origin, ``+z`` up."""
    p = np.asarray(position, dtype=float)
    z = p / np.linalg.norm(p)  # the camera looks along -z
    x = np.cross(np.asarray(up, dtype=float), z)
    if np.linalg.norm(x) < 1e-9:  # looking straight down or up
        x = np.cross((0.0, 1.0, 0.0), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, p
    return m


def ray_segments(origins: np.ndarray, dirs: np.ndarray, bound: float, near: float, far: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(t0, t1)`` of each ray inside ``[-bound, bound]^3`` and ``[near, far]`` (slab method);
    ``t0 == t1`` for a ray that misses."""
    check_range("scene bound", bound, 0.0, lo_open=True)
    if not (0 <= near < far):
        raise ConfigError(f"near and far must satisfy 0 <= near < far, got {near!r}, {far!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dirs
        a = (-bound - origins) * inv
        b = (bound - origins) * inv
    lo = np.nan_to_num(np.minimum(a, b), nan=-np.inf)
    hi = np.nan_to_num(np.maximum(a, b), nan=np.inf)
    t0 = np.maximum(lo.max(axis=1), near)
    t1 = np.minimum(hi.min(axis=1), far)
    t1 = np.maximum(t1, t0)
    return t0, t1


def sample_along(t0: Any, t1: Any, n: int, jitter: Any = None, xp: Any = np) -> tuple[Any, Any]:
    """Sample distances ``(N, n)`` and bin lengths ``(N, n)`` on segments ``[t0, t1]``.

    Args:
        t0, t1: segment ends, ``(N,)``.
        n: bins (samples) per ray.
        jitter: place of each sample in its bin, ``(N, n)`` in ``[0, 1)``; ``None``
            for bin centres.
        xp: ``numpy`` or ``jax.numpy``.
    """
    check_int("samples per ray", n, 1, 1 << 16)
    width = (t1 - t0)[:, None] / n
    u = 0.5 if jitter is None else jitter
    t = t0[:, None] + (xp.arange(n)[None, :] + u) * width
    return t, xp.broadcast_to(width, t.shape)


def composite(sigma: Any, rgb: Any, delta: Any, background: Any, xp: Any = np
              ) -> tuple[Any, Any, Any]:
    """Volume rendering (module docstring): colour ``(N, 3)``, opacity ``(N,)``, weights ``(N, n)``.

    Args:
        sigma: densities ``(N, n)`` (>= 0), per unit length.
        rgb: colours ``(N, n, 3)``.
        delta: bin lengths ``(N, n)``.
        background: colour behind the scene, ``(3,)``.
        xp: ``numpy`` or ``jax.numpy``.
    """
    tau = sigma * delta
    alpha = 1.0 - xp.exp(-tau)
    depth_before = xp.cumsum(tau, axis=1) - tau  # exclusive: sum over j < i
    weights = xp.exp(-depth_before) * alpha
    opacity = xp.sum(weights, axis=1)
    colour = xp.sum(weights[..., None] * rgb, axis=1) + (1.0 - opacity)[:, None] * background
    return colour, opacity, weights


def transmittance(sigma: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``T_n = exp(-sum_i sigma_i delta_i)`` of each ray, ``(N,)``."""
    return np.exp(-np.sum(np.asarray(sigma) * np.asarray(delta), axis=1))
