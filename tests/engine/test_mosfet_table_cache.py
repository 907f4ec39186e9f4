"""The BSIM4 I-V table's disk cache (``cosim.engine.mosfet.bsim4_table``).

Most tests replace the two ngspice sweeps with a synthetic one that counts its
calls, so they check the cache logic in milliseconds; the ``ngspice`` tests
run the real sweeps on a coarse grid (``TABLE_STEPS = 40``) to stay quick.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from circuits.devices import AccessParams
from circuits.errors import CosimWarning
from cosim.engine import mosfet
from cosim.engine.cache import ResultCache
from tests import PROJECT_ROOT

ACCESS = AccessParams()
SPAN = 0.5
ROOT = PROJECT_ROOT


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private cache folder, and no table left in memory by other tests (or for them)."""
    monkeypatch.setenv("COSIM_CACHE_DIR", str(tmp_path / "default-cache"))
    saved = dict(mosfet._TABLES)
    mosfet.forget_tables()
    yield
    mosfet.forget_tables()
    mosfet._TABLES.update(saved)


@pytest.fixture
def sweeps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace ngspice with a smooth synthetic sweep; the list records each sweep run."""
    calls: list[str] = []

    def fake(netlist, inner, inner_grid, outer_grid):
        calls.append(inner)
        vs, x = np.meshgrid(outer_grid, inner_grid, indexing="ij")
        vds = x if inner == "Vds" else x - vs
        i = 1e-4 * vds * (1.1 - vs - 0.3 * vds)
        return i + 1e-12, i - 1e-12

    monkeypatch.setattr(mosfet, "_nested_sweep", fake)
    return calls


def _arrays(t: mosfet.TabulatedMos) -> dict[str, np.ndarray]:
    names = ("v_grid_volt", "i_d_table", "i_s_table", "vds_grid_volt",
             "i_d_fwd", "i_s_fwd", "i_d_rev", "i_s_rev")
    return {n: getattr(t, n) for n in names}


def _assert_same(a: mosfet.TabulatedMos, b: mosfet.TabulatedMos) -> None:
    for name, arr in _arrays(a).items():
        np.testing.assert_array_equal(arr, getattr(b, name), err_msg=name)


def test_a_warm_cache_skips_the_sweeps(tmp_path: Path, sweeps: list[str]) -> None:
    cache = ResultCache(tmp_path)
    first = mosfet.bsim4_table(ACCESS, SPAN, cache)
    assert sweeps == ["Vd", "Vds"]
    assert mosfet.bsim4_table(ACCESS, SPAN, cache) is first      # memory
    mosfet.forget_tables()                                        # as a fresh process
    second = mosfet.bsim4_table(ACCESS, SPAN, cache)
    assert sweeps == ["Vd", "Vds"] and cache.hits == 1
    assert second is not first
    _assert_same(first, second)
    vd, vs = np.array([0.1, 0.2, 0.05]), np.array([0.1, 0.0, 0.3])
    np.testing.assert_array_equal(first.evaluate(vd, vs).i_d, second.evaluate(vd, vs).i_d)
    assert not list(tmp_path.rglob("*.tmp"))


def test_the_default_cache_is_the_project_folder(tmp_path: Path, sweeps: list[str]) -> None:
    mosfet.bsim4_table(ACCESS, SPAN)
    key = mosfet.table_key(ACCESS, SPAN)
    assert ResultCache(tmp_path / "default-cache").path(key).is_file()


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _wrong(**arrays: np.ndarray):
    def write(path: Path) -> None:
        with path.open("wb") as f:
            np.savez(f, **arrays)
    return write


def _with(name: str, change):
    def write(path: Path) -> None:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays[name] = change(arrays[name])
        with path.open("wb") as f:
            np.savez(f, **arrays)
    return write


def _without(name: str):
    def write(path: Path) -> None:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files if k != name}
        with path.open("wb") as f:
            np.savez(f, **arrays)
    return write


BAD_FILES = {
    "truncated": _truncate,
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"\x93NUMPY not really" * 50),
    "flipped byte": _flip_middle,
    "foreign arrays": _wrong(M=np.zeros((3, 3))),
    "missing array": _without("i_s_rev"),
    "wrong shape": _with("i_d_table", lambda a: a[:-1]),
    "not finite": _with("i_d_fwd", lambda a: np.where(a == a.max(), np.nan, a)),
    "other grid": _with("v_grid_volt", lambda a: a * 1.01),
    "integers": _with("i_s_table", lambda a: a.astype(np.int64)),
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_cache_file_is_ignored_and_rebuilt(tmp_path: Path, sweeps: list[str],
                                                 damage) -> None:
    cache = ResultCache(tmp_path)
    good = mosfet.bsim4_table(ACCESS, SPAN, cache)
    path = cache.path(mosfet.table_key(ACCESS, SPAN))
    damage(path)
    mosfet.forget_tables()
    rebuilt = mosfet.bsim4_table(ACCESS, SPAN, cache)
    assert sweeps == ["Vd", "Vds"] * 2
    _assert_same(good, rebuilt)
    mosfet.forget_tables()                     # the bad file was replaced by a good one
    _assert_same(good, mosfet.bsim4_table(ACCESS, SPAN, cache))
    assert sweeps == ["Vd", "Vds"] * 2


def _card_copy(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    text = (mosfet.MODEL_DIR / mosfet.BSIM4_FILE).read_text()
    assert old in text
    (folder / mosfet.BSIM4_FILE).write_text(text.replace(old, new, 1))
    return folder


CHANGES = {
    "width": lambda mp, tmp: {"access": AccessParams(w_m=2e-6)},
    "gate": lambda mp, tmp: {"access": AccessParams(v_gate_volt=1.0)},
    "length": lambda mp, tmp: {"access": AccessParams(l_m=60e-9)},
    "span": lambda mp, tmp: {"span": 1.0},
    "grid": lambda mp, tmp: mp.setattr(mosfet, "TABLE_STEPS", 100),
    "band": lambda mp, tmp: mp.setattr(mosfet, "BAND_FRACTION", 0.3),
    "table code": lambda mp, tmp: mp.setattr(mosfet, "table_code_digest", lambda: "edited"),
    "simulator": lambda mp, tmp: mp.setattr(mosfet, "simulator_id", lambda: "ngspice-99"),
    "model card": lambda mp, tmp: mp.setattr(mosfet, "MODEL_DIR",
                                             _card_copy(tmp, "vth0 = 0.4106", "vth0 = 0.42")),
    "card comment": lambda mp, tmp: mp.setattr(
        mosfet, "MODEL_DIR", _card_copy(tmp, "\n", "\n* edited\n")),
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_changed_card_or_parameter_never_reuses_a_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sweeps: list[str], change) -> None:
    cache = ResultCache(tmp_path / "cache")
    old_key = mosfet.table_key(ACCESS, SPAN)
    old = mosfet.bsim4_table(ACCESS, SPAN, cache)
    args = {"access": ACCESS, "span": SPAN} | (change(monkeypatch, tmp_path) or {})
    assert mosfet.table_key(args["access"], args["span"]) != old_key
    new = mosfet.bsim4_table(args["access"], args["span"], cache)   # no forget_tables():
    assert new is not old                                            # memory is keyed alike
    assert sweeps == ["Vd", "Vds"] * 2
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 2


def test_the_key_reads_the_card_file_at_each_call(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _card_copy(tmp_path, "\n", "\n")
    monkeypatch.setattr(mosfet, "MODEL_DIR", folder)
    before = mosfet.table_key(ACCESS, SPAN)
    card = folder / mosfet.BSIM4_FILE
    card.write_text(card.read_text().replace("vth0 = 0.4106", "vth0 = 0.42"))
    assert mosfet.table_key(ACCESS, SPAN) != before


def test_without_a_disk_cache_tables_stay_in_memory(tmp_path: Path, sweeps: list[str]) -> None:
    for cache in (None, ResultCache(tmp_path, enabled=False)):
        mosfet.forget_tables()
        first = mosfet.bsim4_table(ACCESS, SPAN, cache)
        assert mosfet.bsim4_table(ACCESS, SPAN, cache) is first
    assert sweeps == ["Vd", "Vds"] * 2
    assert not list(tmp_path.rglob("*"))
    assert not (tmp_path / "default-cache").exists()


def test_an_unwritable_cache_warns_and_still_gives_the_table(tmp_path: Path,
                                                             sweeps: list[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(CosimWarning, match="not cached"):
        table = mosfet.bsim4_table(ACCESS, SPAN, ResultCache(blocker))
    assert table.i_d_table.shape == (mosfet.TABLE_STEPS + 1,) * 2


# --------------------------------------------------------------------------- ngspice


COARSE = 40
"""Intervals per axis of the ngspice tests' tables (200 in use): 1/25 of the points."""


