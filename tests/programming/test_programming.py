"""PTQ and HAQ programming, bit aggregation (digital and VCMAC chain), weight tuning."""

from __future__ import annotations

import time

import numpy as np
import pytest

from circuits.devices import FORMED_TAOX, TAOX_40NM
from circuits.errors import ConfigError
from cosim.hardware.spec import HardwareSpec
from cosim.programming.aggregation import (
    Aggregator,
    aggregate_digital,
    aggregate_vcmac,
    code_for_ratio,
    outputs_from_currents,
    vcmac_error_bound,
    vcmac_ratio,
)
from cosim.programming.base import BinaryCellWriter, IdealReadBack
from cosim.programming.binary import HAQ, PTQ, program_haq, program_ptq
from cosim.programming.pairs import TunedPairs, TuningWriter
from cosim.workloads.field.deploy import WeightMapping
from cosim.workloads.haq.mvm import HaqExperimentConfig, run_mvm_experiment
from tests.hardware_helpers import hw, sim, tile

G_LRS, G_HRS = TAOX_40NM.g_lrs_siemens, TAOX_40NM.g_hrs_siemens


def _weights(rng, shape=(24, 10)):
    w = rng.uniform(-3.0, 3.0, shape)
    w[0, 0] = 0.0
    return w


# -- PTQ -------------------------------------------------------------------------------


def test_ptq_noise_free_is_uniform_quantisation(rng):
    w = _weights(rng)
    n = 6
    pw = program_ptq(w, n)
    m = np.abs(w).max()
    q = np.rint((w / m + 1) / 2 * (2**n - 1))
    expect = (q / (2**n - 1) * 2 - 1) * m
    np.testing.assert_allclose(pw.weights(), expect, atol=1e-12)
    assert np.max(np.abs(pw.weights() - w)) <= m / (2**n - 1) + 1e-12


def test_ptq_layout_msb_first_in_adjacent_columns():
    w = np.array([[1.0, -1.0, 0.2]])
    pw = program_ptq(w, 3)
    assert pw.g_actual_siemens.shape == (1, 9)
    bits = pw.bits()
    # +1 -> q = 7 = 111, -1 -> q = 0 = 000, 0.2 -> round(0.6 * 7) = 4 = 100 (MSB first)
    np.testing.assert_array_equal(bits[0, 0], [True, True, True])
    np.testing.assert_array_equal(bits[0, 1], [False, False, False])
    np.testing.assert_array_equal(bits[0, 2], [True, False, False])
    np.testing.assert_array_equal(pw.g_target_siemens[0, 6:9], [G_LRS, G_HRS, G_HRS])


def test_ptq_one_bit_is_the_sign():
    w = np.array([[0.3, -0.7, 1.0]])
    np.testing.assert_allclose(program_ptq(w, 1).weights(), [[1.0, -1.0, 1.0]])


# -- HAQ -------------------------------------------------------------------------------


@pytest.mark.parametrize("s", [1.2, 1.5, 2.0])
def test_haq_noise_free_residual_below_last_bit(rng, s):
    w = _weights(rng)
    n = 10
    pw = program_haq(w, n, s)
    m = np.abs(w).max()
    # Greedy signed digits with s <= 2 keep |t - w_pro| <= s**-(n-1) after n bits.
    assert np.max(np.abs(pw.weights() - w)) <= m * s ** -(n - 1) * (1 + 1e-9)
    np.testing.assert_allclose(pw.w_verify, pw.weights(), atol=1e-12)


@pytest.mark.parametrize("scheme", ["haq", "ptq"])
def test_column_scaling_quantises_each_column_against_its_own_largest_weight(rng, scheme):
    """Noise-free, each column's error stays within the analytic bound of its *own* full
    scale (HAQ: greedy signed digits, s**-(n-1); PTQ: one level, max / (2**n - 1)); with
    one matrix scale the small column's error is set by the large column instead. An
    all-zero column takes the smallest nonzero column's scale."""
    n, s = 8, 1.5
    w = rng.uniform(-1.0, 1.0, (30, 4)) * np.array([100.0, 1.0, 0.01, 0.0])
    col_max = np.abs(w).max(axis=0)
    bound = s ** -(n - 1) if scheme == "haq" else 1.0 / (2**n - 1)

    def prog(scaling):
        return program_haq(w, n, s, scaling=scaling) if scheme == "haq" else \
            program_ptq(w, n, scaling=scaling)

    per_col = prog("column")
    err = np.abs(per_col.weights() - w).max(axis=0)
    assert np.all(err[:3] <= col_max[:3] * bound * (1 + 1e-9))
    assert err[3] <= col_max[2] * bound * (1 + 1e-9)  # all-zero: the smallest column's scale
    np.testing.assert_allclose(per_col.weight_scale[:3], col_max[:3])
    matrix = np.abs(prog("matrix").weights() - w).max(axis=0)
    assert matrix[1] > 10 * col_max[1] * bound  # one scale: column 1 is coarse


