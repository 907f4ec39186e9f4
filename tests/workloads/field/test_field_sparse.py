"""Sparse reconstruction: slice subsets, fine-tuning on a few slices of a moved phantom."""

from __future__ import annotations

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.hardware.presets import preset
from cosim.workloads.field.encoder import EncoderConfig
from cosim.workloads.field.field import FieldConfig, prepare, train_field
from cosim.workloads.field.mlp import MLPConfig, TrainConfig
from cosim.workloads.field.phantom import shepp_logan_3d
from cosim.workloads.field.sparse import SparseConfig, run_sparse, slice_subset, sparse_target
from cosim.workloads.field.volume import normalise
from tests.hardware_helpers import sim

PAPER = (preset("paper"), sim(backend="ideal"))
"""The field's default hardware, read by the ideal backend (the old default)."""


def test_slice_subsets_are_evenly_spaced_and_checked():
    np.testing.assert_array_equal(slice_subset(40, 5), [0, 10, 20, 29, 39])
    assert len(set(slice_subset(40, 20))) == 20
    np.testing.assert_array_equal(slice_subset(40, 40), np.arange(40))
    np.testing.assert_array_equal(slice_subset(9, 1), [4])
    with pytest.raises(ConfigError, match="larger than the volume"):
        slice_subset(8, 9)
    with pytest.raises(ConfigError, match="larger than the volume"):
        slice_subset(8, 0)
    for bad in ((), (5, 5), (0,)):
        with pytest.raises(ConfigError):
            SparseConfig(counts=bad)


def test_motion_moves_the_phantom():
    a, b = shepp_logan_3d(8, 24, 24), shepp_logan_3d(8, 24, 24, motion=0.1)
    assert np.mean(a != b) > 0.05
    np.testing.assert_array_equal(shepp_logan_3d(8, 24, 24, motion=0.0), a)
    with pytest.raises(ConfigError, match="motion"):
        shepp_logan_3d(8, 24, 24, motion=0.9)


def test_default_target():
    truth = normalise(shepp_logan_3d(4, 16, 16))
    moved, what = sparse_target(truth, 0.1)
    np.testing.assert_array_equal(moved, shepp_logan_3d(4, 16, 16, motion=0.1))
    assert "moved by 0.1" in what
    other = np.random.default_rng(0).random((4, 16, 16))
    same, what = sparse_target(other, 0.1)
    assert same is other and "own volume" in what


@pytest.mark.slow
def test_fine_tuning_on_a_few_slices_fits_the_moved_volume():
    cfg = FieldConfig(phantom_shape=(6, 16, 16),
                            encoder=EncoderConfig(n_frequencies=16, sigma=2.0),
                            mlp=MLPConfig(width=32, rank=8),
                            training=TrainConfig(steps=150, batch=0, learning_rate=3e-3))
    dense = train_field(cfg, prepare(cfg, *PAPER)).params
    target = prepare(cfg, *PAPER, shepp_logan_3d(6, 16, 16, motion=0.15))
    # unanchored: the chosen slices alone (the anchored fine-tune has its own test below)
    res = run_sparse(cfg, *PAPER, target, dense, SparseConfig(counts=(3, 6), steps=60, batch=0,
                                                      learning_rate=3e-3, schemes=("haq",),
                                                      anchor_weight=0))
    rows = {r["slices_used"]: r for r in res.rows}
    assert sorted(rows) == [0, 3, 6]
    np.testing.assert_array_equal(res.slices[3], [0, 2, 5])
    # the dense model alone does not fit the moved volume; fine-tuning helps, and
    # more slices help more (the slices it never saw are reported apart)
    assert rows[3]["psnr_software"] > rows[0]["psnr_software"] + 1.0
    assert np.isfinite(rows[3]["psnr_unused_software"])
    assert rows[6]["psnr_software"] > rows[3]["psnr_software"]
    assert "psnr_unused_software" not in rows[6]  # every slice used
    assert rows[3]["finetune_steps"] == 60 and rows[0]["finetune_steps"] == 0
    for r in rows.values():  # HAQ within 1.5 dB of software (issue 12), 14/14/12 bits
        assert abs(r["psnr_haq"] - r["psnr_software"]) < 1.5
    with pytest.raises(ConfigError, match="larger than the volume"):
        run_sparse(cfg, *PAPER, target, dense, SparseConfig(counts=(7,)))


@pytest.mark.slow
def test_anchored_fine_tune_keeps_the_unseen_slices():
    """Fine-tuned on half the slices of a moved phantom, the unanchored field loses the
    slices it never saw (far below the dense model on them); anchored on the dense
    model's own prediction it keeps them and still gains over the whole volume."""
    shape = (12, 16, 16)
    cfg = FieldConfig(phantom_shape=shape, encoder=EncoderConfig(n_frequencies=16, sigma=2.0),
                      mlp=MLPConfig(width=32, rank=8),
                      training=TrainConfig(steps=300, batch=0, learning_rate=3e-3))
    dense = train_field(cfg, prepare(cfg, *PAPER)).params
    target = prepare(cfg, *PAPER, shepp_logan_3d(*shape, motion=0.05))
    rows = {}
    for weight in (0, SparseConfig().anchor_weight):
        res = run_sparse(cfg, *PAPER, target, dense,
                         SparseConfig(counts=(6,), steps=100, batch=0, learning_rate=1e-3,
                                      schemes=(), anchor_weight=weight))
        rows[weight] = res.rows
    no_ft, plain = rows[0]
    _, anchored = rows[SparseConfig().anchor_weight]
    assert plain["psnr_unused_software_dense"] == pytest.approx(no_ft["psnr_unused_software"])
    assert plain["psnr_unused_software"] < no_ft["psnr_unused_software"] - 2.0
    assert anchored["psnr_unused_software"] > no_ft["psnr_unused_software"] - 0.5
    assert anchored["psnr_used_software"] > no_ft["psnr_used_software"] + 3.0
    assert anchored["psnr_software"] > no_ft["psnr_software"] + 1.0
