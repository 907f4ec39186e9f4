"""The tile: one MVM interface over the ideal, calibrated and spice backends.

Physics checks compare ``calibrated`` (the nodal solver's transfer matrix)
with ``spice`` (ngspice on the netlist of ``circuits.crossbar``), two
independent solutions of the same network.

The IR-drop error of the ``ideal`` backend, measured here with 1 ohm wire
segments, random conductances between HRS (1 uS) and LRS (29.22 uS) and
signed random inputs: about 8e-4 of full scale at 8 x 8, 4e-3 at 16 x 16,
5e-2 at 64 x 64 (and 0.2 at 128, 0.8 at 256: ``benchmarks/bench_tile.py``).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from circuits.devices import AccessParams, RRAMParams
from circuits.errors import ConfigError
from cosim.accounting.events import Events
from cosim.cli import main
from cosim.engine import tile as tile_module
from cosim.engine.backends.calibrated import (
    FAST_ERROR_BOUND,
    OutsideValidatedRange,
    measured_error,
)
from cosim.engine.noise import MEASURED_LRS, NF_CODE_WRITE_NOISE, WriteNoise, read_factors
from cosim.engine.options import SimOptions
from cosim.engine.tile import compare, make_tile
from tests.hardware_helpers import hw, sim
from tests.hardware_helpers import tile as hw_tile

G_LRS = 29.22e-6
G_HRS = 1.0e-6
LEVEL1 = AccessParams(model="level1")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch) -> None:
    """Keep every test's SPICE results and transfers out of the project's cache."""
    monkeypatch.setenv("COSIM_CACHE_DIR", str(tmp_path / "cache"))


def random_g(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    return rng.uniform(G_HRS, G_LRS, size=(rows, cols))


def tile(backend: str = "ideal", **kw) -> object:
    """A tile of bare hardware with flat-named settings; the cache on (a private folder)."""
    kw.setdefault("use_cache", True)
    return hw_tile(backend=backend, **kw)


def rel_error(y: np.ndarray, y_ref: np.ndarray) -> float:
    return compare(y, y_ref)["max_rel_error"]


# --------------------------------------------------------------------------- bad input


def test_unknown_backend_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'spice'"):
        SimOptions(backend="spcie")


@pytest.mark.parametrize("kw, name", [
    (dict(r_wire_ohm=-1.0), "r_wire_ohm"),
    (dict(v_read_volt=0.0), "v_read_volt"),
    (dict(dac_bits=1), "dac_bits"),
    (dict(adc_bits=8.5), "adc_bits"),
    (dict(macro_rows=0), "macro_rows"),
    (dict(cell="2T2R"), "cell"),
    (dict(read_noise_scale=float("nan")), "read must be"),
])
def test_config_errors_name_the_argument(kw: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        hw(**kw)


def test_sim_and_tile_errors_name_the_argument() -> None:
    with pytest.raises(ConfigError, match="read_noise_method"):
        sim(read_noise_method="adjoint")
    with pytest.raises(ConfigError, match="seed"):
        make_tile(hw(), sim(), seed=-1)


def test_program_refuses_bad_targets(rng) -> None:
    t = tile()
    g = random_g(rng, 4, 3)
    with pytest.raises(ConfigError, match="targets_siemens.*device range"):
        t.program(g * 10)                       # 292 uS > g_max 200 uS
    with pytest.raises(ConfigError, match="targets_siemens.*device range"):
        t.program(-g)
    bad = g.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ConfigError, match="targets_siemens holds NaN"):
        t.program(bad)
    with pytest.raises(ConfigError, match="targets_siemens must be a non-empty 2-D"):
        t.program(g[0])
    with pytest.raises(ConfigError, match="targets_neg_siemens has shape"):
        t.program(g, g[:2])
    with pytest.raises(ConfigError, match="call program"):
        t.mvm(np.zeros((1, 4)))


def test_mvm_refuses_bad_inputs(rng) -> None:
    t = tile()
    t.program(random_g(rng, 4, 3))
    with pytest.raises(ConfigError, match=r"x must have shape \(B, 4\)"):
        t.mvm(np.zeros((2, 5)))
    with pytest.raises(ConfigError, match="x holds NaN"):
        t.mvm(np.array([[0.1, np.nan, 0.0, 0.0]]))
    with pytest.raises(ConfigError, match=r"x must be normalised to \[-1, 1\]"):
        t.mvm(np.full((1, 4), 1.5))
    with pytest.raises(ConfigError, match="B = 0"):
        t.mvm(np.zeros((0, 4)))


# --------------------------------------------------------------------------- ideal backend


def test_ideal_is_plain_matmul_and_counts_events(rng) -> None:
    t = tile(v_read_volt=0.2)
    arr = t.program(random_g(rng, 6, 5))
    x = rng.uniform(-1, 1, size=(7, 6))
    res = t.mvm(x)
    np.testing.assert_allclose(res.y, 0.2 * x @ arr.actual_siemens, rtol=1e-13)
    assert res.events == Events(cell_reads=7 * 30, dac_conversions=7 * 6, adc_conversions=7 * 5)
    assert arr.events.cell_writes == 30
    one = t.mvm(x[0])
    assert one.y.shape == (5,)
    np.testing.assert_allclose(one.y, res.y[0], rtol=1e-13)


def test_split_matrix_equals_unsplit_exactly() -> None:
    """Dyadic conductances and inputs make every sum exact, so the digital partial
    sums of a split array must give the unsplit result bit for bit."""
    rng = np.random.default_rng(5)
    g = rng.integers(1, 30, size=(23, 17)) * 2.0**-20        # about 1 to 29 uS
    x = rng.integers(-8, 9, size=(9, 23)) / 8.0
    whole = tile(v_read_volt=0.25)
    whole.program(g)
    split = tile(v_read_volt=0.25, macro_rows=8, macro_cols=5)
    arr = split.program(g)
    assert len(arr.blocks) == 3 * 4 and arr.row_blocks == 3
    a, b = whole.mvm(x), split.mvm(x)
    np.testing.assert_array_equal(a.y, b.y)
    assert b.events.digital_adds == 9 * 17 * 2
    assert b.events.cell_reads == a.events.cell_reads == 9 * 23 * 17
    assert b.events.dac_conversions == 9 * 23 * 4        # each macro has its own DACs


def test_split_differential_equals_unsplit(rng) -> None:
    gp, gn = random_g(rng, 10, 7), random_g(rng, 10, 7)
    x = rng.uniform(-1, 1, size=(4, 10))
    whole = tile()
    arr = whole.program(gp, gn)
    split = tile(macro_rows=4, macro_cols=6)                 # 3 pairs per macro
    split.program(gp, gn)
    np.testing.assert_allclose(split.mvm(x).y, whole.mvm(x).y, rtol=1e-12, atol=1e-20)
    v = whole.hardware.v_read_volt
    np.testing.assert_allclose(whole.mvm(x).y, v * x @ arr.effective_siemens(), rtol=1e-12)
    np.testing.assert_array_equal(split.read_cells(negative=True), gn)


def test_dac_and_adc_quantise() -> None:
    g = np.full((4, 2), G_LRS)
    t = tile(dac_bits=3, adc_bits=4, v_read_volt=0.2)     # DAC levels k/3, ADC lsb fs/7
    t.program(g)
    x = np.array([[0.2, 0.5, -1.0, 0.9]])
    xq = np.array([[1 / 3, 2 / 3, -1.0, 1.0]])             # round(x * 3) / 3
    analog = 0.2 * xq @ g
    fs = 0.2 * G_LRS * 4
    expected = np.round(analog / (fs / 7)) * (fs / 7)
    np.testing.assert_allclose(t.mvm(x).y, expected, rtol=1e-12)
    sat = t.mvm(np.ones((1, 4))).y                          # exactly full scale: top code
    np.testing.assert_allclose(sat, fs, rtol=1e-12)


def test_write_noise_presets(rng) -> None:
    t = tile()
    targets = np.where(rng.random((200, 200)) < 0.5, G_LRS, G_HRS)
    arr = t.program(targets, write_noise=NF_CODE_WRITE_NOISE)
    lrs = targets == G_LRS
    np.testing.assert_array_equal(arr.actual_siemens[~lrs], G_HRS)           # HRS noise-free
    assert np.std(arr.actual_siemens[lrs]) == pytest.approx(0.15 * G_LRS, rel=0.03)
    arr = t.program(np.full((200, 200), G_LRS), write_noise=MEASURED_LRS)
    assert np.mean(arr.actual_siemens) == pytest.approx(29.22e-6, rel=0.005)
    assert np.std(arr.actual_siemens) == pytest.approx(5.46e-6, rel=0.03)
    # programmed conductances are clipped to the device range (physics, not input)
    arr = t.program(np.full((50, 50), 190e-6), write_noise=WriteNoise(sigma=0.5, scale="target"))
    assert arr.actual_siemens.max() == 200e-6 and arr.actual_siemens.min() >= 0.0


def test_read_noise_is_fresh_each_read_and_seeded(rng) -> None:
    g = random_g(rng, 30, 30)
    a, b = tile(read_noise_scale=0.02, seed=3), tile(read_noise_scale=0.02, seed=3)
    arr = a.program(g)
    b.load(arr)
    r1, r2 = a.read_cells(), a.read_cells()
    assert not np.array_equal(r1, r2)                         # a fresh draw per read
    np.testing.assert_array_equal(r1, b.read_cells())        # same seed, same draws
    assert np.std(r1 / g - 1) == pytest.approx(0.02, rel=0.1)
    f = read_factors((1000,), 0.03, np.random.default_rng(0))
    assert np.mean(f) == pytest.approx(1.0, abs=0.003) and np.std(f) == pytest.approx(0.03, rel=0.1)


def test_cli_mvm_json_and_errors() -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["mvm", "--rows", "12", "--cols", "9", "--backend", "ideal",
                               "--hardware", "paper", "--r-wire", "1",
                               "--batch", "50", "--reference", "calibrated", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    for k in ("mvm_per_s", "setup_s", "peak_rss_mib", "max_rel_error", "max_abs_error"):
        assert out[k] >= 0
    assert 1e-4 < out["max_rel_error"] < 1e-2                 # the IR-drop error of 'ideal'
    res = runner.invoke(main, ["mvm", "--backend", "spcie"])
    assert res.exit_code == 2 and "did you mean 'spice'" in res.stderr


# --------------------------------------------------------------------------- against ngspice


@pytest.mark.ngspice
@pytest.mark.parametrize("n, kw", [
    (8, dict(r_wire_ohm=1.0)),
    (16, dict(r_wire_ohm=2.5, r_driver_ohm=50.0, r_sense_ohm=20.0)),
    (12, dict(r_wire_ohm=1.0, v_read_volt=0.3)),
])
def test_calibrated_equals_spice_0t1r(rng, n: int, kw: dict) -> None:
    g = random_g(rng, n, n + 3)
    x = rng.uniform(-1, 1, size=(10, n))
    cal, ref = tile("calibrated", **kw), tile("spice", **kw)
    arr = cal.program(g)
    ref.load(arr)
    y_ref = ref.mvm(x).y
    # Two solutions of the same network, numbers written to ngspice exactly:
    # measured <= 3.4e-14 (2.9e-10 while netlists carried 10 digits).
    assert rel_error(cal.mvm(x).y, y_ref) < 1e-12
    ideal = tile("ideal", **kw)
    ideal.load(arr)
    err_ideal = rel_error(ideal.mvm(x).y, y_ref)
    assert err_ideal > 1e-4                                   # the IR drop is real ...
    assert err_ideal == pytest.approx(rel_error(ideal.mvm(x).y, cal.mvm(x).y), rel=1e-4)


@pytest.mark.ngspice
@pytest.mark.slow
def test_calibrated_equals_spice_64(rng) -> None:
    g = random_g(rng, 64, 64)
    cal, ref = tile("calibrated"), tile("spice")
    ref.load(cal.program(g))
    x = rng.uniform(-1, 1, size=(3, 64))
    assert rel_error(cal.mvm(x).y, ref.mvm(x).y) < 1e-6


@pytest.mark.ngspice
@pytest.mark.parametrize("positive", [True, False])
def test_calibrated_equals_spice_1t1r(rng, positive: bool) -> None:
    """Tangent transfer at 0.1 V; inputs up to 0.2 V (signed: down to -0.2 V)."""
    g = random_g(rng, 12, 10)
    x = rng.uniform(0 if positive else -1, 1, size=(12, 12))
    x[0] = 1.0                                                # every row at 0.2 V
    cal = tile("calibrated", cell="1T1R", access=LEVEL1)
    ref = tile("spice", cell="1T1R", access=LEVEL1)
    ref.load(cal.program(g))
    y_ref = ref.mvm(x).y
    assert rel_error(cal.mvm(x).y, y_ref) < 1e-3
    exact = tile("calibrated", cell="1T1R", access=LEVEL1, exact_nonlinear=True)
    exact.load(cal.array)
    assert rel_error(exact.mvm(x).y, y_ref) < 1e-4


def _signed_inputs(rng: np.random.Generator, n_vectors: int, rows: int) -> np.ndarray:
    """Random inputs in [-1, 1] plus every row at +1 and every row at -1."""
    return np.vstack([rng.uniform(-1, 1, size=(n_vectors, rows)), np.ones((1, rows)),
                      -np.ones((1, rows))])


@pytest.mark.ngspice
@pytest.mark.parametrize("n, v_read", [(8, 0.05), (16, 0.2)])
def test_calibrated_1t1r_bsim4_within_validated_bound(rng, n: int, v_read: float) -> None:
    """The default access transistor (FreePDK45 BSIM4, tabulated from ngspice), inside
    the fast model's validated range: within ``FAST_ERROR_BOUND`` (1e-5) of full scale."""
    g = random_g(rng, n, n)
    kw = dict(cell="1T1R", v_read_volt=v_read)
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideValidatedRange)  # inside: no warning
        cal, ref = tile("calibrated", **kw), tile("spice", **kw)
        ref.load(cal.program(g))
        x = _signed_inputs(rng, 6, n)
        y_ref = ref.mvm(x).y
        assert rel_error(cal.mvm(x).y, y_ref) < FAST_ERROR_BOUND
    exact = tile("calibrated", exact_nonlinear=True, **kw)
    exact.load(cal.array)
    assert rel_error(exact.mvm(x).y, y_ref) < 3e-6