def test_column_scaling_reads_back_through_the_tile(rng):
    """The per-column scale is applied where the matrix scale is (after aggregation)."""
    w = rng.uniform(-1, 1, (16, 5)) * np.array([3.0, 0.1, 1.0, 0.02, 0.5])
    x = rng.uniform(-1, 1, (9, 16))
    t = tile(backend="ideal")
    writer = BinaryCellWriter(lrs_sigma=0.2, rng=rng)
    for pw in (program_ptq(w, 8, program_cells=writer, scaling="column"),
               program_haq(w, 8, 1.5, program_cells=writer, scaling="column")):
        t.program(pw.g_actual_siemens)
        y = outputs_from_currents(pw, t.mvm(x).y, x, t.hardware.v_read_volt)
        np.testing.assert_allclose(y, x @ pw.weights(), rtol=1e-9, atol=1e-12)


def test_unknown_weight_scaling_is_refused():
    with pytest.raises(ConfigError, match="unknown weight scaling 'row'"):
        program_haq(np.ones((2, 2)), 4, 1.5, scaling="row")
    with pytest.raises(ConfigError, match="unknown weight scaling"):
        HAQ(n_bits=4, scaling="rows")
    with pytest.raises(ConfigError, match="unknown weight scaling"):
        PTQ(n_bits=4, scaling="")


def test_haq_first_bit_is_sign_and_layout(rng):
    w = _weights(rng)
    pw = program_haq(w, 4, 1.5)
    bits = pw.bits()
    np.testing.assert_array_equal(bits[:, :, 0], w > 0)
    assert pw.g_target_siemens.shape == (w.shape[0], w.shape[1] * 4)


def test_haq_uses_the_read_back_conductance():
    """The next bit corrects what the verify read saw, not the intended level."""
    w = np.array([[0.5]])
    # Cells land 30 % above LRS: bit 0 reads b = +1.62 -> overshoot -> bit 1 RESET.
    writer = lambda g: np.where(g > 2 * G_HRS, 1.3 * G_LRS, g)  # noqa: E731
    pw = program_haq(w, 2, 1.5, program_cells=writer)
    np.testing.assert_array_equal(pw.bits()[0, 0], [True, False])
    # A read-back that reports the cells lower flips the decision.
    low = lambda g, cols=None: (g if cols is None else g[:, cols]) * 0.6  # noqa: E731
    pw2 = program_haq(w, 2, 1.5, program_cells=writer, read_back=low)
    np.testing.assert_array_equal(pw2.bits()[0, 0], [True, True])


def test_haq_corrects_write_noise_ptq_does_not(rng):
    w = rng.uniform(-1, 1, (60, 40))
    writer = BinaryCellWriter(lrs_sigma=0.187, rng=np.random.default_rng(5))
    ptq = program_ptq(w, 12, program_cells=writer)
    haq = program_haq(w, 12, 1.5, program_cells=writer)
    e_ptq = np.sqrt(np.mean((ptq.weights() - w) ** 2))
    e_haq = np.sqrt(np.mean((haq.weights() - w) ** 2))
    assert e_haq * 10 < e_ptq
    assert haq.events.cell_writes == w.size * 12


def test_write_noise_only_on_lrs_by_default(rng):
    g = np.where(rng.random((50, 50)) > 0.5, G_LRS, G_HRS)
    out = BinaryCellWriter(lrs_sigma=0.2, rng=rng)(g)
    np.testing.assert_array_equal(out[g == G_HRS], G_HRS)
    assert 0.15 < np.std(out[g == G_LRS]) / G_LRS < 0.25
    out2 = BinaryCellWriter(lrs_sigma=0.0, hrs_sigma=0.1, rng=rng)(g)
    assert np.std(out2[g == G_HRS]) > 0
    np.testing.assert_array_equal(out2[g == G_LRS], G_LRS)


def test_read_noise_is_fresh_per_read(rng):
    rb = IdealReadBack(read_noise=0.01, rng=rng)
    g = np.full((4, 6), G_LRS)
    a, b = rb(g), rb(g, np.array([1, 2]))
    assert a.shape == (4, 6) and b.shape == (4, 2)
    assert not np.allclose(a[:, 1:3], b)


