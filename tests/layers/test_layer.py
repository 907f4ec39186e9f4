"""The analog layer: weight units, schemes, macro splitting, and the events it counts."""

from __future__ import annotations

from dataclasses import asdict, fields

import numpy as np
import pytest

from circuits.devices import TAOX_40NM, FormingNoise
from circuits.errors import ConfigError
from cosim.accounting.events import NF_TIMING, Events
from cosim.accounting.workload import haq_mvm_workload, mvm_workload
from cosim.hardware.spec import HardwareSpec
from cosim.layers.analog import AnalogLayer
from cosim.programming.aggregation import Aggregator
from cosim.programming.base import BinaryCellWriter
from cosim.programming.binary import HAQ, PTQ
from cosim.programming.pairs import Pruned, RandomPairs
from cosim.workloads.haq.mvm import HaqExperimentConfig, run_mvm_experiment
from tests.hardware_helpers import sim, tile


def ideal(**kw):
    """A new ideal tile without wires; HAQ verifies each cell alone, one pass, exact writes."""
    return tile(backend="ideal", r_wire_ohm=0.0, verify_read="exact", haq_passes=1, **kw)


def _w(rows, cols, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (rows, cols))


def _x(batch, rows, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, rows))


def test_ptq_layer_computes_the_quantised_product():
    # Independent: uniform n-bit quantisation of w / max|w| written exactly.
    w, x, n = _w(20, 7), _x(5, 20), 6
    layer = AnalogLayer.program(PTQ(n_bits=n), ideal(), w=w)
    y, _ = layer.forward(x)
    m = np.abs(w).max()
    levels = 2**n - 1
    wq = (np.rint((w / m + 1) / 2 * levels) / levels * 2 - 1) * m
    np.testing.assert_allclose(y, x @ wq, rtol=0, atol=1e-12)


def test_haq_layer_is_within_its_last_bit():
    # Exact writes: HAQ's greedy bits leave at most the last significance s^-(n-1).
    w, x, n, s = _w(30, 9), _x(4, 30), 10, 1.5
    layer = AnalogLayer.program(HAQ(n_bits=n, amp_ratio=s), ideal(), w=w)
    m = np.abs(w).max()
    assert np.max(np.abs(layer.weights() - w)) <= m * s ** -(n - 1) + 1e-12
    y, _ = layer.forward(x)
    np.testing.assert_allclose(y, x @ layer.weights(), rtol=0, atol=1e-11)


def test_input_scale_maps_inputs_to_the_read_voltage():
    w, n = _w(8, 3), 8
    layer = AnalogLayer.program(PTQ(n_bits=n), ideal(), w=w, input_scale=4.0)
    x = 4.0 * _x(3, 8)
    y, _ = layer.forward(x)
    np.testing.assert_allclose(y, x @ layer.weights(), rtol=0, atol=1e-11)
    with pytest.raises(ConfigError):
        layer.forward(2 * x)  # past the input scale


def test_layer_split_over_macros_matches_one_macro():
    w, x = _w(40, 11), _x(6, 40)
    big = AnalogLayer.program(HAQ(n_bits=5), ideal(), w=w)
    small = AnalogLayer.program(HAQ(n_bits=5), ideal(macro_rows=16, macro_cols=12), w=w)
    y_big, ev_big = big.forward(x)
    y_small, ev_small = small.forward(x)
    np.testing.assert_allclose(y_small, y_big, rtol=0, atol=1e-12)
    # 3 row blocks x 6 column blocks (2 weights of 5 bits per 12-column macro).
    assert ev_small.dac_conversions == 6 * 40 * 6
    assert ev_small.cell_reads == ev_big.cell_reads == 6 * 40 * 11 * 5


def test_random_pairs_are_the_formed_difference():
    rng = np.random.default_rng(3)
    forming = FormingNoise(mean_siemens=30e-6, std_siemens=5e-6)
    layer = AnalogLayer.program(RandomPairs(forming=forming, rng=rng), ideal(), shape=(50, 8))
    pw = layer.programmed
    # Independent: the same draws from a generator with the same seed.
    ref = np.random.default_rng(3)
    g_pos = np.clip(30e-6 + 5e-6 * ref.standard_normal((50, 8)), 0, TAOX_40NM.g_max_siemens)
    g_neg = np.clip(30e-6 + 5e-6 * ref.standard_normal((50, 8)), 0, TAOX_40NM.g_max_siemens)
    w_ref = (g_pos - g_neg) / (np.sqrt(2) * 5e-6)
    np.testing.assert_allclose(layer.weights(), w_ref, rtol=1e-12)
    x = _x(4, 50)
    y, ev = layer.forward(x)
    np.testing.assert_allclose(y, x @ w_ref, rtol=1e-9, atol=1e-12)
    assert pw.events.cell_writes == 2 * 50 * 8
    assert ev.adc_conversions == 4 * 8  # one conversion per pair: subtracted before the ADC
    with pytest.raises(ConfigError, match="forming"):
        RandomPairs().program(np.ones((2, 2)), (2, 2), rram=TAOX_40NM,
                              write=BinaryCellWriter(), read_back=None)


