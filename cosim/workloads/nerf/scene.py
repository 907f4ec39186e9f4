"""The procedural scene: coloured Gaussian density blobs, rendered exactly by NeRF's image model.

No scene can be downloaded at run time, so the default data is rendered here with
the image model NeRF learns (emission-absorption, NF paper eqs. 6-7,
:mod:`.render`) at dense quadrature, so the ground truth is the model's own:

- **density**: a sum of anisotropic Gaussians, ``sigma(x) = sum_k a_k exp(-q_k / 2)``,
  ``q_k = (x - mu_k)^T R_k S_k^-2 R_k^T (x - mu_k)`` (peak density ``a_k`` per scene
  unit, axis standard deviations ``S_k``, rotation ``R_k`` about ``z``);
- **colour**: each blob is lit by one distant light ``l``: albedo times
  ``(ambient + (1 - ambient) max(n.l, 0))`` plus a white specular lobe
  ``specular max(r.v, 0)^shininess`` (``n`` the normal of the blob's level set at
  ``x``, ``r`` the light reflected about it, ``v`` towards the camera), which
  makes the colour depend on the view direction; where blobs overlap their
  colours mix in proportion to their densities; clipped to ``[0, 1]``;
- **motion** (the dynamic scene, ``t`` in ``[0, 1]``): each centre moves as
  ``mu_k(t) = mu_k + v_k t + b_k sin(pi t)``; ``t = 0`` is the canonical scene.

Cameras as in the Blender scenes of NeRF: on a sphere of radius 4.0311 looking at
the origin, field of view 0.6911 rad, ``near = 2``, ``far = 6``, white background,
the scene inside ``[-1.5, 1.5]^3``. Training and validation cameras are drawn
uniformly over the band of the sphere between elevations ``elevation_deg``; test
cameras lie on a circle at 30 degrees elevation, evenly spaced in azimuth (as the
Blender test paths). The dynamic scene has one camera per frame (monocular, as
D-NeRF): training frame ``i`` of ``n`` is at ``t = i / (n - 1)``, validation and test
frames at times between them.

Ground truth: every ray's segment inside the box is cut into ``gt_samples`` bins
(midpoint rule, :func:`.render.sample_along`); the images are straight (not
premultiplied) RGBA: colour ``C / A`` and opacity ``A = 1 - T_n``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circuits.errors import ConfigError, check_int, check_range
from cosim.workloads.nerf.render import (
    camera_rays,
    composite,
    focal_px,
    look_at,
    ray_segments,
    sample_along,
)

BLENDER = {"camera_radius": 4.0311, "camera_angle_x": 0.6911112070083618, "near": 2.0,
           "far": 6.0, "bound": 1.5}
"""The Blender scenes' camera distance, field of view (the lego scene's), near and far
planes (NeRF code) and the box their objects lie in."""


@dataclass(frozen=True, kw_only=True)
class Blob:
    """One Gaussian density blob.

    Attributes:
        centre: ``mu`` at ``t = 0`` (scene units).
        std: standard deviations along the blob's axes (scene units).
        yaw_deg: rotation of the axes about ``z`` (degrees).
        density: peak density ``a`` (per scene unit of length).
        albedo: RGB in ``[0, 1]``.
        velocity: ``v``, scene units per unit of time (dynamic scene).
        bounce: ``b``, amplitude of the ``sin(pi t)`` motion (dynamic scene).
    """

    centre: tuple[float, float, float]
    std: tuple[float, float, float]
    yaw_deg: float = 0.0
    density: float = 20.0
    albedo: tuple[float, float, float]
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    bounce: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        for name in ("centre", "std", "albedo", "velocity", "bounce"):
            v = getattr(self, name)
            if len(v) != 3 or not np.all(np.isfinite(v)):
                raise ConfigError(f"blob {name} must be three finite numbers, got {v!r}")
        if min(self.std) <= 0:
            raise ConfigError(f"blob std must be > 0, got {self.std!r}")
        if min(self.albedo) < 0 or max(self.albedo) > 1:
            raise ConfigError(f"blob albedo must lie in [0, 1], got {self.albedo!r}")
        check_range("blob density", self.density, 0.0, 1e6, lo_open=True)

    def centre_at(self, t: float) -> np.ndarray:
        """``mu(t)``."""
        return (np.asarray(self.centre) + np.asarray(self.velocity) * t
                + np.asarray(self.bounce) * np.sin(np.pi * t))

    @property
    def rotation(self) -> np.ndarray:
        """``R``: the blob's axes as columns."""
        a = np.radians(self.yaw_deg)
        c, s = np.cos(a), np.sin(a)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