@pytest.mark.slow
def test_haq_512x512_16bit_is_vectorised():
    w = np.random.default_rng(0).standard_normal((512, 512))
    t0 = time.perf_counter()
    pw = program_haq(w, 16, 1.5, program_cells=BinaryCellWriter(lrs_sigma=0.15))
    assert time.perf_counter() - t0 < 15.0
    assert pw.g_actual_siemens.shape == (512, 512 * 16)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_bits": 0}, "n_bits"), ({"n_bits": 17}, "n_bits"), ({"n_bits": 2.5}, "n_bits"),
    ({"amp_ratio": 1.0}, "amplification ratio"), ({"amp_ratio": 0.5}, "amplification ratio"),
    ({"amp_ratio": float("nan")}, "amplification ratio"),
])
def test_bad_programming_input(kwargs, match):
    args = {"n_bits": 8, "amp_ratio": 1.5, **kwargs}
    with pytest.raises(ConfigError, match=match):
        program_haq(np.ones((2, 2)), args["n_bits"], args["amp_ratio"])


def test_bad_weights_and_noise():
    with pytest.raises(ConfigError, match="NaN"):
        program_ptq(np.array([[np.nan, 1.0]]), 4)
    with pytest.raises(ConfigError, match="2-D"):
        program_ptq(np.ones(3), 4)
    with pytest.raises(ConfigError, match="write noise"):
        BinaryCellWriter(lrs_sigma=-0.1)
    with pytest.raises(ConfigError, match="programming scheme"):
        WeightMapping(scheme="hqa")
    with pytest.raises(ConfigError, match="write must be"):
        hw(write_noise=-0.05)
    with pytest.raises(ConfigError, match="bits"):
        HaqExperimentConfig(n_bits=17)


# -- aggregation -----------------------------------------------------------------------


def test_switch_codes():
    assert code_for_ratio(1.5) == 5 and code_for_ratio(2.5) == 15 and code_for_ratio(1.1) == 1
    with pytest.raises(ConfigError, match="nearest is 1.5"):
        code_for_ratio(1.52)
    with pytest.raises(ConfigError, match="amplification ratio"):
        code_for_ratio(1.0)
    with pytest.raises(ConfigError, match="cannot set"):
        HaqExperimentConfig(amp_ratio=2.7).check_hardware(hw(aggregation="analog"))


def test_vcmac_chain_equals_digital_when_ratio_matches(rng):
    i = rng.uniform(-1e-5, 1e-5, (7, 5 * 12))
    d = aggregate_digital(i, 12, 1.53)
    a = aggregate_vcmac(i, 12, 1.53, 1.53)
    np.testing.assert_allclose(a, d, rtol=1e-12, atol=1e-20)
    direct = sum(i[:, j::12] * 1.53 ** -j for j in range(12))
    np.testing.assert_allclose(d, direct, rtol=1e-12)


def test_vcmac_analog_within_measured_ratio_error(rng):
    """Stage ratios within +-e of the programmed ratio: |analog - digital| <= bound(e)."""
    n, e = 12, 0.01
    i = rng.uniform(0, 1e-5, (20, 8 * n))
    for _ in range(20):
        stages = 1.5 * (1 + rng.uniform(-e, e, n - 1))
        diff = np.abs(aggregate_vcmac(i, n, stages, 1.5) - aggregate_digital(i, n, 1.5))
        bound = vcmac_error_bound(i, n, 1.5, e)
        assert np.all(diff <= bound * (1 + 1e-9))
    # The error compounds at most over the n-1 stages: relative bound <= (1+e)**(n-1) - 1.
    rel = vcmac_error_bound(i, n, 1.5, e) / np.abs(aggregate_digital(i, n, 1.5))
    assert rel.max() <= (1 + e) ** (n - 1) - 1


def test_nominal_rescale_leaves_a_global_gain(rng):
    i = rng.uniform(0, 1e-5, (3, 4 * 8))
    meas, nom = 1.515, 1.5
    agg = Aggregator(kind="analog", stage_ratios=meas, rescale="nominal", nominal_ratio=nom)
    np.testing.assert_allclose(agg(i, 8, meas), aggregate_digital(i, 8, meas) * (meas / nom) ** 7,
                               rtol=1e-12)


def test_outputs_from_currents_reproduce_programmed_mvm(rng):
    w = rng.uniform(-1, 1, (16, 5))
    x = rng.uniform(-1, 1, (9, 16))
    t = tile(backend="ideal")
    for pw in (program_ptq(w, 8, program_cells=BinaryCellWriter(lrs_sigma=0.2, rng=rng)),
               program_haq(w, 8, 1.5, program_cells=BinaryCellWriter(lrs_sigma=0.2, rng=rng))):
        t.program(pw.g_actual_siemens)
        y = outputs_from_currents(pw, t.mvm(x).y, x, t.hardware.v_read_volt)
        np.testing.assert_allclose(y, x @ pw.weights(), rtol=1e-9, atol=1e-12)


