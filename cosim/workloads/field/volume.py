"""Volumes for the neural field: loading (``.npy``, ``.npz``, NIfTI), checks, normalisation.

Axis convention: a volume is ``(slices, height, width)``. ``.npy``/``.npz``
arrays are taken as stored (axis 0 = slices). NIfTI data is stored
``(x, y, z[, t])``; it is transposed to ``(z, y, x)`` so the slices are the
NIfTI's third axis, the one scanners step through. A 4D file is a sequence
of frames along its last axis (NIfTI's ``t``; the same axis for ``.npy``)
and needs ``frame`` (0-based); a 3D file refuses one.

Normalisation (``NORMALISATION``): ``(v - min) / (max - min)`` over the whole
volume, so the intensities span exactly ``[0, 1]``; a constant volume is refused.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from circuits.errors import ConfigError, check_memory, format_bytes
from circuits.files import checked_npz, load_npy, regular_file

SUFFIXES = (".npy", ".npz", ".nii", ".nii.gz")
MIN_SLICES = 1
MIN_SIDE = 7
"""Smallest height/width: the 7 x 7 SSIM window must fit in a slice."""
MAX_VOXELS = 64 * 1024 * 1024
NORMALISATION = "v' = (v - min(v)) / (max(v) - min(v)) over the whole volume, so v' spans [0, 1]"


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in (".nii.gz", ".npy", ".npz", ".nii"):
        if name.endswith(s):
            return s
    raise ConfigError(f"--volume {str(path)!r}: unknown file type; use one of "
                      f"{', '.join(SUFFIXES)}")


WORK_BYTES_PER_VOXEL = 24.0
"""Memory a loaded volume needs per voxel beyond the stored array: its float64 copy,
the normalised copy and one temporary (counted in the up-front memory estimate)."""


def _read_array(path: Path, suffix: str) -> np.ndarray:
    what = f"--volume {str(path)!r}"
    if suffix == ".npy":
        return load_npy(path, what, work_bytes_per_value=WORK_BYTES_PER_VOXEL)
    if suffix == ".npz":
        with checked_npz(path, what, work_bytes_per_value=WORK_BYTES_PER_VOXEL) as z:
            keys = list(z.keys())
            if "volume" in keys:
                return z["volume"]
            if len(keys) != 1:
                raise ConfigError(f"{what}: an .npz needs one array or one named 'volume', "
                                  f"found {keys or 'none'}")
            return z[keys[0]]
    try:
        import nibabel as nib

        img = nib.load(str(path))
        _check_nifti(img, path, suffix, what)
        data = np.asanyarray(img.dataobj)
        if data.ndim >= 3:  # (x, y, z[, t]) -> (z, y, x[, t])
            data = np.swapaxes(data, 0, 2)
        return data
    except ConfigError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{what} cannot be read: {reason}") from None
    except Exception as exc:  # nibabel raises its own types (ImageFileError, ...)
        if type(exc).__module__.startswith("nibabel"):
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"{what} cannot be read: {reason}") from None
        raise


def _check_nifti(img, path: Path, suffix: str, what: str) -> None:
    """Refuse, from the NIfTI header alone, data too large for memory or for the file."""
    shape = tuple(int(n) for n in img.shape)
    dtype = np.dtype(img.get_data_dtype())
    nbytes = math.prod(shape) * dtype.itemsize
    check_memory(f"{what} (a volume of shape {shape}, {dtype})",
                 nbytes + WORK_BYTES_PER_VOXEL * math.prod(shape),
                 hint="check the file's header, or use a smaller volume")
    offset = int(getattr(img.dataobj, "offset", 0) or 0)
    if suffix == ".nii" and offset + nbytes > path.stat().st_size:
        raise ConfigError(f"{what}: its header announces shape {shape} of {dtype} "
                          f"({format_bytes(nbytes)}), but the file holds "
                          f"{format_bytes(max(path.stat().st_size - offset, 0))} of data "
                          f"(truncated or corrupt)")


def load_volume(path: Path | str, frame: int | None = None, *,
                option: str = "--frame") -> np.ndarray:
    """Read a volume file and return its raw 3D array (``(slices, height, width)``, float).

    Args:
        path: ``.npy``, ``.npz`` (one array, or one named ``volume``), ``.nii`` or ``.nii.gz``.
        frame: the frame of a 4D file (0-based, last axis); ``None`` for a 3D file.
        option: the command-line option that gave ``frame`` (named in errors).

    Raises:
        ConfigError: missing or not a regular file, unreadable, unknown type, a
            header announcing more data than the file holds or than this machine's
            memory, wrong frame, or not a 3D array of finite numbers (see
            :func:`check_volume`).
    """
    path = Path(path)
    suffix = _suffix(path)
    regular_file(path, "--volume")
    data = _read_array(path, suffix)
    if data.ndim == 4:
        if frame is None:
            raise ConfigError(f"--volume {str(path)!r} is 4D with {data.shape[-1]} frames; "
                              f"choose one with {option} 0..{data.shape[-1] - 1}")
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
                or not 0 <= frame < data.shape[-1]:
            raise ConfigError(f"{option} must be an integer in 0..{data.shape[-1] - 1}, "
                              f"got {frame!r}")
        data = data[..., int(frame)]
    elif frame is not None:
        raise ConfigError(f"{option} {frame!r} given but --volume {str(path)!r} has "
                          f"{data.ndim} dimensions, not 4")
    return check_volume(data, what=f"--volume {str(path)!r}")


def check_volume(data: np.ndarray, what: str = "volume") -> np.ndarray:
    """Return ``data`` as a float 3D array, or raise ``ConfigError`` saying what is wrong.

    A volume is a 3D array of real, finite numbers with at least ``MIN_SLICES``
    slices, slices of at least ``MIN_SIDE x MIN_SIDE`` and at most ``MAX_VOXELS``
    voxels, not all equal.
    """
    a = np.asarray(data)
    if a.dtype.kind not in "biuf":
        raise ConfigError(f"{what} must hold real numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ConfigError(f"{what} is empty (shape {a.shape})")
    if a.ndim != 3:
        raise ConfigError(f"{what} must be a 3D array (slices, height, width), got "
                          f"{a.ndim}D shape {a.shape}")
    s, h, w = a.shape
    if s < MIN_SLICES or h < MIN_SIDE or w < MIN_SIDE:
        raise ConfigError(f"{what} has shape {a.shape}; slices must be at least "
                          f"{MIN_SIDE} x {MIN_SIDE} (the SSIM window)")
    if a.size > MAX_VOXELS:
        raise ConfigError(f"{what} has {a.size} voxels, more than {MAX_VOXELS}")
    a = a.astype(float)
    bad = ~np.isfinite(a)
    if bad.any():
        raise ConfigError(f"{what} holds {int(bad.sum())} NaN or infinite values")
    if a.max() == a.min():
        raise ConfigError(f"{what} is constant ({a.flat[0]:g}); nothing to reconstruct")
    return a


def normalise(volume: np.ndarray) -> np.ndarray:
    """Intensities mapped to ``[0, 1]`` by ``NORMALISATION`` (a checked volume)."""
    v = check_volume(volume)
    lo, hi = v.min(), v.max()
    return (v - lo) / (hi - lo)


def voxel_coordinates(shape: tuple[int, int, int]) -> np.ndarray:
    """Coordinates ``(x, y, z)`` in ``[-1, 1]`` of every voxel, ``(S*H*W, 3)``, C order.

    The same ``linspace(-1, 1, n)`` grid as :func:`cosim.workloads.field.phantom.shepp_logan_3d`.
    """
    s, h, w = shape
    z, y, x = (np.linspace(-1.0, 1.0, n) for n in (s, h, w))
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel(), zz.ravel()], axis=1)