@pytest.mark.ngspice
def test_calibrated_1t1r_outside_validated_range(rng) -> None:
    """Cells up to 200 uS read at 1 V: the fast model warns and is off by about what it
    states; the exact model stays within ngspice's own tolerance. (Even HRS-LRS cells on
    the smallest measured block exceed the bound at 1 V, 1.6e-5 on 2 x 8, so the tile
    warns as it is built.)"""
    g = rng.uniform(1e-6, 200e-6, size=(8, 8))
    kw = dict(cell="1T1R", v_read_volt=1.0)
    with pytest.warns(OutsideValidatedRange, match="read voltage 1 V"):
        cal = tile("calibrated", **kw)
    ref = tile("spice", **kw)
    ref.load(cal.program(g))
    x = _signed_inputs(rng, 6, 8)
    y_ref = ref.mvm(x).y
    with pytest.warns(OutsideValidatedRange, match=r"8 x 8 cells up to 19\d\.?\d* uS"):
        err = rel_error(cal.mvm(x).y, y_ref)
    assert FAST_ERROR_BOUND < err < 2 * measured_error(8, 8, 200e-6, 1.0)
    exact = tile("calibrated", exact_nonlinear=True, **kw)
    exact.load(cal.array)
    assert rel_error(exact.mvm(x).y, y_ref) < 3e-5


