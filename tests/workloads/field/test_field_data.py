"""Neural-field data: the Shepp-Logan phantom against its definition; volume files and checks."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.workloads.field.phantom import ELLIPSOIDS, euler_matrix, shepp_logan_3d, shepp_logan_at
from cosim.workloads.field.volume import check_volume, load_volume, normalise, voxel_coordinates


def _centre_world(k: int) -> np.ndarray:
    """World point of ellipsoid k's centre (phantom3d subtracts it in the rotated frame)."""
    row = ELLIPSOIDS[k]
    return euler_matrix(*row[7:10]).T @ row[4:7]


def test_published_table():
    # Toft's modified Shepp-Logan in 3D: 10 ellipsoids; the skull is 1 and the brain 0.2.
    assert ELLIPSOIDS.shape == (10, 10)
    assert ELLIPSOIDS[0, 0] == 1.0 and ELLIPSOIDS[1, 0] == -0.8
    np.testing.assert_array_equal(ELLIPSOIDS[2:, 0], [-0.2, -0.2] + [0.1] * 6)


def test_points_take_the_sum_of_their_ellipsoids():
    pts = {
        "skull (inside 1 only)": ([0.0, 0.0, 0.795], 1.0),
        "brain centre (1, 2)": ([0.0, 0.0, 0.0], 0.2),
        "right ventricle (1, 2, 3)": (_centre_world(2), 0.0),
        "left ventricle (1, 2, 4)": (_centre_world(3), 0.0),
        "upper feature (1, 2, 6)": (_centre_world(5), 0.3),
        "outside everything": ([0.95, 0.95, 0.95], 0.0),
    }
    for name, (p, want) in pts.items():
        assert shepp_logan_at(np.array([p]))[0] == pytest.approx(want, abs=1e-12), name


def test_every_voxel_equals_its_ellipsoid_sum():
    vol = shepp_logan_3d(6, 24, 20)
    pts = voxel_coordinates(vol.shape)
    want = np.zeros(len(pts))
    for row in ELLIPSOIDS:  # an independent check: the inequality written out per ellipsoid
        a, b, c = row[1:4]
        r = euler_matrix(*row[7:10])
        q = np.einsum("ij,nj->ni", r, pts) - row[4:7]
        want += row[0] * ((q[:, 0] / a) ** 2 + (q[:, 1] / b) ** 2 + (q[:, 2] / c) ** 2 <= 1)
    np.testing.assert_allclose(vol.ravel(), want, atol=1e-12)
    assert vol.min() == 0.0 and vol.max() == 1.0
    assert set(np.round(np.unique(vol), 9)) <= {0.0, 0.1, 0.2, 0.3, 0.4, 1.0}


def test_quarter_turns_give_the_grid_rotated():
    """Turned by 90 degrees about z (phi) or x (theta), every grid point lands on a grid
    point: the oblique phantom is then the published one with two axes swapped."""
    v = shepp_logan_3d(5, 33, 33)
    np.testing.assert_array_equal(shepp_logan_3d(5, 33, 33, angles=(90, 0, 0)),
                                  np.rot90(v, -1, axes=(1, 2)))
    c = shepp_logan_3d(33, 33, 33)
    np.testing.assert_array_equal(shepp_logan_3d(33, 33, 33, angles=(0, 90, 0)),
                                  np.rot90(c, -1, axes=(0, 1)))
    turned = shepp_logan_3d(8, 32, 32, angles=(30, 25, 15))
    assert not np.array_equal(turned, shepp_logan_3d(8, 32, 32))
    assert turned.min() == 0.0 and turned.max() == 1.0  # the skull stays inside the cube


@pytest.mark.parametrize("angles, match", [
    ((1.0, 2.0), "three numbers"),
    ((float("nan"), 0, 0), "angle phi must be a finite"),
    ((0, 400, 0), "angle theta"),
    (("a", 0, 0), "three numbers"),
])
def test_bad_phantom_angles(angles, match):
    with pytest.raises(ConfigError, match=match):
        shepp_logan_3d(4, 16, 16, angles=angles)