def test_pruned_pairs_are_reset_to_hrs():
    keep = np.random.default_rng(5).random((60, 10)) < 0.5
    layer = AnalogLayer.program(Pruned(base=RandomPairs(), keep=keep), ideal(), shape=(60, 10))
    pw = layer.programmed
    assert np.all(pw.g_actual_siemens[~keep] == TAOX_40NM.g_hrs_siemens)
    assert np.all(pw.g_actual_neg_siemens[~keep] == TAOX_40NM.g_hrs_siemens)
    w = layer.weights()
    assert np.all(w[~keep] == 0.0) and np.all(w[keep] != 0.0)
    # The histogram of G+ - G- has its peak at zero (PRIME Fig. 2b,d).
    counts, edges = np.histogram(pw.g_actual_siemens - pw.g_actual_neg_siemens, bins=41,
                                 range=(-20e-6, 20e-6))
    assert edges[np.argmax(counts)] <= 0.0 <= edges[np.argmax(counts) + 1]
    assert pw.events.cell_writes == 2 * 60 * 10 + 2 * int((~keep).sum())
    x = _x(3, 60)
    y, _ = layer.forward(x)
    np.testing.assert_allclose(y, x @ w, rtol=1e-9, atol=1e-12)


def test_pruning_needs_a_differential_scheme():
    with pytest.raises(ConfigError, match="differential"):
        AnalogLayer.program(Pruned(base=PTQ(n_bits=4), keep=np.ones((4, 3), bool)), ideal(),
                           w=_w(4, 3))
    with pytest.raises(ConfigError, match="shape"):
        AnalogLayer.program(Pruned(base=RandomPairs(), keep=np.ones((4, 2), bool)), ideal(),
                           shape=(4, 3))


def test_forward_refuses_bad_inputs():
    layer = AnalogLayer.program(PTQ(n_bits=4), ideal(), w=_w(5, 2))
    for bad in (np.ones(5), np.ones((2, 4)), np.full((1, 5), np.nan)):
        with pytest.raises(ConfigError):
            layer.forward(bad)
    with pytest.raises(ConfigError, match="weights or a shape"):
        AnalogLayer.program(RandomPairs(), ideal())
    with pytest.raises(ConfigError, match="differential"):
        AnalogLayer(layer.tile, RandomPairs().program(None, (3, 2), rram=TAOX_40NM,
                                                      write=BinaryCellWriter(), read_back=None),
                    aggregator=Aggregator(kind="analog", stage_ratios=1.5))


@pytest.mark.parametrize("aggregation", ["digital", "analog"])
@pytest.mark.parametrize("shape", [(100, 100), (40, 30)])
def test_counted_events_equal_the_analytic_count(aggregation, shape):
    # The layer counts what it did; cosim.accounting.workload.mvm_workload counts by the mapping
    # rule alone. They must agree on every event kind, TIA and VCMAC time included.
    rows, cols = shape
    cfg = HaqExperimentConfig(vector_length=rows, n_outputs=cols, n_vectors=7, n_bits=12,
                              read_cycles=0)
    hardware = HardwareSpec().with_parts(aggregation={"kind": aggregation})
    res = run_mvm_experiment(cfg, hardware, sim(backend="ideal"))
    counted = haq_mvm_workload({**asdict(cfg), "aggregation": aggregation},
                               res.haq.mvm_events).events
    analytic = mvm_workload({"rows": rows, "cols": cols, "bits": 12, "inferences": 7,
                             "aggregation": aggregation, "macro_rows": 512,
                             "macro_cols": 512}).events
    for f in fields(Events):
        assert getattr(counted, f.name) == pytest.approx(getattr(analytic, f.name),
                                                         rel=1e-12), f.name
    assert counted.tia_active_s > 0
    assert (counted.vcmac_active_s > 0) == (aggregation == "analog")
    assert counted.tia_active_s == pytest.approx(
        counted.adc_conversions * NF_TIMING.amplifier_active_s)


@pytest.mark.parametrize("input_scale", [1.0, 4.0])
def test_forward_overwriting_its_input_gives_the_same_numbers(input_scale):
    """``overwrite_x`` only saves copies: the same outputs and events to the bit, and the
    caller's input untouched without it (calibrated TIA tiles, per-call read noise)."""
    def layer():
        t = tile(backend="calibrated", read_noise_draw="per_call", seed=2, readout="tia",
                 read_noise=0.01, macro_rows=16, macro_cols=8)
        return AnalogLayer.program(RandomPairs(), t, shape=(30, 5), input_scale=input_scale)

    x = input_scale * _x(7, 30)
    kept, handed = x.copy(), x.copy()
    (y, ev), (y2, ev2) = layer().forward(kept), layer().forward(handed, overwrite_x=True)
    np.testing.assert_array_equal(y2, y)
    assert ev2 == ev
    np.testing.assert_array_equal(kept, x)