@pytest.mark.ngspice
def test_tall_blocks_warn_and_stay_near_their_measured_figure(rng) -> None:
    """64 rows of formed-range cells read at 0.2 V: the column wires' IR drop moves the
    cells off their bias; the fast model's stated error for the block is over its bound,
    so it warns with the measured figure, and its error stays below that figure."""
    g = rng.uniform(1e-6, 60e-6, size=(64, 12))
    kw = dict(cell="1T1R", v_read_volt=0.2)
    cal, ref = tile("calibrated", **kw), tile("spice", **kw)
    ref.load(cal.program(g))
    x = _signed_inputs(rng, 6, 64)
    y_ref = ref.mvm(x).y
    stated = measured_error(64, 12, float(g.max()), 0.2)
    with pytest.warns(OutsideValidatedRange, match=r"64 x 12 cells.*measured up to "
                                                   r".*blocks up to 64 x 96"):
        err = rel_error(cal.mvm(x).y, y_ref)
    assert stated > FAST_ERROR_BOUND
    assert err < 1.5 * stated
    assert measured_error(64, 12, 29.22e-6, 0.2) <= stated  # the envelope grows with the cells
    assert measured_error(64, 12, 29.22e-6, 2.5) is None  # never measured


@pytest.mark.parametrize("kw, match", [
    (dict(v_read_volt=2.0), "read voltage 2 V"),
    (dict(v_read_volt=2.0, access=LEVEL1), "read voltage 2 V"),
])
def test_config_outside_validated_range_warns(kw: dict, match: str) -> None:
    with pytest.warns(OutsideValidatedRange, match=match):
        tile("calibrated", cell="1T1R", **kw)