DEFAULT_BLOBS = (
    Blob(centre=(0.35, -0.05, 0.05), std=(0.38, 0.2, 0.2), yaw_deg=30.0,
         albedo=(0.9, 0.22, 0.15), velocity=(-0.3, 0.2, 0.0)),
    Blob(centre=(-0.45, 0.35, -0.05), std=(0.22, 0.22, 0.3), albedo=(0.2, 0.78, 0.3),
         velocity=(0.15, -0.25, 0.0)),
    Blob(centre=(0.05, -0.55, 0.25), std=(0.26, 0.14, 0.15), yaw_deg=-40.0,
         albedo=(0.2, 0.35, 0.9), bounce=(0.0, 0.0, 0.3)),
    Blob(centre=(-0.1, 0.1, 0.62), std=(0.16, 0.16, 0.16), albedo=(0.95, 0.82, 0.2),
         bounce=(0.25, 0.0, 0.2)),
    Blob(centre=(0.0, 0.0, -0.5), std=(0.55, 0.45, 0.08), yaw_deg=15.0, density=30.0,
         albedo=(0.62, 0.35, 0.72)),
)
"""The default scene: four coloured ellipsoids over a flat plate; all within
``[-1.2, 1.2]^3`` (3 standard deviations) at every time."""


@dataclass(frozen=True, kw_only=True)
class Lighting:
    """The scene's one distant light and its shading.

    Attributes:
        direction: towards the light (normalised on use).
        ambient: share of the albedo lit regardless of the normal.
        specular: strength of the white specular lobe.
        shininess: its exponent.
    """

    direction: tuple[float, float, float] = (0.45, 0.3, 0.85)
    ambient: float = 0.35
    specular: float = 0.3
    shininess: float = 8.0

    def __post_init__(self) -> None:
        if len(self.direction) != 3 or not np.all(np.isfinite(self.direction)) \
                or np.linalg.norm(self.direction) == 0:
            raise ConfigError(f"light direction must be a nonzero 3-vector, got "
                              f"{self.direction!r}")
        check_range("ambient", self.ambient, 0.0, 1.0)
        check_range("specular", self.specular, 0.0, 1.0)
        check_range("shininess", self.shininess, 0.0, 1e3, lo_open=True)


@dataclass(frozen=True, kw_only=True)
class SceneConfig:
    """The procedural scene and its views.

    Attributes:
        dynamic: blobs move with ``t`` (one camera per frame), else static.
        size_px: images are ``size_px x size_px``.
        n_train, n_val, n_test: views (frames) per split.
        elevation_deg: range of the training and validation cameras' elevation.
        gt_samples: quadrature bins per ray of the ground truth.
        seed: seed of the camera draws.
        blobs: the density blobs.
        lighting: the light.
    """

    dynamic: bool = False
    size_px: int = 64
    n_train: int = 100
    n_val: int = 4
    n_test: int = 8
    elevation_deg: tuple[float, float] = (-15.0, 75.0)
    gt_samples: int = 128
    seed: int = 0
    blobs: tuple[Blob, ...] = DEFAULT_BLOBS
    lighting: Lighting = field(default_factory=Lighting)

    def __post_init__(self) -> None:
        if not isinstance(self.dynamic, bool):
            raise ConfigError(f"dynamic must be true or false, got {self.dynamic!r}")
        check_int("image size (px)", self.size_px, 4, 1024)
        check_int("training views", self.n_train, 2, 10_000)
        check_int("validation views", self.n_val, 0, 10_000)
        check_int("test views", self.n_test, 1, 10_000)
        lo, hi = self.elevation_deg
        if not (-90.0 <= lo <= hi <= 90.0):
            raise ConfigError(f"elevation range must satisfy -90 <= low <= high <= 90 degrees, "
                              f"got {self.elevation_deg!r}")
        check_int("ground-truth samples per ray", self.gt_samples, 16, 1 << 16)
        check_int("scene seed", self.seed, 0, 2**32 - 1)
        if not self.blobs:
            raise ConfigError("a scene needs at least one blob")