def test_phantom_sizes_checked():
    with pytest.raises(ConfigError, match="phantom slices"):
        shepp_logan_3d(0, 16, 16)


def test_npy_npz_and_nifti_give_the_same_volume(tmp_path):
    nib = pytest.importorskip("nibabel")
    vol = shepp_logan_3d(4, 16, 12)
    np.save(tmp_path / "v.npy", vol)
    np.savez(tmp_path / "v.npz", volume=vol)
    # NIfTI stores (x, y, z); the loader gives (z, y, x).
    nib.save(nib.Nifti1Image(np.swapaxes(vol, 0, 2).astype(np.float64), np.eye(4)),
             str(tmp_path / "v.nii.gz"))
    nib.save(nib.Nifti1Image(np.swapaxes(vol, 0, 2).astype(np.float64), np.eye(4)),
             str(tmp_path / "v.nii"))
    for name in ("v.npy", "v.npz", "v.nii.gz", "v.nii"):
        np.testing.assert_array_equal(load_volume(tmp_path / name), vol, err_msg=name)


def test_4d_frames(tmp_path):
    nib = pytest.importorskip("nibabel")
    vol = shepp_logan_3d(4, 16, 12)
    four = np.stack([vol, 1 - vol, 2 * vol], axis=-1)
    np.save(tmp_path / "f.npy", four)
    nib.save(nib.Nifti1Image(np.swapaxes(four, 0, 2), np.eye(4)), str(tmp_path / "f.nii.gz"))
    for name in ("f.npy", "f.nii.gz"):
        np.testing.assert_array_equal(load_volume(tmp_path / name, frame=1), 1 - vol)
        with pytest.raises(ConfigError, match="4D with 3 frames"):
            load_volume(tmp_path / name)
        with pytest.raises(ConfigError, match="--frame must be an integer in 0..2"):
            load_volume(tmp_path / name, frame=3)
    np.save(tmp_path / "three.npy", vol)
    with pytest.raises(ConfigError, match="--frame 0 given"):
        load_volume(tmp_path / "three.npy", frame=0)


@pytest.mark.parametrize("data, match", [
    (np.zeros((16, 16)), "must be a 3D array"),
    (np.zeros((0, 16, 16)), "is empty"),
    (np.full((2, 16, 16), np.nan), "NaN or infinite"),
    (np.ones((2, 16, 16)), "constant"),
    (np.zeros((2, 4, 16)), "at least 7 x 7"),
    (np.array([[["a"] * 8] * 8]), "real numbers"),
])
def test_bad_arrays(tmp_path, data, match):
    with pytest.raises(ConfigError, match=match):
        check_volume(data)
    np.save(tmp_path / "bad.npy", data)
    with pytest.raises(ConfigError, match=match) as e:
        load_volume(tmp_path / "bad.npy")
    assert "\n" not in str(e.value)


def test_bad_files(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "junk.nii.gz").write_bytes(b"not a nifti")
    (tmp_path / "junk.npz").write_bytes(b"PK not a zip")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 8, 8)), b=np.zeros((2, 8, 8)))
    cases = {"missing.npy": "no such file", "empty.npy": "cannot be read",
             "junk.nii.gz": "cannot be read", "junk.npz": "cannot be read",
             "two.npz": "one array or one named 'volume'", "v.tif": "unknown file type"}
    for name, match in cases.items():
        with pytest.raises(ConfigError, match=match) as e:
            load_volume(tmp_path / name)
        assert "\n" not in str(e.value), name


def test_normalise_spans_unit_interval():
    v = normalise(np.arange(2 * 8 * 8, dtype=float).reshape(2, 8, 8) * 3 - 7)
    assert v.min() == 0.0 and v.max() == 1.0