def test_unmeasured_arrays_warn(rng) -> None:
    """An array unlike the measured ones (a level-1 transistor: no ngspice) warns when its
    fast model is made."""
    t = tile("calibrated", cell="1T1R", access=LEVEL1)
    t.program(rng.uniform(1e-6, 29e-6, size=(4, 4)))
    with pytest.warns(OutsideValidatedRange, match=r"level1 access transistor: never "
                                                   r"measured.*exact_nonlinear=True"):
        t.prepare()


@pytest.mark.parametrize("kw", [
    dict(backend="calibrated", cell="1T1R"),                          # inside
    dict(backend="calibrated", cell="1T1R", v_read_volt=2.0, exact_nonlinear=True),
    dict(backend="calibrated", cell="0T1R", v_read_volt=2.0),         # linear: exact
    dict(backend="spice", cell="1T1R", v_read_volt=2.0),              # the reference
])
def test_validated_configs_do_not_warn(kw: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutsideValidatedRange)
        tile(**kw)


@pytest.mark.ngspice
def test_sinh_cells_use_newton(rng) -> None:
    rram = RRAMParams(iv="sinh")
    g = random_g(rng, 8, 8)
    cal, ref = tile("calibrated", rram=rram), tile("spice", rram=rram)
    ref.load(cal.program(g))
    x = rng.uniform(-1, 1, size=(5, 8))
    assert rel_error(cal.mvm(x).y, ref.mvm(x).y) < 1e-5


