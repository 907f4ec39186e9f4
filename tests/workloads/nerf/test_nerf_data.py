"""The scene loader: the nerf_synthetic layout written by hand, our writer's round trip, and
every bad scene a one-line error naming its file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from circuits.errors import ConfigError
from cosim.outputs.nerf import write_scene
from cosim.workloads.nerf.data import downscale_rgba, load_scene, scene_from_views
from cosim.workloads.nerf.render import look_at
from cosim.workloads.nerf.scene import BLENDER, SceneConfig, render_views

H, W = 6, 8


def _pose(k: int) -> list[list[float]]:
    a = 0.7 * k
    return look_at((4.0 * math.cos(a), 4.0 * math.sin(a), 1.5)).tolist()


def _image(k: int) -> np.ndarray:
    rng = np.random.default_rng(k)
    return rng.integers(0, 256, (H, W, 4), dtype=np.uint8)


def write_by_hand(folder: Path, *, times: bool = False, n: dict | None = None) -> Path:
    """A scene as the Blender / D-NeRF scenes are laid out (not with our writer)."""
    n = n or {"train": 3, "val": 1, "test": 2}
    k = 0
    for split, count in n.items():
        (folder / split).mkdir(parents=True)
        frames = []
        for i in range(count):
            Image.fromarray(_image(k), "RGBA").save(folder / split / f"r_{i}.png")
            frame = {"file_path": f"./{split}/r_{i}" if i % 2 == 0 else f"{split}/r_{i}.png",
                     "rotation": 0.012566370614359171, "transform_matrix": _pose(k)}
            if times:
                frame["time"] = k / 10
            frames.append(frame)
            k += 1
        (folder / f"transforms_{split}.json").write_text(json.dumps(
            {"camera_angle_x": 0.6911112070083618, "frames": frames}, indent=4))
    return folder


@pytest.mark.parametrize("times", [False, True])
def test_reads_the_nerf_synthetic_layout(tmp_path, times):
    scene = load_scene(write_by_hand(tmp_path / "s", times=times))
    assert (scene.height, scene.width) == (H, W)
    assert scene.camera_angle_x == 0.6911112070083618
    assert set(scene.splits) == {"train", "val", "test"} and scene.dynamic == times
    test = scene.splits["test"]
    for i, k in enumerate((4, 5)):  # the test frames are images 4 and 5
        rgba = _image(k) / 255.0
        want = rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:])  # on white
        assert np.abs(test.rgb[i] - want).max() < 1e-6
        assert np.abs(test.alpha[i] - rgba[..., 3]).max() < 1e-6
        assert np.array_equal(test.c2w[i], np.array(_pose(k)))
    if times:
        assert np.allclose(scene.splits["train"].times, [0.0, 0.1, 0.2])
        assert np.allclose(test.times, [0.4, 0.5])
    else:
        assert test.times is None


def test_procedural_scene_round_trips_through_the_writer(tmp_path):
    cfg = SceneConfig(dynamic=True, size_px=8, n_train=3, n_val=1, n_test=2, gt_samples=32)
    views = render_views(cfg)
    write_scene(views, tmp_path / "s", BLENDER["camera_angle_x"])
    read = load_scene(tmp_path / "s")
    mem = scene_from_views(views, BLENDER["camera_angle_x"], "memory")
    for split in ("train", "val", "test"):
        a, b = read.splits[split], mem.splits[split]
        assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.alpha, b.alpha)
        assert np.abs(a.c2w - b.c2w).max() < 1e-15
        assert np.array_equal(a.times, b.times)
    assert read.splits["train"].times[0] == 0.0 and read.splits["train"].times[-1] == 1.0


def test_downscale_averages_premultiplied_colour():
    rgba = np.zeros((2, 2, 4), np.float32)
    rgba[0, 0] = (1.0, 0.0, 0.0, 1.0)  # one opaque red pixel, three empty ones
    out = downscale_rgba(rgba, 2)
    assert out.shape == (1, 1, 4)
    assert np.allclose(out[0, 0], (1.0, 0.0, 0.0, 0.25))  # red at a quarter opacity


def _edit(folder: Path, split: str, fn) -> Path:
    path = folder / f"transforms_{split}.json"
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))  # NaN is written as the JSON extension Python reads
    return path


def _set_frame(i: int, key: str, value):
    def fn(d):
        if value is ...:
            del d["frames"][i][key]
        else:
            d["frames"][i][key] = value
    return fn


SCALED = (np.array(_pose(0)) * np.diag([2.0, 1.0, 1.0, 1.0])).tolist()
BAD = [
    ("missing train json", lambda f: (f / "transforms_train.json").unlink(),
     "transforms_train.json", "no transforms_train.json"),
    ("not JSON", lambda f: (f / "transforms_test.json").write_text("{\"frames\": ["),
     "transforms_test.json", "not valid JSON"),
    ("a list", lambda f: (f / "transforms_test.json").write_text("[1, 2]"),
     "transforms_test.json", "JSON object"),
    ("no camera angle", lambda f: _edit(f, "train", lambda d: d.pop("camera_angle_x")),
     "transforms_train.json", "'camera_angle_x'"),
    ("NaN camera angle", lambda f: _edit(f, "train",
                                         lambda d: d.update(camera_angle_x=float("nan"))),
     "transforms_train.json", "finite"),
    ("no frames", lambda f: _edit(f, "val", lambda d: d.update(frames=[])),
     "transforms_val.json", "non-empty"),
    ("no matrix", lambda f: _edit(f, "train", _set_frame(1, "transform_matrix", ...)),
     "transforms_train.json", "frame 1 lacks the key 'transform_matrix'"),
    ("no file path", lambda f: _edit(f, "test", _set_frame(0, "file_path", ...)),
     "transforms_test.json", "'file_path'"),
    ("3 x 4 matrix", lambda f: _edit(f, "train", _set_frame(0, "transform_matrix",
                                                             _pose(0)[:3])),
     "transforms_train.json", "4 rows of 4"),
    ("scaled rotation", lambda f: _edit(f, "train", _set_frame(2, "transform_matrix", SCALED)),
     "transforms_train.json", "not a rotation"),
    ("NaN in matrix", lambda f: _edit(f, "test", _set_frame(
        1, "transform_matrix", [[float("nan")] + r[1:] for r in _pose(5)])), "transforms_test.json",
     "finite"),
    ("last row", lambda f: _edit(f, "test", _set_frame(
        1, "transform_matrix", _pose(5)[:3] + [[0, 0, 1, 1]])), "transforms_test.json",
     "last row"),
    ("text in matrix", lambda f: _edit(f, "train", _set_frame(
        0, "transform_matrix", [["a"] + r[1:] for r in _pose(0)])), "transforms_train.json",
     "must be a number"),
    ("missing image", lambda f: (f / "train" / "r_1.png").unlink(),
     "transforms_train.json", "r_1.png does not exist"),
    ("not a PNG", lambda f: (f / "test" / "r_1.png").write_bytes(b"GIF89a junk"),
     "r_1.png", "cannot be read as a PNG"),
    ("other size", lambda f: Image.fromarray(np.zeros((H, W + 1, 4), np.uint8), "RGBA").save(
        f / "val" / "r_0.png"), "val/r_0.png", "9 x 6 pixels"),
    ("time on one frame", lambda f: _edit(f, "train", _set_frame(0, "time", 0.5)),
     "transforms_train.json", "'time'"),
    ("absolute path", lambda f: _edit(f, "val", _set_frame(0, "file_path", "/etc/x")),
     "transforms_val.json", "relative"),
]


@pytest.mark.parametrize(("name", "spoil", "where", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_scene_is_one_line_naming_the_file(tmp_path, name, spoil, where, fragment):
    folder = write_by_hand(tmp_path / "s")
    spoil(folder)
    with pytest.raises(ConfigError) as err:
        load_scene(folder)
    msg = str(err.value)
    assert "\n" not in msg and where in msg and fragment in msg, msg


def test_time_outside_unit_interval_and_missing_folder(tmp_path):
    folder = write_by_hand(tmp_path / "s", times=True)
    _edit(folder, "test", _set_frame(0, "time", 1.5))
    with pytest.raises(ConfigError, match=r"transforms_test.json: frame 0: time must be in"):
        load_scene(folder)
    with pytest.raises(ConfigError, match="no such folder"):
        load_scene(tmp_path / "nowhere")
