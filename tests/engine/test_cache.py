"""The content-hash cache: keys, hits and misses, atomic concurrent writes."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from circuits.devices import TAOX_40NM
from cosim.engine.cache import ResultCache, cache_key, default_cache_dir


def test_key_is_stable_and_type_aware() -> None:
    a = np.arange(6.0).reshape(2, 3)
    assert cache_key("x", a, 1) == cache_key("x", a.copy(), 1)
    assert cache_key("x", 1) != cache_key("x", "1")
    assert cache_key(a) != cache_key(a.reshape(3, 2))          # shape counts
    assert cache_key(a) != cache_key(a.astype(np.float32))     # dtype counts
    assert cache_key(("a", "b")) != cache_key("ab")
    assert cache_key(TAOX_40NM) == cache_key(TAOX_40NM)
    with pytest.raises(TypeError):
        cache_key(object())


def test_miss_then_hit(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = cache_key("test", 1)
    assert cache.get(key) is None
    calls = []

    def compute() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"m": np.eye(3), "c": np.zeros(3)}

    first = cache.get_or_compute(key, compute)
    second = cache.get_or_compute(key, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["m"], second["m"])
    assert cache.hits == 1 and cache.misses == 2
    assert cache.path(key).exists()
    assert not list(cache.path(key).parent.glob("*.tmp"))


def test_disabled_cache_stores_nothing(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, enabled=False)
    key = cache_key("k")
    assert cache.put(key, {"a": np.ones(2)}) is None
    assert cache.get(key) is None
    assert not any(tmp_path.iterdir())


def test_corrupt_file_is_a_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    key = cache_key("corrupt")
    path = cache.path(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 truncated")
    assert cache.get(key) is None
    cache.put(key, {"a": np.ones(2)})
    np.testing.assert_array_equal(cache.get(key)["a"], np.ones(2))


def test_default_folder_follows_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COSIM_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    cache = ResultCache()
    cache.put(cache_key("env"), {"a": np.zeros(1)})
    assert (tmp_path / "elsewhere").is_dir()


def _writer(folder: str, key: str, n: int) -> None:
    cache = ResultCache(folder)
    value = {"m": np.full((200, 200), 7.0), "n": np.arange(1000)}
    for _ in range(n):
        cache.put(key, value)


def _reader(folder: str, key: str, n: int) -> int:
    cache = ResultCache(folder)
    bad = 0
    for _ in range(n):
        got = cache.get(key)
        if got is not None and not (got["m"].shape == (200, 200) and np.all(got["m"] == 7.0)):
            bad += 1
    return bad


@pytest.mark.slow
def test_concurrent_writers_leave_a_valid_file(tmp_path: Path) -> None:
    key = cache_key("concurrent")
    ctx = mp.get_context("spawn")
    writers = [ctx.Process(target=_writer, args=(str(tmp_path), key, 15)) for _ in range(3)]
    for w in writers:
        w.start()
    bad = _reader(str(tmp_path), key, 60)   # read while they write
    for w in writers:
        w.join(timeout=120)
        assert w.exitcode == 0
    assert bad == 0
    got = ResultCache(tmp_path).get(key)
    assert got is not None
    np.testing.assert_array_equal(got["m"], np.full((200, 200), 7.0))
    np.testing.assert_array_equal(got["n"], np.arange(1000))
    assert not list(tmp_path.rglob("*.tmp"))