def density_and_colour(blobs: tuple[Blob, ...], lighting: Lighting, x: np.ndarray,
                       view: np.ndarray, t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Density ``(...,)`` and colour ``(..., 3)`` at points ``x`` seen along ``view`` (unit
    ray directions, broadcast against ``x``) at time ``t`` (module docstring). A blob is
    evaluated only within :data:`EXTENT_STD` standard deviations of its centre."""
    x = np.asarray(x, dtype=float)
    shape = x.shape[:-1]
    x = x.reshape(-1, 3)
    to_eye = -np.broadcast_to(view, shape + (3,)).reshape(-1, 3)
    light = np.asarray(lighting.direction, dtype=float)
    light = light / np.linalg.norm(light)
    sigma = np.zeros(len(x))
    mixed = np.zeros(x.shape)
    for b in blobs:
        rot, std = b.rotation, np.asarray(b.std)
        local = ((x - b.centre_at(t)) @ rot) / std
        q = np.einsum("ij,ij->i", local, local)
        idx = np.flatnonzero(q < EXTENT_STD**2)
        local = local[idx]
        s = b.density * np.exp(-0.5 * q[idx])
        n = (local / std) @ rot.T  # gradient direction of q: the outward normal
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        ndl = n @ light
        refl = 2.0 * ndl[:, None] * n - light
        spec = np.maximum(np.einsum("ij,ij->i", refl, to_eye[idx]), 0.0) ** lighting.shininess
        c = (np.asarray(b.albedo) * (lighting.ambient + (1 - lighting.ambient)
                                     * np.maximum(ndl, 0.0))[:, None]
             + lighting.specular * spec[:, None])
        sigma[idx] += s
        mixed[idx] += s[:, None] * c
    colour = np.clip(mixed / np.maximum(sigma, 1e-300)[:, None], 0.0, 1.0)
    return sigma.reshape(shape), colour.reshape(shape + (3,))


EXTENT_STD = 6.0
"""Each blob is taken as zero beyond this many standard deviations (``q > 36``: below
``exp(-18)``, 1.5e-8, of its peak density) when cutting rays to the blobs' extent."""


def blob_segments(blobs: tuple[Blob, ...], origins: np.ndarray, dirs: np.ndarray, t: float,
                  t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each ray's ``[t0, t1]`` cut to the hull of the blobs' extents (:data:`EXTENT_STD`)
    at time ``t``; ``lo == hi`` where a ray meets none."""
    lo = np.full(len(origins), np.inf)
    hi = np.full(len(origins), -np.inf)
    for b in blobs:
        to_local = b.rotation / np.asarray(b.std)  # x @ to_local = S^-1 R^T x
        p = (origins - b.centre_at(t)) @ to_local
        q = dirs @ to_local
        a = np.sum(q * q, axis=1)
        half_b = np.sum(p * q, axis=1)
        c = np.sum(p * p, axis=1) - EXTENT_STD**2
        disc = half_b * half_b - a * c
        hit = disc > 0
        root = np.sqrt(np.where(hit, disc, 0.0))
        lo = np.where(hit, np.minimum(lo, (-half_b - root) / a), lo)
        hi = np.where(hit, np.maximum(hi, (-half_b + root) / a), hi)
    lo, hi = np.maximum(lo, t0), np.minimum(hi, t1)
    hi = np.maximum(hi, lo)
    return np.where(np.isfinite(lo), lo, t0), np.where(np.isfinite(lo), hi, t0)


def render_rgba(cfg: SceneConfig, c2w: np.ndarray, t: float = 0.0, *, chunk: int = 512
                ) -> np.ndarray:
    """The exact image of camera ``c2w`` at time ``t``: straight RGBA, ``(H, W, 4)`` in
    ``[0, 1]``: each ray's segment inside the box, cut to the blobs' extent
    (:func:`blob_segments`), in ``cfg.gt_samples`` bins (midpoint rule)."""
    size = cfg.size_px
    o, d = camera_rays(c2w, size, size, focal_px(size, BLENDER["camera_angle_x"]))
    t0, t1 = ray_segments(o, d, BLENDER["bound"], BLENDER["near"], BLENDER["far"])
    t0, t1 = blob_segments(cfg.blobs, o, d, t, t0, t1)
    out = np.zeros((len(o), 4))
    rays = np.flatnonzero(t1 > t0)
    for i in range(0, len(rays), chunk):
        sl = rays[i:i + chunk]
        ts, delta = sample_along(t0[sl], t1[sl], cfg.gt_samples)
        x = o[sl, None, :] + ts[..., None] * d[sl, None, :]
        sigma, rgb = density_and_colour(cfg.blobs, cfg.lighting, x, d[sl, None, :], t)
        premult, alpha, _ = composite(sigma, rgb, delta, np.zeros(3))
        out[sl, :3] = premult / np.maximum(alpha, 1e-300)[:, None]
        out[sl, 3] = alpha
    return np.clip(out, 0.0, 1.0).reshape(size, size, 4)


@dataclass(frozen=True, kw_only=True, eq=False)
class View:
    """One rendered view: camera-to-world ``(4, 4)``, time (``None`` when static) and the
    straight RGBA image quantised to 8 bits, ``(H, W, 4)`` ``uint8`` (as a PNG holds it)."""

    c2w: np.ndarray
    time: float | None
    rgba: np.ndarray


def cameras(cfg: SceneConfig) -> dict[str, list[tuple[np.ndarray, float | None]]]:
    """``(c2w, time)`` of every view, by split (module docstring)."""
    rng = np.random.default_rng(cfg.seed)
    r = BLENDER["camera_radius"]
    lo, hi = np.sin(np.radians(cfg.elevation_deg))

    def band(n: int) -> list[np.ndarray]:
        z = rng.uniform(lo, hi, n)  # uniform in z: uniform over the band's area
        az = rng.uniform(0.0, 2 * np.pi, n)
        rho = np.sqrt(1 - z * z)
        return [look_at(r * np.array([p * np.cos(a), p * np.sin(a), zz]))
                for p, a, zz in zip(rho, az, z, strict=True)]

    el = np.radians(30.0)
    circle = [look_at(r * np.array([np.cos(el) * np.cos(a), np.cos(el) * np.sin(a), np.sin(el)]))
              for a in np.linspace(0, 2 * np.pi, cfg.n_test, endpoint=False) + 0.3]
    splits = {"train": band(cfg.n_train), "val": band(cfg.n_val), "test": circle}
    if not cfg.dynamic:
        return {k: [(m, None) for m in v] for k, v in splits.items()}
    times = {"train": np.linspace(0.0, 1.0, cfg.n_train),
             "val": (np.arange(cfg.n_val) + 0.25) / max(cfg.n_val, 1),
             "test": (np.arange(cfg.n_test) + 0.5) / cfg.n_test}
    return {k: [(m, float(tt)) for m, tt in zip(v, times[k], strict=True)]
            for k, v in splits.items()}


def render_views(cfg: SceneConfig, progress=None) -> dict[str, list[View]]:
    """Every view of the scene, rendered (:func:`render_rgba`) and quantised to 8 bits.

    Args:
        cfg: the scene.
        progress: ``progress("render scene", done, total)``.
    """
    cams = cameras(cfg)
    total = sum(len(v) for v in cams.values())
    out: dict[str, list[View]] = {}
    done = 0
    for split, items in cams.items():
        views = []
        for c2w, t in items:
            rgba = render_rgba(cfg, c2w, 0.0 if t is None else t)
            views.append(View(c2w=c2w, time=t,
                              rgba=np.rint(rgba * 255.0).astype(np.uint8)))
            done += 1
            if progress is not None:
                progress("render scene", done, total)
        out[split] = views
    return out
