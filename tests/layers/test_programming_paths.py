"""The fast paths of write-verify programming give the numbers of the plain ones.

HAQ on the realistic preset reads every macro after every write step. Three shortcuts
make those reads cheap, and each must leave every number as it was:

- ``Tile.read_transfer`` multiplies only the rows that drive a macro
  (``Tile._transfer_reads``); the plain path is the MVM of the one-hot inputs;
- the ``calibrated`` backend updates a kept reduction where cells changed, with the
  changed cells' models alone recomputed; the plain path extracts every read whole;
- a pool too small for every macro keeps the reductions it has.

The references are computed here, in the same run, by the plain paths.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from circuits.errors import CosimWarning
from cosim.engine import read_models
from cosim.engine.backends import calibrated
from cosim.engine.options import SimOptions
from cosim.engine.readout import sense_network
from cosim.engine.tile import Tile
from cosim.hardware.presets import load_hardware
from cosim.layers.analog import AnalogLayer
from cosim.layers.placed import placed_tile
from cosim.programming.base import BinaryCellWriter
from cosim.programming.binary import HAQ

SIM = SimOptions(use_cache=False)


def _realistic():
    return load_hardware("realistic")


def _plain_transfer(tile: Tile) -> tuple[np.ndarray, object]:
    arr = tile.array
    a = np.vstack([np.eye(arr.rows), np.zeros((1, arr.rows))])
    i, events = tile._mvm(a, noise=True, quantise=False)
    return (i[:-1] - i[-1]) / tile.hardware.readout.v_read_volt, events


@pytest.mark.parametrize("differential", [False, True])
@pytest.mark.parametrize("corrected", [False, True])
def test_transfer_read_equals_the_mvm_of_one_hot_inputs(differential: bool, corrected: bool,
                                                        monkeypatch) -> None:
    """Two tiles of one seed holding one array: the fast transfer read and the MVM of
    every row alone (and of none) give the same numbers and events, read noise included,
    over several macros (row blocks summed digitally). The transfer read takes the
    calibrated backend's affine map alone, the MVM adds the fast model's per-column
    correction (``Tile._transfer_reads``): without it the two are equal, with it they
    differ by that correction of one-row inputs, below 1e-6 of the largest read."""
    if not corrected:
        monkeypatch.setattr(calibrated.CalibratedBackend, "output_correction", lambda self, p: None)
    hw = _realistic()
    rng = np.random.default_rng(4)
    # 6 macros of 67 x 84 cells; 4 of 75 x 60 (30 pairs) for differential pairs
    rows, cols, group = (300, 30, 2) if differential else (200, 144, 12)
    tiles = [placed_tile(hw, SIM, rows, cols * (2 if differential else 1), group,
                         seed=5)[0] for _ in range(2)]
    lrs, hrs = hw.rram.g_lrs_siemens, hw.rram.g_hrs_siemens
    g = np.where(rng.random((rows, cols)) < 0.5, lrs, hrs)
    g_neg = np.where(rng.random((rows, cols)) < 0.5, lrs, hrs) if differential else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CosimWarning)
        for t in tiles:
            t.program(g, g_neg, col_group=1 if differential else group)
        assert len(tiles[0].array.blocks) > 1 and tiles[0].array.row_blocks > 1
        before = tiles[0].events_total
        fast = tiles[0].read_transfer()
        plain, events = _plain_transfer(tiles[1])
    assert tiles[0]._transfer_reads is not None
    if corrected:
        assert 0 < np.abs(fast - plain).max() < 1e-6 * np.abs(plain).max()
    else:
        assert np.array_equal(fast, plain)
    assert tiles[0].events_total == before + events


def test_updated_read_model_equals_a_whole_extraction() -> None:
    """A macro's read model updated after a write step (one bit column of every weight,
    as HAQ writes them) and after a few re-verify rewrites equals a new one, exactly."""
    hw = _realistic()
    rng = np.random.default_rng(7)
    tile = placed_tile(hw, SIM, 24, 36, 12)[0]
    lrs, hrs = hw.rram.g_lrs_siemens, hw.rram.g_hrs_siemens
    g = np.full((24, 36), hrs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CosimWarning)
        tile.program(g, col_group=12)
        p = sense_network(tile.macro_params()[0])
        kept = read_models.LocalSecant(p, hw.v_read_volt, keep=True)
        for step in range(3):
            g = g.copy()
            g[:, step::12] = np.where(rng.random((24, 3)) < 0.5,
                                      lrs * (1 + 0.1 * rng.standard_normal((24, 3))), hrs)
            g.flat[rng.choice(g.size, 4, replace=False)] = lrs
            tile.program(g, col_group=12)
            p = sense_network(tile.macro_params()[0])
            kept = kept.reprogrammed(p)
            whole = read_models.LocalSecant(p, hw.v_read_volt)
            assert np.array_equal(kept.M, whole.M) and np.array_equal(kept.c, whole.c)


def _haq_layer(w: np.ndarray) -> AnalogLayer:
    hw = _realistic()
    write = BinaryCellWriter(rram=hw.rram, lrs_sigma=hw.noise.write,
                             hrs_sigma=hw.noise.write_hrs, rng=np.random.default_rng(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CosimWarning)
        return AnalogLayer.place(HAQ(n_bits=6, amp_ratio=1.5), hw, SIM, w=w, seed=3,
                                 write=write)


@pytest.mark.slow
def test_haq_on_the_realistic_preset_equals_the_plain_paths(monkeypatch) -> None:
    """HAQ (the preset's passes, transfer verify, write and read noise) of a matrix over several
    macros, programmed with the fast paths and a pool that holds only some of its macros,
    and again with every read a whole extraction through the MVM of one-hot inputs: the
    same conductances, verify estimates, events and outputs. The fast model's per-column
    correction is off in both: the transfer reads leave it out and the one-hot MVMs would
    add it (``test_transfer_read_equals_the_mvm_of_one_hot_inputs`` bounds it)."""
    monkeypatch.setattr(calibrated.CalibratedBackend, "output_correction",
                        lambda self, p: None)
    rng = np.random.default_rng(11)
    w = rng.normal(size=(300, 12))  # 4 macros of 75 x 72 cells
    x = rng.uniform(-1, 1, size=(16, 300))
    hw = _realistic()
    tile = placed_tile(hw, SIM, 300, 72, 6)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CosimWarning)
        tile.program(np.full((300, 72), hw.rram.g_hrs_siemens), col_group=6)
        one = read_models.LocalSecant(sense_network(tile.macro_params()[0]),
                                      hw.v_read_volt, keep=True).nbytes
    monkeypatch.setattr(calibrated, "KEPT_REDUCTIONS_BYTES", int(2.5 * one))  # 2 of 4 fit
    fast = _haq_layer(w)
    backend = fast.tile.backend
    assert fast.placement.macros == 4
    assert 0 < backend.incremental_extractions < backend.extractions
    assert sum(len(pool) for pool in backend._reductions.values()) == 2
    monkeypatch.setattr(calibrated, "KEEP_LEVELS_CELLS", 0)
    monkeypatch.setattr(Tile, "_transfer_reads", lambda self: None)
    plain = _haq_layer(w)
    assert plain.tile.backend.incremental_extractions == 0
    a, b = fast.programmed, plain.programmed
    assert np.array_equal(a.g_actual_siemens, b.g_actual_siemens)
    assert np.array_equal(a.g_target_siemens, b.g_target_siemens)
    assert np.array_equal(a.w_verify, b.w_verify)
    assert a.events == b.events
    y_fast, ev_fast = fast.forward(x)
    y_plain, ev_plain = plain.forward(x)
    assert np.array_equal(y_fast, y_plain) and ev_fast == ev_plain
