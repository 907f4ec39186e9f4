"""Rays, sampling and volume rendering against analytic cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from cosim.workloads.nerf.render import (
    camera_rays,
    composite,
    focal_px,
    look_at,
    ray_segments,
    sample_along,
)
from cosim.workloads.nerf.scene import BLENDER, Blob, Lighting, SceneConfig, render_rgba


def test_uniform_sphere_central_ray_transmittance():
    # A sphere of radius R and density s at the origin, seen from distance D along x: the
    # central ray crosses a chord of 2R, so T = exp(-s 2R) and C = (1 - T) c + T bg.
    radius, dens, dist = 0.8, 1.7, 4.0
    o, d = camera_rays(look_at((dist, 0.0, 0.0)), 5, 5, focal_px(5, 0.7))
    centre = 12  # the middle pixel of a 5 x 5 image looks through the origin
    assert np.allclose(d[centre], (-1.0, 0.0, 0.0), atol=1e-15)
    t0, t1 = ray_segments(o, d, radius, 2.0, 6.0)  # the box's faces touch the sphere here
    t, delta = sample_along(t0[[centre]], t1[[centre]], 64)
    x = o[[centre], None, :] + t[..., None] * d[[centre], None, :]
    sigma = np.where(np.linalg.norm(x, axis=-1) <= radius, dens, 0.0)
    colour = np.array([0.2, 0.5, 0.9])
    rgb = np.broadcast_to(colour, x.shape)
    c, opacity, weights = composite(sigma, rgb, delta, np.ones(3))
    trans = np.exp(-dens * 2 * radius)
    assert abs((1 - opacity[0]) - trans) < 1e-6
    assert np.abs(c[0] - ((1 - trans) * colour + trans)).max() < 1e-6
    assert weights.sum() == pytest.approx(opacity[0], abs=1e-12)


def _analytic_alpha(blob: Blob, o, d, t0, t1):
    """1 - exp(-a * integral of exp(-q/2)) along each ray, with the Gaussian integral by erf."""
    to_local = blob.rotation / np.asarray(blob.std)
    p = (o - np.asarray(blob.centre)) @ to_local
    q = d @ to_local
    a = np.sum(q * q, axis=1)
    b = np.sum(p * q, axis=1)
    c = np.sum(p * p, axis=1)
    k = np.sqrt(a / 2)
    integral = (np.exp(-(c - b * b / a) / 2) * np.sqrt(np.pi / (2 * a))
                * (erf(k * (t1 + b / a)) - erf(k * (t0 + b / a))))
    return 1 - np.exp(-blob.density * integral)


@pytest.mark.parametrize("bins, tol", [(128, 5e-5), (1024, 1e-6)])
def test_ground_truth_opacity_matches_the_gaussian_integral(bins, tol):
    blob = Blob(centre=(0.2, -0.1, 0.1), std=(0.4, 0.25, 0.15), yaw_deg=25.0, density=20.0,
                albedo=(0.5, 0.5, 0.5))
    cfg = SceneConfig(size_px=12, blobs=(blob,), gt_samples=bins, lighting=Lighting())
    c2w = look_at(BLENDER["camera_radius"] * np.array([0.6, 0.5, 0.62]))
    alpha = render_rgba(cfg, c2w)[..., 3].ravel()
    o, d = camera_rays(c2w, 12, 12, focal_px(12, BLENDER["camera_angle_x"]))
    t0, t1 = ray_segments(o, d, BLENDER["bound"], BLENDER["near"], BLENDER["far"])
    exact = _analytic_alpha(blob, o, d, t0, t1)
    assert exact.max() > 0.99 and exact.min() < 1e-3  # opaque core and empty corners
    assert np.abs(alpha - exact).max() < tol


def test_field_of_view_and_ray_segments():
    w, fov = 9, 0.6911112070083618
    o, d = camera_rays(look_at((0.0, -4.0, 0.0)), 9, w, focal_px(w, fov))
    mid = d.reshape(9, w, 3)[4]
    angle = np.arccos(np.clip(mid[0] @ mid[-1], -1, 1))  # outer pixel centres of one row
    assert angle == pytest.approx(2 * np.arctan(np.tan(fov / 2) * (w - 1) / w), rel=1e-12)
    assert mid[-1][0] > 0  # +x of the image is to the camera's right: world +x seen from -y
    origins = np.array([[4.0, 0.0, 0.0], [4.0, 3.0, 0.0]])
    dirs = np.array([[-1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    t0, t1 = ray_segments(origins, dirs, 1.5, 2.0, 6.0)
    assert (t0[0], t1[0]) == (2.5, 5.5)
    assert t0[1] == t1[1]  # misses the box: zero length


def test_stratified_samples_stay_in_their_bins():
    t0, t1 = np.array([2.0]), np.array([3.0])
    jitter = np.random.default_rng(0).random((1, 10))
    t, delta = sample_along(t0, t1, 10, jitter)
    edges = 2.0 + np.arange(11) / 10
    assert np.all((t[0] >= edges[:-1]) & (t[0] < edges[1:]))
    assert delta.sum() == pytest.approx(1.0)