@pytest.mark.ngspice
def test_differential_calibrated_equals_spice(rng) -> None:
    gp, gn = random_g(rng, 8, 5), random_g(rng, 8, 5)
    cal, ref = tile("calibrated"), tile("spice")
    ref.load(cal.program(gp, gn))
    x = rng.uniform(-1, 1, size=(6, 8))
    assert rel_error(cal.mvm(x).y, ref.mvm(x).y) < 1e-6


@pytest.mark.ngspice
def test_batch_equals_one_at_a_time(rng) -> None:
    g = random_g(rng, 8, 6)
    x = rng.uniform(-1, 1, size=(5, 8))
    batched = tile("spice", spice_chunk=3)                    # two ngspice runs
    arr = batched.program(g)
    per_vector = tile("spice", spice_mode="per_vector")
    per_vector.load(arr)
    y = batched.mvm(x).y
    assert batched.backend.runs == 2 and per_vector.backend.runs == 0
    np.testing.assert_allclose(per_vector.mvm(x).y, y, rtol=1e-9, atol=1e-18)
    assert per_vector.backend.runs == 5
    cal = tile("calibrated")
    cal.load(arr)
    rows = np.vstack([cal.mvm(v).y for v in x])
    np.testing.assert_allclose(rows, cal.mvm(x).y, rtol=1e-12)


@pytest.mark.ngspice
def test_spice_results_are_cached(rng) -> None:
    g = random_g(rng, 6, 6)
    x = rng.uniform(-1, 1, size=(4, 6))
    first = tile("spice")
    arr = first.program(g)
    y = first.mvm(x).y
    again = tile("spice")
    again.load(arr)
    np.testing.assert_array_equal(again.mvm(x).y, y)
    assert first.backend.runs == 1 and again.backend.runs == 0


@pytest.mark.ngspice
@pytest.mark.parametrize("cell", ["0T1R", "1T1R"])
def test_read_cells_calibrated_equals_spice(rng, cell: str) -> None:
    g = random_g(rng, 6, 5)
    kw = dict(cell=cell, access=LEVEL1, r_wire_ohm=5.0, r_sense_ohm=100.0)
    cal, ref = tile("calibrated", **kw), tile("spice", **kw)
    ref.load(cal.program(g))
    g_cal, g_ref = cal.read_cells(), ref.read_cells()
    np.testing.assert_allclose(g_cal, g_ref, rtol=1e-5)
    assert np.all(g_ref < g)                                  # the path's resistance shows


