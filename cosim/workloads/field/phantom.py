"""The 3D modified Shepp-Logan phantom, from its published ellipsoid parameters.

Parameters: the "modified Shepp-Logan" ellipsoids of Toft (P. Toft, *The Radon
Transform*, PhD thesis, DTU 1996) as extended to 3D by M. Schabel's
``phantom3d`` (MATLAB File Exchange 9416), the definition most 3D phantoms in
use follow. Each row is ``A, a, b, c, x0, y0, z0, phi, theta, psi``: additive
intensity ``A``, semi-axes ``a, b, c`` along x, y, z, centre ``(x0, y0, z0)``
and Euler angles in degrees. As in ``phantom3d``, a point ``p = (x, y, z)`` is
inside ellipsoid ``k`` when ``q = R(phi, theta, psi) p`` satisfies
``sum(((q - centre) / axes)**2) <= 1``; intensities of overlapping ellipsoids add.

The volume samples the cube ``[-1, 1]^3`` on ``linspace(-1, 1, n)`` along each
axis (``phantom3d``'s grid) and is returned as ``(slices, height, width)`` =
``(z, y, x)``. With these parameters the values lie in ``[0, 1]`` (skull 1,
brain 0.2, ventricles 0, small features 0.3).

Orientation. Most of the ellipsoids' axes lie along the grid's axes, which
favours encodings built on the axes (the positional encoding's frequencies are
per axis; a Gaussian ``B`` has no preferred direction). ``angles`` turns the
whole phantom against the grid (same z-x-z Euler convention, applied to the
sampling points before the ellipsoids' own), an oblique phantom that is
the same object; voxels whose rotated point leaves the unit cube see what is
there (the skull ellipsoid stays inside the cube for every angle).
"""

from __future__ import annotations

import numpy as np

from circuits.errors import ConfigError, check_int, check_range

ELLIPSOIDS = np.array([
    #  A      a       b      c      x0      y0      z0    phi  theta  psi
    [1.0, 0.6900, 0.920, 0.810, 0.00, 0.0000, 0.00, 0.0, 0.0, 0.0],
    [-0.8, 0.6624, 0.874, 0.780, 0.00, -0.0184, 0.00, 0.0, 0.0, 0.0],
    [-0.2, 0.1100, 0.310, 0.220, 0.22, 0.0000, 0.00, -18.0, 0.0, 10.0],
    [-0.2, 0.1600, 0.410, 0.280, -0.22, 0.0000, 0.00, 18.0, 0.0, 10.0],
    [0.1, 0.2100, 0.250, 0.410, 0.00, 0.3500, -0.15, 0.0, 0.0, 0.0],
    [0.1, 0.0460, 0.046, 0.050, 0.00, 0.1000, 0.25, 0.0, 0.0, 0.0],
    [0.1, 0.0460, 0.046, 0.050, 0.00, -0.1000, 0.25, 0.0, 0.0, 0.0],
    [0.1, 0.0460, 0.023, 0.050, -0.08, -0.6050, 0.00, 0.0, 0.0, 0.0],
    [0.1, 0.0230, 0.023, 0.020, 0.00, -0.6060, 0.00, 0.0, 0.0, 0.0],
    [0.1, 0.0230, 0.046, 0.020, 0.06, -0.6050, 0.00, 0.0, 0.0, 0.0],
])
"""Modified Shepp-Logan ellipsoids (Toft 1996; Schabel ``phantom3d``), one per row."""

MAX_SIDE = 1024


def euler_matrix(phi_deg: float, theta_deg: float, psi_deg: float) -> np.ndarray:
    """``phantom3d``'s rotation ``alpha`` (z-x-z Euler angles in degrees), ``(3, 3)``."""
    phi, theta, psi = np.deg2rad([phi_deg, theta_deg, psi_deg])
    cf, sf, ct, st, cp, sp = (np.cos(phi), np.sin(phi), np.cos(theta), np.sin(theta),
                              np.cos(psi), np.sin(psi))
    return np.array([
        [cp * cf - ct * sf * sp, cp * sf + ct * cf * sp, sp * st],
        [-sp * cf - ct * sf * cp, -sp * sf + ct * cf * cp, cp * st],
        [st * sf, -st * cf, ct],
    ])


def check_angles(angles) -> tuple[float, float, float]:
    """``(phi, theta, psi)`` as floats, each finite and in ``[-360, 360]`` degrees."""
    try:
        out = tuple(float(a) for a in angles)
    except (TypeError, ValueError):
        raise ConfigError(f"phantom angles must be three numbers (degrees), got "
                          f"{angles!r}") from None
    if len(out) != 3:
        raise ConfigError(f"phantom angles must be three numbers phi,theta,psi (degrees), "
                          f"got {angles!r}")
    for name, a in zip(("phi", "theta", "psi"), out, strict=True):
        if not np.isfinite(a):
            raise ConfigError(f"phantom angle {name} must be a finite number, got {a!r}")
        check_range(f"phantom angle {name}", a, -360.0, 360.0)
    return out


def inside(points: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Whether each point ``(N, 3)`` (x, y, z) is inside the ellipsoid of ``row``."""
    q = np.asarray(points, dtype=float) @ euler_matrix(*row[7:10]).T
    return np.sum(((q - row[4:7]) / row[1:4]) ** 2, axis=-1) <= 1.0


def shepp_logan_at(points: np.ndarray) -> np.ndarray:
    """Phantom intensity at arbitrary points ``(N, 3)`` in ``[-1, 1]^3`` (x, y, z)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    out = np.zeros(len(pts))
    for row in ELLIPSOIDS:
        out += row[0] * inside(pts, row)
    return out


def shepp_logan_3d(slices: int = 40, height: int = 128, width: int = 128, *,
                   motion: float = 0.0,
                   angles: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """The phantom sampled on a ``(slices, height, width)`` grid over ``[-1, 1]^3``.

    Args:
        slices, height, width: the grid.
        motion: a second "respiratory phase" (the sparse task's target): the
            phantom stretched in-plane by ``1 + motion`` and moved by ``motion``
            along z, i.e. sampled at ``(x / (1 + m), y / (1 + m), z - m)``;
            0 is the phantom itself.
        angles: ``(phi, theta, psi)`` in degrees: the phantom turned against the
            grid (module docstring); zeros: the published orientation.

    Raises:
        ConfigError: a side is not an integer in ``[1, 1024]``, ``|motion| > 0.5``,
            or an angle that is not a finite number in ``[-360, 360]``.
    """
    for name, n in (("slices", slices), ("height", height), ("width", width)):
        check_int(f"phantom {name}", n, 1, MAX_SIDE)
    check_range("phantom motion", motion, -0.5, 0.5)
    angles = check_angles(angles)
    z, y, x = (np.linspace(-1.0, 1.0, n) for n in (slices, height, width))
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    pts = np.stack([xx.ravel() / (1 + motion), yy.ravel() / (1 + motion),
                    zz.ravel() - motion], axis=1)
    if any(angles):
        pts = pts @ euler_matrix(*angles).T
    vol = shepp_logan_at(pts).reshape(slices, height, width)
    # The additive intensities are exact sums of one-decimal figures: round off the
    # float residue (e.g. 1 - 0.8 - 0.2 = -5.6e-17) so that the volume is in [0, 1].
    return np.round(vol, 12) + 0.0