@pytest.mark.ngspice
def test_a_stored_table_is_the_ngspice_table_bit_for_bit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mosfet, "TABLE_STEPS", COARSE)
    cache = ResultCache(tmp_path)
    built = mosfet.bsim4_table(ACCESS, SPAN, cache)
    mosfet.forget_tables()
    loaded = mosfet.bsim4_table(ACCESS, SPAN, cache)
    assert cache.hits == 1
    _assert_same(built, loaded)
    rng = np.random.default_rng(3)
    vd, vs = rng.uniform(-0.45, 0.45, (2, 500))
    a, b = built.evaluate(vd, vs), loaded.evaluate(vd, vs)
    for name in ("i_d", "i_s", "did_dvd", "did_dvs", "dis_dvd", "dis_dvs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.ngspice
def test_a_changed_card_gives_a_new_ngspice_table(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import circuits.runner

    monkeypatch.setattr(mosfet, "TABLE_STEPS", COARSE)
    cache = ResultCache(tmp_path / "cache")
    old = mosfet.bsim4_table(ACCESS, SPAN, cache)
    folder = _card_copy(tmp_path, "vth0 = 0.4106", "vth0 = 0.50")
    monkeypatch.setattr(mosfet, "MODEL_DIR", folder)            # the key reads it
    monkeypatch.setattr(circuits.runner, "MODEL_DIR", folder)   # ngspice runs it
    new = mosfet.bsim4_table(ACCESS, SPAN, cache)
    # A higher threshold: less current at the same bias, everywhere the channel is on.
    on = np.abs(old.i_d_table) > 1e-6
    assert on.sum() > 100
    assert np.all(np.abs(new.i_d_table[on]) < np.abs(old.i_d_table[on]))


_CHILD = textwrap.dedent("""
    import sys
    from circuits.devices import AccessParams
    from cosim.engine import mosfet
    mosfet.TABLE_STEPS = int(sys.argv[1])
    runs = []
    sweep = mosfet._nested_sweep
    mosfet._nested_sweep = lambda *a: runs.append(1) or sweep(*a)
    t = mosfet.access_model(AccessParams(), 0.3)
    print(len(runs), repr(float(t.i_d_table.sum())))
""")


@pytest.mark.ngspice
def test_a_fresh_process_reads_the_table_from_disk(tmp_path: Path) -> None:
    env = {**__import__("os").environ, "COSIM_CACHE_DIR": str(tmp_path / "cache")}
    outs = [subprocess.run([sys.executable, "-c", _CHILD, str(COARSE)], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True, timeout=120).stdout.split()
            for _ in range(2)]
    assert outs[0][0] == "2" and outs[1][0] == "0"   # sweeps run by the first process only
    assert outs[0][1] == outs[1][1]