@pytest.mark.ngspice
@pytest.mark.parametrize("method, tol", [("first_order", 1e-4), ("exact", 1e-6)])
def test_read_noise_against_spice(rng, method: str, tol: float) -> None:
    """Same seed, same calls: both tiles draw the same noisy conductances."""
    g = random_g(rng, 16, 16)
    x = rng.uniform(-1, 1, size=(8, 16))
    kw = dict(read_noise_scale=0.02, seed=11, read_noise_draw="per_call")
    cal = tile("calibrated", read_noise_method=method, **kw)
    ref = tile("spice", **kw)
    ref.load(cal.program(g))
    y, y_ref = cal.mvm(x).y, ref.mvm(x).y
    quiet = tile("spice")
    quiet.load(cal.array)
    assert rel_error(y_ref, quiet.mvm(x).y) > 5e-3           # the noise is there ...
    assert rel_error(y, y_ref) < tol                          # ... and followed


@pytest.mark.ngspice
def test_validate_reports_small_error(rng) -> None:
    t = tile("calibrated")
    t.program(random_g(rng, 8, 8))
    v = t.validate(n=6)
    assert v.reference == "spice" and v.n_vectors == 6
    assert v.max_rel_error < 1e-12 and v.max_abs_error < 1e-17   # measured 2e-15, 3e-20
    ideal = tile("ideal")
    ideal.load(t.array)
    assert ideal.validate(n=6).max_rel_error > 1e-4
    with pytest.raises(ConfigError, match="backend"):
        t.validate(n=2, reference="ngspice")


@pytest.mark.parametrize("backend", ["ideal", "calibrated"])
def test_reads_of_the_same_inputs_again_equal_reads_recomputed(rng, backend: str,
                                                               monkeypatch) -> None:
    """Read cycles of unchanged inputs reuse their mean and spread: every value equals a
    tile that remembers nothing, also after the array is programmed again."""
    g1, g2 = random_g(rng, 12, 5), random_g(rng, 12, 5)
    x, x2 = rng.uniform(-1, 1, (3, 12)), rng.uniform(-1, 1, (3, 12))

    def reads() -> list[np.ndarray]:
        t = tile(backend, read_noise_scale=0.03, seed=5)
        out = []
        for g in (g1, g2):
            t.program(g)
            out += [t.mvm(x).y, t.mvm(x).y, t.mvm(x2).y, t.mvm(x).y]
        return out

    kept = reads()
    monkeypatch.setattr(tile_module, "MOMENT_BYTES", 0)
    for a, b in zip(kept, reads(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(kept[0], kept[1])               # a fresh draw per read
    assert np.abs(kept[4] - kept[0]).max() > 0.1 * np.abs(kept[0]).max()  # new array read


@pytest.mark.parametrize("backend", ["ideal", "calibrated"])
def test_each_vector_is_a_fresh_read(rng, backend: str) -> None:
    """Per-vector noise has the spread of independent per-cell factors (PRIME eq. 7)."""
    g = random_g(rng, 12, 5)
    x = np.tile(rng.uniform(-1, 1, size=(1, 12)), (4000, 1))
    t = tile(backend, read_noise_scale=0.03, seed=5)
    t.program(g)
    y = t.mvm(x).y
    quiet = tile(backend)
    quiet.load(t.array)
    y0 = quiet.mvm(x[:1]).y[0]
    assert not np.allclose(y[0], y[1])                       # vectors differ: fresh reads
    np.testing.assert_allclose(y.mean(0), y0, rtol=0, atol=4 * y.std(0).max() / np.sqrt(4000))
    # Brute force: one factor per cell per read through the same tile path.
    brute = tile(backend, read_noise_scale=0.03, seed=6, read_noise_draw="per_call")
    brute.load(t.array)
    yb = np.array([brute.mvm(x[:1]).y[0] for _ in range(1500)])
    np.testing.assert_allclose(y.std(0), yb.std(0), rtol=0.1)
