"""Scenes for novel-view synthesis: the nerf_synthetic layout, read and checked.

A scene folder holds ``transforms_train.json``, ``transforms_test.json`` and
optionally ``transforms_val.json`` (the layout of NeRF's Blender scenes,
Mildenhall et al. 2020, and of the D-NeRF scenes, Pumarola et al. 2021)::

    {"camera_angle_x": 0.6911,
     "frames": [{"file_path": "./train/r_0", "transform_matrix": [[...4 x 4...]],
                 "time": 0.0},  ...]}

``camera_angle_x`` is the horizontal field of view (radians); ``file_path`` is
relative to the folder, ``.png`` added when it has no suffix; ``transform_matrix``
is camera-to-world (:mod:`.render`); ``time`` in ``[0, 1]`` is present on every
frame of a dynamic (D-NeRF) scene and on none of a static one. Images are PNGs,
RGBA (or RGB: opaque), 8 or 16 bits, all of one size; each is composited on the
white background (``rgb * a + (1 - a)``), as NeRF and D-NeRF train on these
scenes. Other keys (``rotation``, ``w``, ``fl_x`` ...) are ignored.

:func:`load_scene` is the one reader: for the scenes users point at (``--scene
DIR``) and for the procedural scene, which this toolkit writes in the same layout
(:func:`cosim.outputs.nerf.write_scene`) and reads back here. Every check names
the file: missing or unreadable files, JSON that is not this layout, a matrix
that is not a rotation and translation, non-finite numbers, images of another
size, ``time`` on some frames only or outside ``[0, 1]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from circuits.errors import ConfigError, check_int, check_memory
from circuits.files import read_regular, regular_file
from cosim.workloads.nerf.render import camera_rays, focal_px

SPLITS = ("train", "val", "test")
REQUIRED_SPLITS = ("train", "test")
MAX_JSON_BYTES = 64 * 2**20
"""Largest ``transforms_*.json`` read (the Blender scenes' are below 100 kB)."""
MAX_IMAGE_BYTES = 256 * 2**20
"""Largest PNG read."""
ROTATION_TOL = 1e-3
"""Largest ``|R^T R - I|`` entry and ``|det R - 1|`` accepted for a camera's rotation
(Blender writes its matrices with 7 significant digits)."""
BACKGROUND = np.ones(3)
"""White, as the Blender and D-NeRF scenes are trained."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Split:
    """The frames of one split.

    Attributes:
        rgb: images composited on :data:`BACKGROUND`, ``(n, H, W, 3)`` float32 in ``[0, 1]``.
        alpha: their opacity, ``(n, H, W)`` float32.
        c2w: camera-to-world matrices, ``(n, 4, 4)``.
        times: ``(n,)`` in ``[0, 1]``, or ``None`` (static scene).
        files: the image of each frame (for messages and tables).
    """

    rgb: np.ndarray
    alpha: np.ndarray
    c2w: np.ndarray
    times: np.ndarray | None
    files: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.c2w)


@dataclass(frozen=True, kw_only=True, eq=False)
class Scene:
    """A scene ready to train on.

    Attributes:
        splits: ``train``, ``test`` and, when present, ``val``.
        camera_angle_x: horizontal field of view (radians).
        height, width: image size (pixels).
        source: where it came from (a folder, or a description).
        downscale: the factor its images were shrunk by when read.
    """

    splits: dict[str, Split]
    camera_angle_x: float
    height: int
    width: int
    source: str
    downscale: int = 1

    @property
    def dynamic(self) -> bool:
        """Frames carry ``time`` (D-NeRF)."""
        return self.splits["train"].times is not None

    @property
    def focal(self) -> float:
        """Focal length in pixels."""
        return focal_px(self.width, self.camera_angle_x)

    def rays(self, split: str, index: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Origins, directions, times and target colours of every pixel of a split
        (or of one frame), ``(N, 3), (N, 3), (N,), (N, 3)``; times 0 when static."""
        s = self.splits[split]
        frames = range(len(s)) if index is None else [index]
        o, d, t, c = [], [], [], []
        for k in frames:
            ok, dk = camera_rays(s.c2w[k], self.height, self.width, self.focal)
            o.append(ok)
            d.append(dk)
            t.append(np.full(len(ok), 0.0 if s.times is None else s.times[k]))
            c.append(s.rgb[k].reshape(-1, 3))
        return (np.concatenate(o), np.concatenate(d), np.concatenate(t),
                np.concatenate(c).astype(np.float64))


def split_from_rgba(rgba: np.ndarray, c2w: np.ndarray, times: np.ndarray | None,
                    files: tuple[str, ...]) -> Split:
    """A split from straight RGBA images ``(n, H, W, 4)`` in ``[0, 1]`` (composited here)."""
    rgba = np.asarray(rgba, dtype=np.float32)
    a = rgba[..., 3:]
    rgb = rgba[..., :3] * a + (1.0 - a) * BACKGROUND.astype(np.float32)
    return Split(rgb=rgb, alpha=rgba[..., 3].copy(), c2w=np.asarray(c2w, dtype=float),
                 times=None if times is None else np.asarray(times, dtype=float),
                 files=tuple(files))


def _fail(path: Path, msg: str) -> ConfigError:
    return ConfigError(f"scene file {path}: {msg}")


def _read_json(path: Path) -> dict[str, Any]:
    blob = read_regular(path, "scene file", MAX_JSON_BYTES)
    try:
        data = json.loads(blob.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not valid JSON: {exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}") from None
    if not isinstance(data, dict):
        raise _fail(path, "must hold a JSON object with 'camera_angle_x' and 'frames'")
    return data


def _number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(path, f"{where} must be finite, got {value!r}")
    return float(value)


def check_pose(path: Path, where: str, value: Any) -> np.ndarray:
    """A frame's ``transform_matrix`` as a ``(4, 4)`` array, checked: 4 rows of 4 finite
    numbers, last row ``0 0 0 1``, a rotation block (:data:`ROTATION_TOL`)."""
    if not (isinstance(value, list) and len(value) == 4
            and all(isinstance(r, list) and len(r) == 4 for r in value)):
        raise _fail(path, f"{where}: transform_matrix must be 4 rows of 4 numbers")
    m = np.array([[_number(path, f"{where}: transform_matrix[{i}][{j}]", v)
                   for j, v in enumerate(row)] for i, row in enumerate(value)])
    if np.abs(m[3] - (0, 0, 0, 1)).max() > ROTATION_TOL:
        raise _fail(path, f"{where}: transform_matrix's last row must be 0 0 0 1, got "
                          f"{' '.join(f'{v:g}' for v in m[3])}")
    r = m[:3, :3]
    ortho = float(np.abs(r.T @ r - np.eye(3)).max())
    det = float(np.linalg.det(r))
    if ortho > ROTATION_TOL or abs(det - 1.0) > ROTATION_TOL:
        raise _fail(path, f"{where}: transform_matrix is not a rotation and translation "
                          f"(|R^T R - I| up to {ortho:.3g}, det R = {det:.4g}; allowed "
                          f"{ROTATION_TOL:g})")
    return m


def _frames(path: Path, data: dict[str, Any]) -> tuple[float, list[dict[str, Any]]]:
    for key in ("camera_angle_x", "frames"):
        if key not in data:
            raise _fail(path, f"lacks the key {key!r} (a nerf_synthetic transforms file has "
                              f"'camera_angle_x' and 'frames')")
    angle = _number(path, "camera_angle_x", data["camera_angle_x"])
    if not 0.0 < angle < math.pi:
        raise _fail(path, f"camera_angle_x must be in (0, pi) radians, got {angle!r}")
    frames = data["frames"]
    if not isinstance(frames, list) or not frames:
        raise _fail(path, "'frames' must be a non-empty list")
    out = []
    for i, f in enumerate(frames):
        where = f"frame {i}"
        if not isinstance(f, dict):
            raise _fail(path, f"{where} must be an object")
        for key in ("file_path", "transform_matrix"):
            if key not in f:
                raise _fail(path, f"{where} lacks the key {key!r}")
        if not isinstance(f["file_path"], str) or not f["file_path"].strip():
            raise _fail(path, f"{where}: file_path must be a non-empty string")
        t = None
        if "time" in f:
            t = _number(path, f"{where}: time", f["time"])
            if not 0.0 <= t <= 1.0:
                raise _fail(path, f"{where}: time must be in [0, 1], got {t!r}")
        out.append({"file_path": f["file_path"], "c2w": check_pose(path, where,
                                                                   f["transform_matrix"]),
                    "time": t})
    return angle, out


def _image_path(folder: Path, json_path: Path, where: str, file_path: str) -> Path:
    rel = Path(file_path)
    if rel.is_absolute():
        raise _fail(json_path, f"{where}: file_path must be relative to the scene folder, "
                               f"got {file_path!r}")
    p = folder / rel
    if not p.suffix:
        p = p.with_name(p.name + ".png")
    return p


def read_png(path: Path) -> np.ndarray:
    """A PNG as straight RGBA floats ``(H, W, 4)`` in ``[0, 1]`` (RGB, grey: opaque).

    Raises:
        ConfigError: not a readable PNG, or a mode other than RGB(A) or grey (+ alpha).
    """
    import io

    from PIL import Image, UnidentifiedImageError

    blob = read_regular(path, "scene image", MAX_IMAGE_BYTES)
    try:
        with Image.open(io.BytesIO(blob)) as im:
            if im.format != "PNG":
                raise ConfigError(f"scene image {path}: not a PNG ({im.format})")
            mode = im.mode
            if mode in ("RGBA", "RGB", "L", "LA"):
                arr = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
            elif mode in ("I;16", "I;16B", "I", "I;16L"):
                arr = np.asarray(im, dtype=np.float32) / 65535.0
                arr = np.concatenate([np.repeat(arr[..., None], 3, axis=2),
                                      np.ones(arr.shape + (1,), np.float32)], axis=2)
            else:
                raise ConfigError(f"scene image {path}: PNG mode {mode} is not RGB(A) or grey")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"scene image {path}: cannot be read as a PNG "
                          f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                          ) from None
    return arr


def _pick(n: int, limit: int | None) -> list[int]:
    """``limit`` indices spread evenly over ``range(n)`` (all when ``limit`` is None)."""
    if limit is None or limit >= n:
        return list(range(n))
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, limit)})