def test_haq_analog_aggregation_with_measured_ratio_matches_digital():
    """HAQ programmed with the measured VCMAC ratio: the analog chain then computes
    exactly the digital powers of that ratio, so with the same seed (same writes, no
    read noise) both aggregations give the same outputs to rounding."""
    base = dict(n_bits=12, vector_length=50, n_outputs=20, n_vectors=20, read_cycles=0, seed=3)
    quiet = hw(HardwareSpec(), read_noise=0.0)
    ideal = sim(backend="ideal")
    measured = {code_for_ratio(1.5): 1.5 * 1.008}
    ana = run_mvm_experiment(HaqExperimentConfig(**base),
                             hw(quiet, aggregation="analog"), ideal, vcmac_measured=measured)
    dig = run_mvm_experiment(HaqExperimentConfig(**base, amp_ratio=1.5 * 1.008), quiet, ideal)
    assert ana.haq_ratio_programmed == pytest.approx(1.512)
    assert ana.vcmac.rel_error == pytest.approx(0.008)
    np.testing.assert_array_equal(ana.haq.programmed.g_actual_siemens,
                                  dig.haq.programmed.g_actual_siemens)
    np.testing.assert_allclose(ana.haq.y, dig.haq.y, rtol=0, atol=1e-9 * np.abs(dig.haq.y).max())
    r = vcmac_ratio(1.5, measured)
    assert r.code == 5 and r.nominal == 1.5


# -- through the circuit ---------------------------------------------------------------


@pytest.mark.ngspice
def test_haq_through_spice_and_calibrated_agree():
    """HAQ verified through the spice and the calibrated read paths (16 x 8, 8 bits, 1 ohm)."""
    from cosim.layers.analog import TileReadBack

    rng = np.random.default_rng(11)
    w = rng.uniform(-1, 1, (16, 8))
    x = rng.uniform(-1, 1, (6, 16))
    out = {}
    for backend in ("calibrated", "spice"):
        t = tile(backend=backend, r_wire_ohm=1.0)
        writer = BinaryCellWriter(lrs_sigma=0.187, rng=np.random.default_rng(7))
        pw = program_haq(w, 8, 1.5, program_cells=writer, read_back=TileReadBack(t))
        t.program(pw.g_actual_siemens)
        y = outputs_from_currents(pw, t.mvm(x).y, x, t.hardware.v_read_volt)
        out[backend] = (pw, y, t)
    (pw_c, y_c, tile_c), (pw_s, y_s, _) = out["calibrated"], out["spice"]
    stated = tile_c.validate(reference="spice")  # the calibrated backend's own error
    assert stated.max_rel_error < 1e-6
    np.testing.assert_array_equal(pw_c.bits(), pw_s.bits())
    np.testing.assert_allclose(pw_c.w_verify, pw_s.w_verify, atol=1e-6)
    # Output error allowed by the stated current error through the aggregation.
    v = tile_c.hardware.v_read_volt
    dy = stated.max_abs_error * np.sum(1.5 ** -np.arange(8)) / (pw_c.g_unit_siemens * v)
    assert np.max(np.abs(y_c - y_s)) <= dy * pw_c.weight_scale * 1.01


# -- weight tuning (the PRIME SNN's baseline) ------------------------------------------


def test_tuned_pairs_write_given_weights_and_miss_by_the_write_noise():
    w = np.random.default_rng(1).standard_normal((200, 50))
    exact = TunedPairs().program(w, w.shape, rram=TAOX_40NM,
                                 write=BinaryCellWriter(rram=TAOX_40NM), read_back=None)
    np.testing.assert_allclose(exact.weights(), w, atol=1e-12)
    noisy = TunedPairs().program(w, w.shape, rram=TAOX_40NM, write=TuningWriter(sigma=0.1),
                                 read_back=None)
    # each cell misses by 0.1 g_LRS; the pair difference by sqrt(2) of that, in g_unit units
    expect = np.sqrt(2) * 0.1 * TAOX_40NM.g_lrs_siemens / (np.sqrt(2) * FORMED_TAOX.std_siemens)
    assert np.std(noisy.weights() - w) == pytest.approx(expect, rel=0.05)
    # a RESET misses by sigma of g_HRS only
    g = TuningWriter(sigma=0.1)(np.full(10_000, TAOX_40NM.g_hrs_siemens))
    assert np.std(g) == pytest.approx(0.1 * TAOX_40NM.g_hrs_siemens, rel=0.05)