def downscale_rgba(rgba: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor x factor`` blocks of premultiplied colour and opacity (straight
    RGBA back); the image is cropped to a multiple of ``factor``."""
    if factor == 1:
        return rgba
    h, w = (rgba.shape[0] // factor) * factor, (rgba.shape[1] // factor) * factor
    x = rgba[:h, :w].astype(np.float64)
    pm = np.concatenate([x[..., :3] * x[..., 3:], x[..., 3:]], axis=2)
    pm = pm.reshape(h // factor, factor, w // factor, factor, 4).mean(axis=(1, 3))
    a = pm[..., 3:]
    rgb = np.where(a > 0, pm[..., :3] / np.maximum(a, 1e-12), 0.0)
    return np.concatenate([rgb, a], axis=2).astype(np.float32)


def load_scene(folder: Path | str, *, downscale: int = 1,
               max_frames: Mapping[str, int | None] | None = None) -> Scene:
    """Read and check a scene in the nerf_synthetic layout (module docstring).

    Args:
        folder: the scene folder.
        downscale: integer factor the images are shrunk by (block means), e.g. 8
            for the 800 x 800 Blender images on a CPU.
        max_frames: most frames read per split (evenly spread), e.g.
            ``{"test": 8}``; ``None`` for all.

    Raises:
        ConfigError: one line naming the file at fault (module docstring).
    """
    folder = Path(folder)
    check_int("downscale", downscale, 1, 64)
    if not folder.exists():
        raise ConfigError(f"scene {folder}: no such folder")
    if not folder.is_dir():
        raise ConfigError(f"scene {folder}: not a folder (give the folder holding "
                          f"transforms_train.json)")
    limits = dict(max_frames or {})
    parsed: dict[str, tuple[Path, float, list[dict[str, Any]]]] = {}
    for split in SPLITS:
        path = folder / f"transforms_{split}.json"
        if not path.exists():
            if split in REQUIRED_SPLITS:
                raise ConfigError(f"scene {folder}: no transforms_{split}.json (a "
                                  f"nerf_synthetic scene has transforms_train.json and "
                                  f"transforms_test.json)")
            continue
        regular_file(path, "scene file")
        angle, frames = _frames(path, _read_json(path))
        parsed[split] = (path, angle, [frames[i] for i in _pick(len(frames), limits.get(split))])
    # one field of view; time on every frame or on none
    first_path, angle, _ = parsed["train"]
    timed = parsed["train"][2][0]["time"] is not None
    for path, a, frames in parsed.values():
        if abs(a - angle) > 1e-9:
            raise _fail(path, f"camera_angle_x {a!r} differs from {first_path.name}'s {angle!r}")
        for i, f in enumerate(frames):
            if (f["time"] is not None) != timed:
                raise _fail(path, f"frame {i} {'lacks' if timed else 'has'} 'time', which "
                                  f"{'every' if timed else 'no'} frame of "
                                  f"{first_path.name} has: give it on every frame (D-NeRF) "
                                  f"or on none")
    n_frames = sum(len(v[2]) for v in parsed.values())
    splits: dict[str, Split] = {}
    size: tuple[int, int] | None = None
    size_from = ""
    for split, (path, _, frames) in parsed.items():
        images, files = [], []
        for i, f in enumerate(frames):
            p = _image_path(folder, path, f"frame {i}", f["file_path"])
            if not p.exists():
                raise _fail(path, f"frame {i}: image {p} does not exist")
            rgba = read_png(p)
            if size is None:
                size, size_from = rgba.shape[:2], str(p)
                check_memory(f"scene {folder} ({n_frames} frames of {size[1]} x {size[0]})",
                             n_frames * size[0] * size[1] * 4 * 4 / downscale**2 * 2,
                             hint="use --downscale")
                if size[0] < downscale or size[1] < downscale:
                    raise ConfigError(f"scene image {p}: {size[1]} x {size[0]} pixels, "
                                      f"smaller than --downscale {downscale}")
            elif rgba.shape[:2] != size:
                raise ConfigError(f"scene image {p}: {rgba.shape[1]} x {rgba.shape[0]} pixels, "
                                  f"but {size_from} has {size[1]} x {size[0]}")
            images.append(downscale_rgba(rgba, downscale))
            files.append(str(p.relative_to(folder)))
        times = np.array([f["time"] for f in frames]) if timed else None
        splits[split] = split_from_rgba(np.stack(images), np.stack([f["c2w"] for f in frames]),
                                        times, tuple(files))
    h, w = splits["train"].rgb.shape[1:3]
    return Scene(splits=splits, camera_angle_x=angle, height=int(h), width=int(w),
                 source=str(folder), downscale=downscale)


def scene_from_views(views: Mapping[str, list[Any]], camera_angle_x: float, source: str
                     ) -> Scene:
    """A scene from rendered views (:class:`cosim.workloads.nerf.scene.View`: 8-bit RGBA,
    camera-to-world, time), the same as :func:`load_scene` reads once they are written
    (:func:`cosim.outputs.nerf.write_scene`); splits without views are left out."""
    splits = {}
    for split, items in views.items():
        if not items:
            continue
        rgba = np.stack([v.rgba for v in items]).astype(np.float32) / 255.0
        times = None if items[0].time is None else np.array([v.time for v in items])
        files = tuple(f"./{split}/r_{i}.png" for i in range(len(items)))
        splits[split] = split_from_rgba(rgba, np.stack([v.c2w for v in items]), times, files)
    h, w = splits["train"].rgb.shape[1:3]
    return Scene(splits=splits, camera_angle_x=float(camera_angle_x), height=int(h),
                 width=int(w), source=source)
